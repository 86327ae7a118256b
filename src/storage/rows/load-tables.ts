import type { LogEntry } from '../storage.ts';
import type { TableDamage } from './row-store.ts';
import type { TableFiles } from './table-files.ts';
import { checkDeclaredKeyColumns } from './key-columns-changed-error.ts';
import { logKeyColumns } from './log-key-columns.ts';
import { EMPTY_TABLE_INDEX, rebuildTableIndex, TABLE_INDEX_FILE, type TableIndex } from './table-index.ts';
import { decodeTableLog, tableLogThrough, type BadLine } from './table-log.ts';
import { TableRows } from './table-rows.ts';

/** Something found while opening the row store, and what was (or, read only, would be) done about it. */
export interface TableStoreProblem {
  readonly file: string;
  readonly reason: string;
  /** `repaired`: a torn tail cut back, the index rebuilt; `kept`: noted, nothing changed (damage). */
  readonly action: 'repaired' | 'kept';
}

/** One table as the store holds it. */
export interface StoredTable {
  readonly rows: TableRows;
  /** Its log's name among the files. */
  readonly file: string;
  /** Entries applied since the last flush. */
  pending: LogEntry[];
  lastXid: number;
  /** Lines in its log: what a start reads (compaction keeps it near the live rows). */
  lines: number;
  damage: TableDamage | null;
}

export interface LoadedTables {
  readonly index: TableIndex;
  /** The index on disk is missing or unusable and must be written. */
  readonly indexDirty: boolean;
  readonly tables: Map<string, StoredTable>;
  readonly problems: TableStoreProblem[];
}

/** Reads the index (rebuilt from the logs found when missing or unusable) and every table's log. */
export async function loadTables(files: TableFiles, declared: (table: string) => readonly string[] | undefined, readOnly: boolean): Promise<LoadedTables> {
  const problems: TableStoreProblem[] = [];
  const read = await files.readIndex();
  let index: TableIndex = read.status === 'ok' ? read.index : EMPTY_TABLE_INDEX;
  let indexDirty = false;
  if (read.status !== 'ok') {
    const rebuilt = rebuildTableIndex(await files.list(), (t) => declared(t) ?? DEFAULT_KEY_COLUMNS);
    const found = Object.keys(rebuilt.tables).length;
    if (read.status === 'unusable' || found > 0) {
      // Bad data, not a reason to fail: the logs beside it say which tables there are.
      const why = read.status === 'missing' ? 'table index missing' : `table index unreadable (${read.reason})`;
      problems.push({ file: files.pathOf(TABLE_INDEX_FILE), reason: `${why}: rebuilt from ${found} table log(s) found`, action: 'repaired' });
      index = rebuilt;
      indexDirty = true;
    }
  }
  const tables = new Map<string, StoredTable>();
  for (const [name, recorded] of Object.entries(index.tables)) {
    let info = recorded;
    let loaded = await readTable(files, name, info.keyColumns, info.file, null);
    const keys = logKeyColumns(loaded.table.rows.rows, info.keyColumns);
    const indexPath = files.pathOf(TABLE_INDEX_FILE);
    const said = `records key columns (${info.keyColumns.join(', ')}) for ${name}`;
    if (keys.status === 'keyed-by') {
      // The rows know their key: the index is corrected (rewritten unless read only), the table read again with it.
      problems.push({ file: indexPath, reason: `${said}, but the rows of ${files.pathOf(info.file)} are keyed by (${keys.columns.join(', ')}): corrected`, action: 'repaired' });
      info = { ...info, keyColumns: [...keys.columns] };
      index = { ...index, tables: { ...index.tables, [name]: info } };
      indexDirty = true;
      loaded = await readTable(files, name, info.keyColumns, info.file, null);
    } else if (keys.status === 'unknown') {
      problems.push({ file: indexPath, reason: `${said}, but the rows of ${files.pathOf(info.file)} are not keyed by them, nor by any one list of their columns: the rows of ${name} are not trusted, so snapshots from it are refused until the damage is acknowledged`, action: 'kept' });
      loaded.table.damage ??= { table: name, file: files.pathOf(info.file), lines: [], kept: loaded.table.rows.rows.size };
    }
    checkDeclaredKeyColumns(name, info.keyColumns, declared(name));
    problems.push(...loaded.problems);
    if (!readOnly && loaded.cutTo !== null) await files.truncate(info.file, loaded.cutTo);
    tables.set(name, loaded.table);
  }
  return { index, indexDirty, tables, problems };
}

