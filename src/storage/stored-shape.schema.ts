import { z } from 'zod';
import type { StoredShape } from './storage.ts';

/**
 * What a stored definition record must look like to be read at all. The
 * definition's meaning (table name, SQL) is checked by the loader with the
 * shapes module; this only guards the structure.
 */
export const storedShapeSchema = z
  .object({
    handle: z.string().regex(/^\d{1,20}-\d{1,20}$/, 'not a shape handle'),
    definition: z
      .object({
        table: z.string().min(1),
        where: z.string().optional(),
        columns: z.array(z.string().min(1)).min(1).optional(),
        replica: z.enum(['default', 'full']),
      })
      .strict(),
    dependencyHandles: z.array(z.string().regex(/^\d{1,20}-\d{1,20}$/, 'not a shape handle')),
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

export function parseStoredShape(value: unknown): { ok: true; shape: StoredShape } | { ok: false; reason: string } {
  const result = storedShapeSchema.safeParse(value);
  return result.success ? { ok: true, shape: result.data } : { ok: false, reason: describeZodError(result.error) };
}

export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
