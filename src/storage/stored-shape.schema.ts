import { z } from 'zod';
import type { StoredShape } from './storage.ts';

const HANDLE = /^\d{1,20}-\d{1,20}$/;

/**
 * What a stored definition record must look like to be read at all. The
 * definition's meaning (table name, SQL) is checked by the loader with the
 * shapes module; this only guards the structure.
 */
export const storedShapeSchema = z
  .object({
    handle: z.string().regex(HANDLE, 'not a shape handle'),
    definition: z
      .object({
        table: z.string().min(1),
        where: z.string().optional(),
        columns: z.array(z.string().min(1)).min(1).optional(),
        replica: z.enum(['default', 'full']),
      })
      .strict(),
    dependencyHandles: z.array(z.string().regex(HANDLE, 'not a shape handle')),
    requested: z.boolean(),
  })
  .strict();

/** The definition file: a format tag, so a future layout is recognised rather than misread. */
export const definitionFileSchema = z
  .object({
    format: z.literal('shape-actors/definition@1'),
    shape: storedShapeSchema,
  })
  .strict();

/**
 * The structure storedShapeSchema states, checked by hand: restore reads one record per shape
 * (100k at once from the backup or the metadata log), and a zod parse per record was most of
 * what decoding them cost. Accepts exactly what the schema accepts (a test holds them to it);
 * the value itself is the shape (no copy).
 */
export function parseStoredShape(value: unknown): { ok: true; shape: StoredShape } | { ok: false; reason: string } {
  const reason = storedShapeProblem(value);
  return reason === undefined ? { ok: true, shape: value as StoredShape } : { ok: false, reason };
}

function storedShapeProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) return '(root): expected an object';
  for (const key in value) {
    if (key !== 'handle' && key !== 'definition' && key !== 'dependencyHandles' && key !== 'requested') return `(root): unrecognized key ${JSON.stringify(key)}`;
  }
  if (typeof value.handle !== 'string') return 'handle: expected a string';
  if (!HANDLE.test(value.handle)) return 'handle: not a shape handle';
  const definition = value.definition;
  if (!isPlainObject(definition)) return 'definition: expected an object';
  const problem = definitionProblem(definition);
  if (problem !== undefined) return problem;
  const deps = value.dependencyHandles;
  if (!Array.isArray(deps)) return 'dependencyHandles: expected an array';
  for (let i = 0; i < deps.length; i++) {
    const dep: unknown = deps[i];
    if (typeof dep !== 'string' || !HANDLE.test(dep)) return `dependencyHandles.${i}: not a shape handle`;
  }
  if (typeof value.requested !== 'boolean') return 'requested: expected a boolean';
  return undefined;
}

function definitionProblem(definition: Record<string, unknown>): string | undefined {
  for (const key in definition) {
    if (key !== 'table' && key !== 'where' && key !== 'columns' && key !== 'replica') return `definition: unrecognized key ${JSON.stringify(key)}`;
  }
  if (typeof definition.table !== 'string' || definition.table.length === 0) return 'definition.table: expected a non-empty string';
  if (definition.where !== undefined && typeof definition.where !== 'string') return 'definition.where: expected a string';
  if (definition.columns !== undefined) {
    const columns = definition.columns;
    if (!Array.isArray(columns) || columns.length === 0) return 'definition.columns: expected a non-empty array';
    for (let i = 0; i < columns.length; i++) {
      const column: unknown = columns[i];
      if (typeof column !== 'string' || column.length === 0) return `definition.columns.${i}: expected a non-empty string`;
    }
  }
  if (definition.replica !== 'default' && definition.replica !== 'full') return 'definition.replica: expected "default" or "full"';
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
