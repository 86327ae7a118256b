import type { Row } from '../../shapes/where/evaluate.ts';
import type { TableColumnTypes } from '../../shapes/column-types.ts';
import { TransactionError, type Transaction } from '../../shapes/transaction.ts';
import { encodeLogEntries } from '../log-codec.ts';
import { DEFAULT_KEY_COLUMNS, loadTables, readTable, type LoadedTables, type StoredTable, type TableStoreProblem } from './load-tables.ts';
import { checkDeclaredKeyColumns } from './key-columns-changed-error.ts';
import { rowKey } from './row-key.ts';
import { damagedTableError, type CompactedTable, type KeyedRow, type ResolvedChange, type RestorableRowStore, type RowSelection, type TableDamage } from './row-store.ts';
import { snapshotLookups } from './snapshot-lookup.ts';
import type { TableFiles } from './table-files.ts';
import { encodeTableIndex, tableFile, TABLE_INDEX_FILE, type TableIndex } from './table-index.ts';
import { encodeCompactedTable } from './table-log.ts';
import { TableRows } from './table-rows.ts';

export { DEFAULT_KEY_COLUMNS, type TableStoreProblem } from './load-tables.ts';

export interface TableStoreOptions {
  /** Declared primary key columns per table; a table's first declaration is recorded and must not change. */
  readonly keyColumns?: Readonly<Record<string, readonly string[]>>;
  /** Declared column types per table: recorded with the table; a declaration replaces the recorded types. */
  readonly columnTypes?: Readonly<Record<string, TableColumnTypes>>;
  /** Read only (a dry run, `doctor`): problems are found and reported, nothing on disk changes; `flush` refuses. */
  readonly readOnly?: boolean;
}

/**
 * A log is compacted after a batch once it holds this many lines more than
 * twice its live rows (a compaction, which writes the live rows, follows at
 * least as many appended changes), and at a checkpoint once it holds this
 * many more than an eighth beyond them: a start after a clean shutdown reads
 * at most about 1.125 times the live rows, after a crash about twice.
 */
export const COMPACTION_SLACK = 32;

/** Whether a log of `lines` lines for `rows` live rows is compacted at `moment`. */
export function compactionDue(lines: number, rows: number, moment: 'batch' | 'checkpoint'): boolean {
  return lines > (moment === 'batch' ? 2 * rows : rows + Math.floor(rows / 8)) + COMPACTION_SLACK;
}

/**
 * The embedded row store: the current rows of every table transactions
 * touched, durable in its TableFiles (one checksummed change log per table,
 * plus `tables.json` naming the files and key columns), so a move-in or a
 * new shape after a restart still finds rows applied before it. Logs are
 * compacted to their live rows as they outgrow them.
 */
export class TableStore implements RestorableRowStore {
  /** Its transactions are applied again from the journal after a crash (nothing else would send them). */
  readonly replayedBySource = false;
  readonly #files: TableFiles;
  readonly #tables: Map<string, StoredTable>;
  readonly #declared: Record<string, readonly string[]>;
  readonly #declaredTypes: Record<string, TableColumnTypes>;
  readonly #readOnly: boolean;
  #index: TableIndex;
  #indexDirty: boolean;
  readonly #problems: TableStoreProblem[];

