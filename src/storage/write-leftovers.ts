import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from './fs-errors.ts';
import type { StrayEntry } from './storage.ts';

/** write-file-atomic's temp file beside `<file>` (a name pattern, regex-escaped): `<file>.<number>`. */
export function tempOf(file: string): RegExp {
  return new RegExp(`^${file}\\.\\d+$`);
}

/**
 * Temp files of replaced files that a crash left behind mid-write, in each directory the ones
 * matching its pattern (see tempOf). Never loaded; restore removes them.
 */
export async function writeLeftovers(places: readonly (readonly [dir: string, pattern: RegExp])[]): Promise<StrayEntry[]> {
  const found: StrayEntry[] = [];
  for (const [dir, pattern] of places) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) continue;
      throw error;
    }
    for (const name of names) if (pattern.test(name)) found.push({ name, kind: 'temp', path: join(dir, name) });
  }
  return found;
}
