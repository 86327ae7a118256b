import { StorageError, type StoredShape } from './storage.ts';
import { definitionFileSchema, describeZodError } from './stored-shape.schema.ts';

/** A shape's own record of itself (`shapes/<handle>/definition.json`), pretty-printed JSON. */
export function encodeDefinitionFile(shape: StoredShape): string {
  const record = {
    format: 'shape-actors/definition@1',
    shape: {
      handle: shape.handle,
      definition: shape.definition,
      dependencyHandles: shape.dependencyHandles,
      requested: shape.requested,
    },
  };
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** Throws StorageError `corrupt` naming the file and why: not JSON, not the format, another handle. */
export function decodeDefinitionFile(text: string, handle: string, file: string): StoredShape {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StorageError('corrupt', file, text.length === 0 ? 'definition file is empty' : 'definition file is not JSON', handle);
  }
  const parsed = definitionFileSchema.safeParse(value);
  if (!parsed.success) throw new StorageError('corrupt', file, `definition file invalid: ${describeZodError(parsed.error)}`, handle);
  if (parsed.data.shape.handle !== handle) throw new StorageError('corrupt', file, `definition file names handle ${parsed.data.shape.handle}`, handle);
  return parsed.data.shape;
}
