import { definitionKey, normalizeShape, type NormalizedShape } from '../shapes/definition.ts';
import { ShapeDefinitionError } from '../shapes/errors.ts';
import { handleCreatedAtMicros } from '../shapes/handle.ts';
import type { PlanNode } from '../graph/restore-plan.ts';
import { WHERE_AST_VERSION } from '../shapes/where/ast.ts';
import type { ParsedDefinition, ShapeMetadata, StoredShape } from '../storage/storage.ts';
import { KeptShape } from './kept-shape.ts';
import { ShapeInterner } from './shape-interner.ts';

/** A stored shape, understood: its definition validated and normalized, its subqueries known. */
export interface ShapeRecord {
  readonly stored: StoredShape;
  readonly shape: NormalizedShape;
}

export type InterpretResult = { readonly ok: true; readonly record: ShapeRecord } | { readonly ok: false; readonly reason: string };

/**
 * Validates a stored definition with the same rules a new shape passes. A
 * definition that no longer parses (hand-edited, or written by a future
 * version) is reported, never thrown.
 */
export function interpretStoredShape(stored: StoredShape): InterpretResult {
  try {
    return { ok: true, record: { stored, shape: normalizeShape(stored.definition) } };
  } catch (error) {
    if (error instanceof ShapeDefinitionError) return { ok: false, reason: `invalid definition: ${error.message}` };
    throw error;
  }
}

/**
 * A record from the metadata log, without parsing SQL: its parsed where clause is taken as
 * stored. Null when it has none or one of another parser version (then interpretStoredShape).
 * `interner`: one per restore, so that the records share their tables, where texts and where
 * clauses (see ShapeInterner).
 */
export function recordFromMetadata(metadata: ShapeMetadata, interner = new ShapeInterner()): KeptShape | null {
  const parsed = metadata.parsed;
  if (parsed?.version !== WHERE_AST_VERSION) return null;
  const stored = interner.stored(metadata.shape);
  return new KeptShape(stored, interner.where(stored.definition.where, parsed.where), interner.dependencies(parsed.dependencies));
}

/** What the metadata log keeps of a record. */
export function metadataOf(record: ShapeRecord): ShapeMetadata {
  return { shape: record.stored, parsed: parsedDefinitionOf(record.shape) };
}

export function parsedDefinitionOf(shape: NormalizedShape): ParsedDefinition {
  return shape.where ? { version: WHERE_AST_VERSION, where: shape.where, dependencies: shape.dependencies } : { version: WHERE_AST_VERSION, dependencies: shape.dependencies };
}

/** What the restore planner needs to know of a record (a KeptShape is its own). */
export function toPlanNode(record: ShapeRecord): PlanNode {
  return record instanceof KeptShape ? record : new RecordPlanNode(record);
}

const NO_KEYS: readonly string[] = Object.freeze([]);

/**
 * A record as the planner sees it. Its key (a string built from the definition) and its creation
 * time (a BigInt read from the handle) are asked for only by the duplicate rule and, the key, of
 * a dependency: built then, not for every shape.
 */
class RecordPlanNode implements PlanNode {
  readonly handle: string;
  readonly dependencyHandles: readonly string[];
  readonly dependencyKeys: readonly string[];
  readonly requested: boolean;
  readonly #shape: ShapeRecord['shape'];

  constructor(record: ShapeRecord) {
    this.handle = record.stored.handle;
    this.#shape = record.shape;
    this.dependencyHandles = record.stored.dependencyHandles;
    this.dependencyKeys = record.shape.dependencies.length === 0 ? NO_KEYS : record.shape.dependencies.map(definitionKey);
    this.requested = record.stored.requested;
  }

  get key(): string {
    return this.#shape.key;
  }

  get createdAt(): bigint {
    return handleCreatedAtMicros(this.handle);
  }
}
