/**
 * The runtime's row store when it follows Postgres: it keeps no copy of the
 * tables. A change's old row comes with it from the stream (`REPLICA
 * IDENTITY FULL`, which the source sets on every table it follows); a new
 * shape's snapshot, a move-in and a resync are read from the database as of
 * the runtime's position (as-of-reader.ts), in batches. All it keeps is the
 * position (`postgres/position.json`, written at each flush) and the tables'
 * key columns.
 *
 * A table not in step with the stream (not synced yet, or being read again)
 * answers nothing: its shapes are resynced once it is (the source asks the
 * runtime at the sync's marker).
 *
 * Offline (a CLI command on a data dir that follows Postgres, no database at
 * hand) it refuses transactions, and a shape added then starts empty: the
 * store forgets that its table was in step, so the next `serve` reads the
 * table's shapes again.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeShapesView } from '../../runtime/index.ts';
import { TransactionError, type Transaction } from '../../shapes/transaction.ts';
import type { WhereExpr } from '../../shapes/where/ast.ts';
import { evaluateWhere } from '../../shapes/where/evaluate.ts';
import type { LinkSet } from '../../shapes/where/link-set.ts';
import type { TableColumnTypes } from '../../shapes/column-types.ts';
import { linkKey } from '../../shapes/where/link-key.ts';
import { dataDirLayout } from '../../storage/data-dir-layout.ts';
import { nodeDurableFs } from '../../storage/fs-durable.ts';
import { rowKey } from '../../storage/rows/row-key.ts';
import { DEFAULT_KEY_COLUMNS } from '../../storage/rows/table-store.ts';
import type { CompactedTable, KeyedRow, ResolvedChange, RestorableRowStore, RowSelection, RowStoreOpener, RowStoreProblem, TableDamage } from '../../storage/rows/row-store.ts';
import { readAllAsOf, readAsOf, type ReaderHost, type ReadStats } from './as-of-reader.ts';
import type { Catalog } from './catalog.ts';
import { formatLsn, parseLsn } from './lsn.ts';
import { moveInQuery, snapshotQuery, wholeTable } from './read-queries.ts';
import { SourceStateFile } from './state.ts';

const POSITION_FORMAT = 'shape-actors/postgres-position@1';
const NO_VALUES: LinkSet = { has: () => false, compatibleCount: () => 0 };

/** What the store reads with when a database is at hand. */
export interface OnlineReads {
  readonly host: ReaderHost;
  readonly stats: { readonly snapshots: ReadStats; readonly moveIns: ReadStats };
  readonly catalog: Catalog;
  /** Whether the table is followed and in step with the stream (its rows can be read as of the position). */
  inStep(table: string): boolean;
  /** The runtime's shapes (the move-in prefilter reads their where clauses). */
  shapes(): RuntimeShapesView | null;
}

export interface PostgresRowStoreOptions {
  /** The data dir (the position is `postgres/position.json` in it). */
  readonly dataDir: string;
  readonly keyColumns: Readonly<Record<string, readonly string[]>>;
  /** The tables' column types (from the catalog): where clauses and link values are read in them. */
  readonly columnTypes?: Readonly<Record<string, TableColumnTypes>>;
  /** Null offline: transactions are refused, snapshots are empty and mark their table for a resync. */
  readonly reads: OnlineReads | null;
  /** Offline: a table a new shape reads is no longer in step (the next serve reads its shapes again). */
  readonly forgetInStep?: (table: string) => Promise<void>;
}

export class PostgresRowStore implements RestorableRowStore {
  readonly replayedBySource = true;
  readonly damage: readonly TableDamage[] = [];
  readonly problems: RowStoreProblem[] = [];
  readonly #declared: Record<string, readonly string[]>;
  readonly #types: Record<string, TableColumnTypes>;
  readonly #file: string;
  readonly #options: PostgresRowStoreOptions;
  #position = 0;
  #flushed = 0;

  private constructor(options: PostgresRowStoreOptions) {
    this.#options = options;
    this.#declared = { ...options.keyColumns };
    this.#types = { ...options.columnTypes };
    this.#file = join(dataDirLayout(options.dataDir).postgres, 'position.json');
  }

  static async open(options: PostgresRowStoreOptions): Promise<PostgresRowStore> {
    const store = new PostgresRowStore(options);
    await store.#load();
    return store;
  }

  get position(): number {
    return this.#position;
  }

  keyColumnsOf(table: string): readonly string[] {
    return this.#declared[table] ?? DEFAULT_KEY_COLUMNS;
  }

  declareKeyColumns(table: string, keyColumns: readonly string[]): void {
    this.#declared[table] = [...keyColumns];
  }

  columnTypesOf(table: string): TableColumnTypes | undefined {
    return this.#types[table];
  }

  declareColumnTypes(table: string, types: TableColumnTypes): void {
    this.#types[table] = types;
  }

