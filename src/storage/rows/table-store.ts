import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { linkKey } from '../../shapes/where/link-key.ts';
import type { Row } from '../../shapes/where/evaluate.ts';
import { nodeDurableFs, type DurableFs } from '../fs-durable.ts';
import { bytesThroughXid, decodeLog, encodeLogEntries } from '../log-codec.ts';
import type { LogEntry } from '../storage.ts';
import { isErrno } from '../file-store.ts';
import type { Change, Transaction } from '../../shapes/transaction.ts';
import { TransactionError } from '../../shapes/transaction.ts';
import { rowKey } from './row-key.ts';
import type { KeyedRow, RowSource } from './row-source.ts';

/** A change with its row identity and the row as it was before. */
export interface ResolvedChange {
  readonly op: Change['op'];
  readonly table: string;
  readonly key: string;
  /** After the change (null for a delete). */
  readonly row: Row | null;
  /** Before the change (null when the row did not exist). */
  readonly oldRow: Row | null;
}

const metaSchema = z.strictObject({
  format: z.literal('shape-actors/tables@1'),
  tables: z.record(z.string(), z.strictObject({ file: z.string(), keyColumns: z.array(z.string()).min(1) })),
});
type Meta = z.infer<typeof metaSchema>;

export interface TableStoreProblem {
  readonly file: string;
  readonly reason: string;
  readonly action: 'repaired';
}

/** The index, or why it cannot be used (a file it names must be a plain name inside tables/). */
function parseMeta(text: string): Meta | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const meta = metaSchema.safeParse(value);
  if (!meta.success) return `not a tables index (${meta.error.issues[0]?.message})`;
  for (const info of Object.values(meta.data.tables)) if (!/^[^/\\]+\.jsonl$/.test(info.file) || info.file.startsWith('.')) return `names file ${JSON.stringify(info.file)}`;
  return meta.data;
}

export const DEFAULT_KEY_COLUMNS: readonly string[] = ['id'];

export interface TableStoreOptions {
  /** Declared primary key columns per table; a table's first declaration is recorded and must not change. */
  readonly keyColumns?: Readonly<Record<string, readonly string[]>>;
  /** Undo an in-doubt batch: changes of transactions after this position are cut off on open. */
  readonly rollbackAbove?: number;
  /** How changes reach the disk (the crash tests record them). */
  readonly fs?: DurableFs;
}

interface Table {
  readonly name: string;
  readonly keyColumns: readonly string[];
  readonly rows: Map<string, Row>;
  /** `columns` joined -> link value -> row keys: the move-in lookup. Built on first use. */
  readonly indexes: Map<string, { readonly columns: readonly string[]; readonly byValue: Map<string, Set<string>> }>;
  pending: LogEntry[];
  lastXid: number;
}

/**
 * The embedded row source: the current rows of every table transactions
 * touched, durable in `<dataDir>/tables/` (one checksummed change log per
 * table, plus `tables.json` naming the files and key columns), so a move-in
 * after a restart still finds rows applied before it. `dir: null` keeps rows
 * in memory only.
 */
export class TableStore implements RowSource {
  readonly #tables = new Map<string, Table>();
  readonly #declared: Record<string, readonly string[]>;
  #meta: Meta = { format: 'shape-actors/tables@1', tables: {} };
  #metaDirty = false;

  readonly #rollbackAbove: number | undefined;
  readonly #fs: DurableFs;
  readonly #problems: TableStoreProblem[] = [];

  /** Damage found while opening (each file named, and what was done about it): restore reports them. */
  get problems(): readonly TableStoreProblem[] {
    return this.#problems;
  }

  private constructor(
    readonly dir: string | null,
    options: TableStoreOptions,
  ) {
    this.#declared = { ...options.keyColumns };
    this.#rollbackAbove = options.rollbackAbove;
    this.#fs = options.fs ?? nodeDurableFs;
  }

  static async open(dir: string | null, options: TableStoreOptions = {}): Promise<TableStore> {
    const store = new TableStore(dir, options);
    if (dir) await store.#load(dir);
    return store;
  }

  /**
   * The highest xid in the table logs under `dataDir` (their whole records; 0 when there are none
   * or the index is unreadable), read without opening the store: restore checks a prepared batch
   * against it before undoing anything.
   */
  static async highestXidOnDisk(dataDir: string): Promise<number> {
    const dir = join(dataDir, 'tables');
    let meta: Meta | string;
    try {
      meta = parseMeta(await readFile(join(dir, 'tables.json'), 'utf8'));
    } catch {
      return 0;
    }
    if (typeof meta === 'string') return 0;
    let max = 0;
    for (const info of Object.values(meta.tables)) {
      let buffer: Buffer;
      try {
        buffer = await readFile(join(dir, info.file));
      } catch {
        continue;
      }
      for (const entry of decodeLog(buffer).records) if (entry.xid > max) max = entry.xid;
    }
    return max;
  }