export const DEFAULT_KEY_COLUMNS: readonly string[] = ['id'];

export interface ReadTable {
  readonly table: StoredTable;
  /** The log must be cut to this many bytes (a torn tail, or the undone records), or null. */
  readonly cutTo: number | null;
  readonly problems: readonly TableStoreProblem[];
}

/**
 * One table's rows from its log. A torn last line is cut back; bad lines with
 * whole lines after them are damage: skipped, every valid record around them
 * kept, and the table marked as not trusted. With `through`, the records of
 * transactions after it (an interrupted batch) are undone.
 */
export async function readTable(files: TableFiles, name: string, keyColumns: readonly string[], file: string, through: number | null): Promise<ReadTable> {
  const rows = new TableRows(name, keyColumns);
  const table: StoredTable = { rows, file, pending: [], lastXid: 0, lines: 0, damage: null };
  const bytes = await files.read(file);
  if (bytes === null) return { table, cutTo: null, problems: [] };
  const path = files.pathOf(file);
  const decoded = decodeTableLog(bytes);
  const problems: TableStoreProblem[] = [];
  let records = decoded.records.length;
  let cutTo: number | null = null;
  let bad: readonly BadLine[] = decoded.bad;
  if (through !== null && decoded.lastXid > through) {
    // Undo: what follows the last record at or below `through` goes (a torn tail with it).
    const kept = tableLogThrough(decoded, through);
    records = kept.records;
    cutTo = kept.bytes;
    const undone = bad.filter((b) => b.start >= kept.bytes);
    bad = bad.filter((b) => b.start < kept.bytes);
    if (undone.length > 0) problems.push({ file: path, reason: `${lineList(undone)} unreadable among the records of the interrupted batch: cut with them (the batch is applied again)`, action: 'repaired' });
  } else if (decoded.torn) {
    cutTo = decoded.validBytes;
    problems.push({ file: path, reason: `line ${decoded.torn.line}: ${decoded.torn.reason}: an append that never completed, cut back to the last whole record`, action: 'repaired' });
  }
  const missing = decoded.header ? Math.max(0, decoded.header.rows - countLinesAfterHeader(decoded)) : 0;
  if (bad.length > 0 || missing > 0) {
    table.damage = { table: name, file: path, lines: bad.map((b) => ({ line: b.line, reason: b.reason })), kept: records };
    const lost = [...(bad.length > 0 ? [`${lineList(bad)} unreadable (${bad[0]!.reason}${bad.length > 1 ? ', ...' : ''})`] : []), ...(missing > 0 ? [`${missing} compacted row(s) missing (the file was cut short)`] : [])];
    problems.push({ file: path, reason: `${lost.join('; ')}: those records are lost, ${records} valid record(s) kept (none cut away); the rows of ${name} are not trusted, so snapshots from it are refused until the damage is acknowledged`, action: 'kept' });
  }
  table.lastXid = decoded.header?.through ?? 0;
  for (let i = 0; i < records; i++) {
    const entry = decoded.records[i]!;
    rows.set(entry.key, entry.op === 'delete' ? null : entry.row);
    if (entry.xid > table.lastXid) table.lastXid = entry.xid;
  }
  table.lines = (decoded.header ? 1 : 0) + records + bad.length;
  return { table, cutTo, problems };
}

/** `line 4` / `lines 4, 9 and 12`. */
function lineList(lines: readonly BadLine[]): string {
  const numbers = lines.map((l) => String(l.line));
  return numbers.length === 1 ? `line ${numbers[0]}` : `lines ${numbers.slice(0, -1).join(', ')} and ${numbers.at(-1)}`;
}

function countLinesAfterHeader(decoded: ReturnType<typeof decodeTableLog>): number {
  return decoded.records.length + decoded.bad.length + (decoded.torn ? 1 : 0);
}