  /** Each change resolved from itself: its key from its row, its old row from the stream (FULL identity). */
  apply(transaction: Transaction): readonly ResolvedChange[] {
    if (!this.#options.reads) throw new TransactionError('this data dir follows Postgres: its transactions come from `serve` (the replication stream), not from here', transaction.xid);
    const resolved = transaction.changes.map((change, i): ResolvedChange => {
      const keyColumns = this.keyColumnsOf(change.table);
      const key = rowKey(change.row, keyColumns);
      if (key === null) throw new TransactionError(`changes.${i}: row has no value for key column(s) ${keyColumns.join(', ')} of ${change.table}`, transaction.xid);
      if (change.op === 'insert') return { op: 'insert', table: change.table, key, row: change.row, oldRow: null };
      if (!change.oldRow) throw new TransactionError(`changes.${i}: an ${change.op} of ${change.table} without its old row (the source follows tables with REPLICA IDENTITY FULL)`, transaction.xid);
      if (change.op === 'delete') return { op: 'delete', table: change.table, key, row: null, oldRow: change.oldRow };
      return { op: 'update', table: change.table, key, row: change.row, oldRow: change.oldRow };
    });
    if (transaction.xid > this.#position) this.#position = transaction.xid;
    return resolved;
  }

  async *snapshot(table: string, selection: RowSelection): AsyncIterable<KeyedRow> {
    const reads = this.#options.reads;
    if (!reads) {
      await this.#options.forgetInStep?.(table);
      return;
    }
    if (!reads.inStep(table)) return;
    const info = await reads.catalog.lookup(table);
    if (!info) return;
    const keyColumns = this.keyColumnsOf(table);
    const links = (i: number) => selection.dependencies[i] ?? NO_VALUES;
    const types = this.columnTypesOf(table) ?? info.types;
    const sql = snapshotQuery(table, selection, info);
    const query = {
      table,
      keyColumns,
      position: this.#position,
      sql,
      ...(sql.values.length > 0 ? { fallback: wholeTable(table) } : {}),
      accept: (row: Record<string, unknown>) => selection.where === undefined || evaluateWhere(selection.where, row, links, types),
      purpose: 'snapshot',
      stats: reads.stats.snapshots,
    };
    for await (const batch of readAsOf(reads.host, query)) yield* batch;
  }

  async rowsWithLinkValues(table: string, columns: readonly string[], values: ReadonlySet<string>): Promise<readonly KeyedRow[]> {
    const reads = this.#options.reads;
    if (!reads || values.size === 0 || !reads.inStep(table)) return [];
    const info = await reads.catalog.lookup(table);
    // The table or a link column is gone: its shapes are being removed.
    if (!info || columns.some((c) => !(c in info.columnTypes))) return [];
    const sql = moveInQuery(table, info, columns, values, shapeWheres(reads.shapes(), table));
    const types = this.columnTypesOf(table) ?? info.types;
    const linkTypes = columns.map((c) => types[c]);
    return readAllAsOf(reads.host, {
      table,
      keyColumns: this.keyColumnsOf(table),
      position: this.#position,
      sql,
      fallback: moveInQuery(table, info, columns, values, []),
      accept: (row) => {
        const value = linkKey(
          columns.map((c) => row[c]),
          linkTypes,
        );
        return value !== null && values.has(value);
      },
      purpose: 'move-in',
      stats: reads.stats.moveIns,
    });
  }

  async flush(): Promise<void> {
    if (this.#position === this.#flushed) return;
    await nodeDurableFs.mkdir(join(this.#file, '..'));
    await nodeDurableFs.replaceFile(this.#file, `${JSON.stringify({ format: POSITION_FORMAT, position: formatLsn(this.#position) })}\n`);
    this.#flushed = this.#position;
  }

  async rollback(position: number): Promise<void> {
    if (position >= this.#position) return;
    this.#position = position;
    await this.flush();
  }

  /** Nothing to fold: the store keeps no tables. */
  async compact(): Promise<readonly CompactedTable[]> {
    return [];
  }

  async clearDamage(): Promise<string | null> {
    return null;
  }

  async #load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as { format?: unknown; position?: unknown };
      if (parsed.format !== POSITION_FORMAT || typeof parsed.position !== 'string') throw new Error('not a position record');
      this.#position = this.#flushed = parseLsn(parsed.position);
    } catch (error) {
      // Position 0: the source finds the slot past it and reads every table again.
      this.problems.push({ file: this.#file, reason: `unreadable (${(error as Error).message}): every table is read again`, action: 'kept' });
    }
  }
}

/** Whether a data dir follows Postgres (`serve` ran on it): its shapes' rows come from the database, not the embedded store. */
export function followsPostgres(dataDir: string): boolean {
  return existsSync(SourceStateFile.path(dataDir));
}

/**
 * The row store for a command run on a data dir that follows Postgres, with no database at
 * hand (`add`, `list`, `log` without `serve`): it keeps the position, refuses transactions,
 * and a shape added starts empty, its table marked for a resync at the next `serve`.
 */
export function openOfflinePostgresRowStore(dataDir: string): RowStoreOpener {
  return ({ keyColumns, columnTypes }) =>
    PostgresRowStore.open({ dataDir, keyColumns, ...(columnTypes ? { columnTypes } : {}), reads: null, forgetInStep: (table) => SourceStateFile.forgetTable(dataDir, table) });
}

/** The where clauses of the table's shapes, read lazily (moveInQuery stops early). */
function* shapeWheres(shapes: RuntimeShapesView | null, table: string): Generator<WhereExpr> {
  if (!shapes) return;
  for (const handle of shapes.handlesForTable(table)) {
    const where = shapes.get(handle)?.shape.where;
    if (where) yield where;
  }
}