  private constructor(files: TableFiles, options: TableStoreOptions, loaded: LoadedTables) {
    this.#files = files;
    this.#declared = { ...options.keyColumns };
    this.#declaredTypes = { ...options.columnTypes };
    this.#readOnly = options.readOnly === true;
    this.#tables = loaded.tables;
    this.#index = loaded.index;
    this.#indexDirty = loaded.indexDirty;
    this.#problems = loaded.problems;
    for (const [name, t] of this.#tables) this.#setTypes(name, t);
  }

  static async open(files: TableFiles, options: TableStoreOptions = {}): Promise<TableStore> {
    const declared = options.keyColumns ?? {};
    return new TableStore(files, options, await loadTables(files, (t) => declared[t], options.readOnly === true));
  }

  /** What opening found on disk (each file named, and what was done about it): restore reports them. */
  get problems(): readonly TableStoreProblem[] {
    return this.#problems;
  }

  get damage(): readonly TableDamage[] {
    return [...this.#tables.values()].flatMap((t) => (t.damage ? [t.damage] : []));
  }

  get position(): number {
    let max = 0;
    for (const table of this.#tables.values()) if (table.lastXid > max) max = table.lastXid;
    return max;
  }

  /** The tables it holds (recorded in its index). */
  get tables(): readonly string[] {
    return [...this.#tables.keys()];
  }

  declareKeyColumns(table: string, keyColumns: readonly string[]): void {
    checkDeclaredKeyColumns(table, this.#tables.get(table)?.rows.keyColumns, keyColumns);
    this.#declared[table] = [...keyColumns];
  }

  columnTypesOf(table: string): TableColumnTypes | undefined {
    return this.#declaredTypes[table] ?? this.#tables.get(table)?.rows.columnTypes;
  }

  declareColumnTypes(table: string, types: TableColumnTypes): void {
    this.#declaredTypes[table] = types;
    const t = this.#tables.get(table);
    if (t) this.#setTypes(table, t);
  }

  keyColumnsOf(table: string): readonly string[] {
    return this.#tables.get(table)?.rows.keyColumns ?? this.#declared[table] ?? DEFAULT_KEY_COLUMNS;
  }

  /** The current row with this key, if any. */
  get(table: string, key: string): Row | undefined {
    return this.#tables.get(table)?.rows.get(key);
  }

  /** Every current row of a table. */
  *rows(table: string): Iterable<KeyedRow> {
    const t = this.#tables.get(table);
    if (!t) return;
    for (const [key, row] of t.rows.rows) yield { key, row };
  }

  async *snapshot(table: string, selection: RowSelection): AsyncIterable<KeyedRow> {
    const t = this.#tables.get(table);
    if (!t) return;
    if (t.damage) throw damagedTableError(t.damage);
    const lookups = snapshotLookups(selection);
    if (lookups === null) {
      yield* this.rows(table);
      return;
    }
    // A row may be filed under several of the keys (`'1'` under text and number): each row once.
    const seen = new Set<string>();
    for (const lookup of lookups) {
      for (const keyed of t.rows.lookup(lookup.index, lookup.keys)) {
        if (seen.has(keyed.key)) continue;
        seen.add(keyed.key);
        yield keyed;
      }
    }
  }

  async rowsWithLinkValues(table: string, columns: readonly string[], values: ReadonlySet<string>): Promise<readonly KeyedRow[]> {
    const t = this.#tables.get(table);
    if (!t || values.size === 0) return [];
    return t.rows.lookup({ kind: 'link', columns }, values);
  }

  /**
   * Applies a transaction in memory, all or nothing: every change is checked
   * (key columns present) before any is applied. Returns each change with its
   * key and previous row. `flush` makes it durable.
   */
  apply(transaction: Transaction): ResolvedChange[] {
    const keyed = transaction.changes.map((change, i) => {
      const keyColumns = this.keyColumnsOf(change.table);
      const key = rowKey(change.row, keyColumns);
      if (key === null) throw new TransactionError(`changes.${i}: row has no value for key column(s) ${keyColumns.join(', ')} of ${change.table}`, transaction.xid);
      return { change, key };
    });
    const resolved: ResolvedChange[] = [];
    for (const { change, key } of keyed) {
      const table = this.#table(change.table);
      const before = table.rows.get(key) ?? null;
      const oldRow = before ?? change.oldRow ?? null;
      if (change.op === 'delete') {
        if (before) table.rows.set(key, null);
        table.pending.push({ xid: transaction.xid, op: 'delete', key, row: keyOnly(change.row, table.rows.keyColumns) });
        resolved.push({ op: 'delete', table: change.table, key, row: null, oldRow });
      } else {
        // An update of an unknown row is an upsert; an insert over an existing row replaces it.
        const row = change.op === 'update' && before ? { ...before, ...change.row } : change.row;
        table.rows.set(key, row);
        table.pending.push({ xid: transaction.xid, op: before ? 'update' : 'insert', key, row });
        resolved.push({ op: before ? 'update' : 'insert', table: change.table, key, row, oldRow });
      }
      table.lastXid = transaction.xid;
    }
    return resolved;
  }

  async flush(): Promise<void> {
    const dirty = [...this.#tables.values()].filter((t) => t.pending.length > 0);
    if (dirty.length === 0 && !this.#indexDirty) return;
    if (this.#readOnly) throw new Error(`${this.#files.description} was opened read only`);
    if (this.#indexDirty) {
      await this.#files.replace(TABLE_INDEX_FILE, encodeTableIndex(this.#index));
      this.#indexDirty = false;
    }
    await Promise.all(
      dirty.map(async (t) => {
        const entries = t.pending;
        t.pending = [];
        await this.#files.append(t.file, encodeLogEntries(entries));
        t.lines += entries.length;
      }),
    );
  }

  async compact(moment: 'batch' | 'checkpoint'): Promise<readonly CompactedTable[]> {
    if (this.#readOnly) return [];
    const done: CompactedTable[] = [];
    for (const [name, t] of this.#tables) {
      // A damaged log is kept as it is (the evidence) until its damage is cleared; pending entries are not flushed yet.
      if (t.damage || t.pending.length > 0 || !compactionDue(t.lines, t.rows.rows.size, moment)) continue;
      done.push(await this.#rewrite(name, t));
    }
    return done;
  }

  async clearDamage(table: string, how: 'acknowledged' | 'resynced'): Promise<string | null> {
    const t = this.#tables.get(table);
    if (!t?.damage) return null;
    if (this.#readOnly) throw new Error(`${this.#files.description} was opened read only`);
    // The damaged log is kept beside, for people (created before the log is replaced: a crash
    // between leaves the damage in place, found again); the table's log becomes its kept rows.
    const aside = `${t.file}.damaged-${how}-${timestamp()}`;
    const bytes = await this.#files.read(t.file);
    if (bytes) await this.#files.create(aside, bytes);
    await this.#rewrite(table, t);
    t.damage = null;
    return this.#files.pathOf(aside);
  }

  /**
   * Undoes the transactions after `position` (a batch a crash interrupted):
   * each table's log is cut back after its last record at or below it, and
   * the table read again.
   */
  async rollback(position: number): Promise<void> {
    for (const [name, t] of this.#tables) {
      if (t.lastXid <= position) continue;
      const read = await readTable(this.#files, name, t.rows.keyColumns, t.file, position);
      this.#problems.push(...read.problems);
      if (!this.#readOnly && read.cutTo !== null) await this.#files.truncate(t.file, read.cutTo);
      this.#tables.set(name, read.table);
      this.#setTypes(name, read.table);
    }
  }

  /** The log replaced, atomically, by the table's live rows (a crash leaves the old log or the new one). */
  async #rewrite(name: string, t: StoredTable): Promise<CompactedTable> {
    const before = t.lines;
    await this.#files.replace(t.file, encodeCompactedTable(t.lastXid, t.rows.rows));
    t.lines = t.rows.rows.size + 1;
    return { table: name, recordsBefore: before, recordsAfter: t.rows.rows.size };
  }

  /** A table's rows read in its declared types (else the recorded ones); a new declaration is recorded. */
  #setTypes(name: string, t: StoredTable): void {
    const info = this.#index.tables[name];
    const types = this.#declaredTypes[name] ?? info?.columnTypes;
    t.rows.columnTypes = types;
    if (info && types && JSON.stringify(info.columnTypes) !== JSON.stringify(types)) {
      this.#index = { ...this.#index, tables: { ...this.#index.tables, [name]: { ...info, columnTypes: types } } };
      this.#indexDirty = true;
    }
  }

  #table(name: string): StoredTable {
    let table = this.#tables.get(name);
    if (!table) {
      const keyColumns = this.#declared[name] ?? DEFAULT_KEY_COLUMNS;
      const file = tableFile(name);
      table = { rows: new TableRows(name, keyColumns), file, pending: [], lastXid: 0, lines: 0, damage: null };
      this.#tables.set(name, table);
      this.#index = { ...this.#index, tables: { ...this.#index.tables, [name]: { file, keyColumns: [...keyColumns] } } };
      this.#indexDirty = true;
      this.#setTypes(name, table);
    }
    return table;
  }
}

function keyOnly(row: Row, keyColumns: readonly string[]): Row {
  const out: Record<string, unknown> = {};
  for (const c of keyColumns) out[c] = row[c];
  return out;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}