  /**
   * The tables the row store under `dataDir` recorded (empty when it has no readable index), read
   * without opening the store: a source compares them with the tables it follows.
   */
  static async recordedTables(dataDir: string): Promise<Set<string>> {
    try {
      const meta = JSON.parse(await readFile(join(dataDir, 'tables', 'tables.json'), 'utf8')) as { tables?: Record<string, unknown> };
      return new Set(Object.keys(meta.tables ?? {}));
    } catch {
      return new Set();
    }
  }

  /** Highest transaction applied (0 when none): the position a restart resumes from. */
  get lastXid(): number {
    let max = 0;
    for (const table of this.#tables.values()) if (table.lastXid > max) max = table.lastXid;
    return max;
  }

  /**
   * Declares a table's key columns at run time (a database source learns them
   * when it starts following a table). Refused when the table was recorded with
   * other key columns: a row's identity cannot change under its logs.
   */
  declareKeyColumns(table: string, keyColumns: readonly string[]): void {
    const recorded = this.#tables.get(table)?.keyColumns;
    if (recorded && JSON.stringify(recorded) !== JSON.stringify(keyColumns)) {
      throw new Error(`table ${table} was recorded with key columns (${recorded.join(', ')}), not (${keyColumns.join(', ')})`);
    }
    this.#declared[table] = [...keyColumns];
  }

  keyColumnsOf(table: string): readonly string[] {
    return this.#tables.get(table)?.keyColumns ?? this.#declared[table] ?? DEFAULT_KEY_COLUMNS;
  }

  get(table: string, key: string): Row | undefined {
    return this.#tables.get(table)?.rows.get(key);
  }

  *rows(table: string): Iterable<KeyedRow> {
    const t = this.#tables.get(table);
    if (!t) return;
    for (const [key, row] of t.rows) yield { key, row };
  }

  rowsWithLinkValues(table: string, columns: readonly string[], values: ReadonlySet<string>): KeyedRow[] {
    const t = this.#tables.get(table);
    if (!t || values.size === 0) return [];
    const index = this.#index(t, columns);
    const out: KeyedRow[] = [];
    for (const value of values) {
      for (const key of index.get(value) ?? []) out.push({ key, row: t.rows.get(key)! });
    }
    return out;
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
        if (before) this.#setRow(table, key, before, null);
        table.pending.push({ xid: transaction.xid, op: 'delete', key, row: keyOnly(change.row, table.keyColumns) });
        resolved.push({ op: 'delete', table: table.name, key, row: null, oldRow });
      } else {
        // An update of an unknown row is an upsert; an insert over an existing row replaces it.
        const row = change.op === 'update' && before ? { ...before, ...change.row } : change.row;
        this.#setRow(table, key, before, row);
        table.pending.push({ xid: transaction.xid, op: before ? 'update' : 'insert', key, row });
        resolved.push({ op: before ? 'update' : 'insert', table: table.name, key, row, oldRow });
      }
      table.lastXid = transaction.xid;
    }
    return resolved;
  }

  /** Writes what `apply` changed since the last flush, durably. */
  async flush(): Promise<void> {
    if (!this.dir) {
      for (const t of this.#tables.values()) t.pending = [];
      return;
    }
    const dir = join(this.dir, 'tables');
    await this.#fs.mkdir(dir);
    if (this.#metaDirty) {
      await this.#fs.replaceFile(join(dir, 'tables.json'), `${JSON.stringify(this.#meta, null, 2)}\n`);
      this.#metaDirty = false;
    }
    await Promise.all(
      [...this.#tables.values()]
        .filter((t) => t.pending.length > 0)
        .map(async (t) => {
          const entries = t.pending;
          t.pending = [];
          await this.#fs.append(join(dir, this.#meta.tables[t.name]!.file), encodeLogEntries(entries));
        }),
    );
  }

  #table(name: string): Table {
    let table = this.#tables.get(name);
    if (!table) {
      const keyColumns = this.#declared[name] ?? DEFAULT_KEY_COLUMNS;
      table = { name, keyColumns, rows: new Map(), indexes: new Map(), pending: [], lastXid: 0 };
      this.#tables.set(name, table);
      this.#meta = { ...this.#meta, tables: { ...this.#meta.tables, [name]: { file: `${encodeURIComponent(name)}.jsonl`, keyColumns: [...keyColumns] } } };
      this.#metaDirty = true;
    }
    return table;
  }

  #setRow(table: Table, key: string, before: Row | null, after: Row | null): void {
    if (after) table.rows.set(key, after);
    else table.rows.delete(key);
    for (const { columns, byValue } of table.indexes.values()) {
      const old = before ? linkKey(columns.map((c) => before[c])) : null;
      const now = after ? linkKey(columns.map((c) => after[c])) : null;
      if (old === now) continue;
      if (old !== null) {
        const keys = byValue.get(old);
        keys?.delete(key);
        if (keys?.size === 0) byValue.delete(old);
      }
      if (now !== null) {
        let keys = byValue.get(now);
        if (!keys) byValue.set(now, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  #index(table: Table, columns: readonly string[]): Map<string, Set<string>> {
    const id = JSON.stringify(columns);
    let index = table.indexes.get(id);
    if (!index) {
      const byValue = new Map<string, Set<string>>();
      for (const [key, row] of table.rows) {
        const value = linkKey(columns.map((c) => row[c]));
        if (value === null) continue;
        let keys = byValue.get(value);
        if (!keys) byValue.set(value, (keys = new Set()));
        keys.add(key);
      }
      index = { columns: [...columns], byValue };
      table.indexes.set(id, index);
    }
    return index.byValue;
  }

  async #load(dataDir: string): Promise<void> {
    const dir = join(dataDir, 'tables');
    const indexFile = join(dir, 'tables.json');
    let metaText: string;
    try {
      metaText = await readFile(indexFile, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw error;
    }
    let meta = parseMeta(metaText);
    if (typeof meta === 'string') {
      // Bad data, not a reason to fail: rebuild the index from the table logs found beside it.
      meta = await this.#rebuildMeta(dir);
      this.#problems.push({ file: indexFile, reason: `table index unreadable (${metaText.length === 0 ? 'empty' : 'damaged'}): rebuilt from ${Object.keys(meta.tables).length} table log(s) found`, action: 'repaired' });
      this.#metaDirty = true;
    }
    this.#meta = meta;
    for (const [name, info] of Object.entries(meta.tables)) {
      const declared = this.#declared[name];
      if (declared && JSON.stringify(declared) !== JSON.stringify(info.keyColumns)) {
        throw new Error(`table ${name} was recorded with key columns (${info.keyColumns.join(', ')}), not (${declared.join(', ')})`);
      }
      const table: Table = { name, keyColumns: info.keyColumns, rows: new Map(), indexes: new Map(), pending: [], lastXid: 0 };
      this.#tables.set(name, table);
      const file = join(dir, info.file);
      let buffer: Buffer;
      try {
        buffer = await readFile(file);
      } catch (error) {
        if (isErrno(error, 'ENOENT')) continue;
        throw error;
      }
      const decoded = decodeLog(buffer);
      // A torn last line is an append that never completed (its transaction was never acknowledged).
      // Damage before the last line: keep the records before it, and cut the rest off so later appends stay readable.
      if (decoded.damage?.kind === 'corrupt-entry') {
        this.#problems.push({ file, reason: `line ${decoded.damage.line}: ${decoded.damage.reason}: records from there on dropped (${decoded.records.length} kept)`, action: 'repaired' });
      } else if (decoded.damage) {
        this.#problems.push({ file, reason: `line ${decoded.damage.line}: ${decoded.damage.reason}: cut back to the last whole entry`, action: 'repaired' });
      }
      const keep = this.#rollbackAbove === undefined ? decoded.validBytes : bytesThroughXid(decoded, this.#rollbackAbove);
      if (keep < buffer.length) await this.#fs.truncate(file, keep);
      for (const entry of decoded.records) {
        if (this.#rollbackAbove !== undefined && entry.xid > this.#rollbackAbove) break;
        if (entry.op === 'delete') table.rows.delete(entry.key);
        else table.rows.set(entry.key, entry.row);
        table.lastXid = entry.xid;
      }
    }
  }

  /** An index naming every `<table>.jsonl` in `dir`, with declared (or default) key columns. */
  async #rebuildMeta(dir: string): Promise<Meta> {
    const tables: Meta['tables'] = {};
    for (const name of (await readdir(dir)).sort()) {
      if (!name.endsWith('.jsonl')) continue;
      let table: string;
      try {
        table = decodeURIComponent(name.slice(0, -'.jsonl'.length));
      } catch {
        continue;
      }
      if (`${encodeURIComponent(table)}.jsonl` !== name) continue;
      tables[table] = { file: name, keyColumns: [...(this.#declared[table] ?? DEFAULT_KEY_COLUMNS)] };
    }
    return { format: 'shape-actors/tables@1', tables };
  }
}

function keyOnly(row: Row, keyColumns: readonly string[]): Row {
  const out: Record<string, unknown> = {};
  for (const c of keyColumns) out[c] = row[c];
  return out;
}
