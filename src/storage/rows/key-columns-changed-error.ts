import type { TableFiles } from './table-files.ts';

/**
 * A caller declared key columns for a table the row store records with others. A table's key
 * cannot change under its rows (every row is filed by it), so the open is refused, naming both.
 */
export class KeyColumnsChangedError extends Error {
  override readonly name = 'KeyColumnsChangedError';
  readonly code = 'key-columns-changed';
  constructor(
    readonly table: string,
    readonly recorded: readonly string[],
    readonly declared: readonly string[],
  ) {
    super(`table ${table} was recorded with key columns (${recorded.join(', ')}), not (${declared.join(', ')}): a table's key cannot change (declare the recorded one, or use a new data dir)`);
  }
}

/** Throws KeyColumnsChangedError when `declared` is given and differs from `recorded`. */
export function checkDeclaredKeyColumns(table: string, recorded: readonly string[] | undefined, declared: readonly string[] | undefined): void {
  if (!recorded || !declared) return;
  if (recorded.length !== declared.length || recorded.some((column, i) => column !== declared[i])) throw new KeyColumnsChangedError(table, recorded, declared);
}

/**
 * The same check against the table index alone, before a restore writes anything: a caller's
 * declaration that differs from the recorded key is refused with the data dir untouched. (An
 * index that is missing or unreadable is left to the row store's own open, which rebuilds it.)
 */
export async function refuseChangedKeyColumns(files: TableFiles, declared: Readonly<Record<string, readonly string[]>>): Promise<void> {
  if (Object.keys(declared).length === 0) return;
  const read = await files.readIndex();
  if (read.status !== 'ok') return;
  for (const [table, columns] of Object.entries(declared)) checkDeclaredKeyColumns(table, read.index.tables[table]?.keyColumns, columns);
}
