import { z } from 'zod';
import type { ColumnType } from '../../shapes/column-types.ts';

/** `tables/tables.json`: which file holds each table's log, the table's key columns and its column types (when declared). */
export const TABLE_INDEX_FILE = 'tables.json';

const indexSchema = z.strictObject({
  format: z.literal('shape-actors/tables@1'),
  tables: z.record(
    z.string(),
    z.strictObject({
      file: z.string(),
      keyColumns: z.array(z.string()).min(1),
      columnTypes: z.record(z.string(), z.custom<ColumnType>((v) => typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string')).optional(),
    }),
  ),
});
export type TableIndex = z.infer<typeof indexSchema>;

export const EMPTY_TABLE_INDEX: TableIndex = { format: 'shape-actors/tables@1', tables: {} };

/** The index, or why it cannot be used (each table's file must be the one `tableFile` names: a plain name inside tables/). */
export function parseTableIndex(text: string): TableIndex | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text.length === 0 ? 'empty' : 'not JSON';
  }
  const index = indexSchema.safeParse(value);
  if (!index.success) return `not a tables index (${index.error.issues[0]?.message})`;
  for (const [table, info] of Object.entries(index.data.tables)) if (info.file !== tableFile(table)) return `names file ${JSON.stringify(info.file)} for table ${table}`;
  return index.data;
}

export function encodeTableIndex(index: TableIndex): string {
  return `${JSON.stringify(index, null, 2)}\n`;
}

/** The log file of a table: its name, URI-encoded, so that it is a plain file name. */
export function tableFile(table: string): string {
  return `${encodeURIComponent(table)}.jsonl`;
}

/** The table whose log `file` is, or null when `file` is not such a name. */
export function tableOfFile(file: string): string | null {
  if (!file.endsWith('.jsonl') || file.startsWith('.') || /[/\\]/.test(file)) return null;
  let table: string;
  try {
    table = decodeURIComponent(file.slice(0, -'.jsonl'.length));
  } catch {
    return null;
  }
  return tableFile(table) === file ? table : null;
}

/** An index naming every table log among `files`, with the key columns `keyColumnsOf` gives. */
export function rebuildTableIndex(files: readonly string[], keyColumnsOf: (table: string) => readonly string[]): TableIndex {
  const tables: TableIndex['tables'] = {};
  for (const file of [...files].sort()) {
    const table = tableOfFile(file);
    if (table !== null) tables[table] = { file, keyColumns: [...keyColumnsOf(table)] };
  }
  return { format: 'shape-actors/tables@1', tables };
}
