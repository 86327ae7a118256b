import type { ShapeDefinition } from '../shapes/definition.ts';
import { isHandle } from '../shapes/handle.ts';
import { packWhere, PackedWhereError, unpackWhere } from '../shapes/where/packed-where.ts';
import type { ParsedDefinition, ShapeMetadata, StoredShape } from './storage.ts';
import { parseStoredShape } from './stored-shape.schema.ts';

/**
 * A metadata record as the log's version 2 stores it: arrays, not objects with keys (restore
 * reads one per shape: at 100k shapes version 1's objects were 38 MB and most of restore's
 * parsing; these are 15 MB).
 *
 *   put     `["put", handle, table, where | null, columns | null, replica, dependencyHandles, requested, parsed | null]`
 *           parsed: `[version, packed where | null, [[table, where | null, columns | null, replica], ...]]` (see packWhere)
 *   delete  `["delete", handle]`
 */
export function packPut({ shape, parsed }: ShapeMetadata): unknown[] {
  const d = shape.definition;
  return ['put', shape.handle, d.table, d.where ?? null, d.columns ?? null, d.replica, shape.dependencyHandles, shape.requested, parsed ? packParsed(parsed) : null];
}

export function packDelete(handle: string): unknown[] {
  return ['delete', handle];
}

export type UnpackedRecord = { readonly op: 'put'; readonly metadata: ShapeMetadata } | { readonly op: 'delete'; readonly handle: string };

/** The record a packed line holds, or why it is not one (the structure version 1's records are held to). */
export function unpackRecord(value: unknown): UnpackedRecord | string {
  if (!Array.isArray(value)) return 'not a record';
  if (value[0] === 'delete') {
    const handle: unknown = value[1];
    return value.length === 2 && typeof handle === 'string' && isHandle(handle) ? { op: 'delete', handle } : 'delete record without a handle';
  }
  if (value[0] !== 'put') return 'unknown record';
  if (value.length !== 9) return 'put record: not 9 fields';
  const [, handle, table, where, columns, replica, dependencyHandles, requested, parsed] = value as unknown[];
  const shape = parseStoredShape({ handle, definition: definitionOf(table, where, columns, replica), dependencyHandles, requested });
  if (!shape.ok) return `put record: ${shape.reason}`;
  if (parsed === null) return { op: 'put', metadata: { shape: shape.shape } };
  const unpacked = unpackParsed(parsed);
  return typeof unpacked === 'string' ? `put record: parsed definition malformed (${unpacked})` : { op: 'put', metadata: { shape: shape.shape, parsed: unpacked } };
}

function packParsed(parsed: ParsedDefinition): unknown[] {
  return [parsed.version, parsed.where ? packWhere(parsed.where) : null, parsed.dependencies.map((d) => [d.table, d.where ?? null, d.columns ?? null, d.replica])];
}

function unpackParsed(value: unknown): ParsedDefinition | string {
  if (!Array.isArray(value) || value.length !== 3) return 'not [version, where, dependencies]';
  const [version, where, dependencies] = value as unknown[];
  if (typeof version !== 'number' || !Array.isArray(dependencies)) return 'not [version, where, dependencies]';
  const deps: ShapeDefinition[] = [];
  for (const d of dependencies as unknown[]) {
    if (!Array.isArray(d) || d.length !== 4 || typeof d[0] !== 'string') return 'a dependency is not [table, where, columns, replica]';
    // (Structure only, as version 1's: the dependency's definition is checked where it is used.)
    deps.push(definitionOf(d[0], d[1], d[2], d[3]) as unknown as ShapeDefinition);
  }
  if (where === null) return { version, dependencies: deps };
  try {
    return { version, where: unpackWhere(where), dependencies: deps };
  } catch (error) {
    if (error instanceof PackedWhereError) return error.message;
    throw error;
  }
}

/** A definition's fields as a definition object (absent fields absent, in the order definition files write them), unchecked. */
function definitionOf(table: unknown, where: unknown, columns: unknown, replica: unknown): Record<string, unknown> {
  if (where === null) return columns === null ? { table, replica } : { table, columns, replica };
  return columns === null ? { table, where, replica } : { table, where, columns, replica };
}
