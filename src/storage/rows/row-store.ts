import type { WhereExpr } from '../../shapes/where/ast.ts';
import type { TableColumnTypes } from '../../shapes/column-types.ts';
import type { LinkSet, Row } from '../../shapes/where/evaluate.ts';
import type { Change, Transaction } from '../../shapes/transaction.ts';
import { StorageError } from '../storage.ts';

/** A row with its identity (its key columns' values, canonically encoded: see rowKey). */
export interface KeyedRow {
  readonly key: string;
  readonly row: Row;
}

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

/** A dependency's current link values, which a store may also enumerate (to look rows up by them). */
export interface LinkValueSet extends LinkSet {
  readonly size: number;
  values(): Iterable<string>;
}

/** Which rows a new shape's snapshot needs: its where clause, and the values of the subqueries it names. */
export interface RowSelection {
  /** The shape's where clause (absent: every row). */
  readonly where?: WhereExpr;
  /** Each subquery's current link values, by dependency index (`SublinkExpr.dependency`). */
  readonly dependencies: readonly LinkValueSet[];
}

/**
 * A table whose stored rows lost records: bad lines in the middle of its log,
 * not a torn tail. What survives is kept (every valid record, before and after
 * the bad lines); what was lost cannot be known, so the table's rows are not
 * trusted: a store refuses to snapshot from it until the damage is cleared.
 */
export interface TableDamage {
  readonly table: string;
  /** The damaged file, for people. */
  readonly file: string;
  /** 1-based line numbers of the records that could not be read, with why. */
  readonly lines: readonly { readonly line: number; readonly reason: string }[];
  /** Valid records read around them. */
  readonly kept: number;
}

/** Why a snapshot from a damaged table is refused (StorageError `damaged`), and how to lift it. */
export function damagedTableError(damage: TableDamage): StorageError {
  const lines = damage.lines.map((l) => l.line).join(', ');
  return new StorageError(
    'damaged',
    damage.file,
    `table ${damage.table} lost records in the row store (${lines ? `line(s) ${lines} unreadable` : 'compacted rows missing'}; ${damage.kept} kept): a snapshot from it could miss rows, so it is refused until the damage is acknowledged (restore --accept-table-damage ${damage.table})`,
  );
}

export interface CompactedTable {
  readonly table: string;
  /** Records in its log before and after (after: one per live row). */
  readonly recordsBefore: number;
  readonly recordsAfter: number;
}

/** Where move-ins find the rows that now qualify (a row store, or a database source standing in for it). */
export type MoveInSource = Pick<RowStore, 'rowsWithLinkValues'>;

/**
 * The row-store port: where the live path resolves a transaction's changes to
 * rows (key, row, old row), where a new shape's snapshot and every move-in
 * find their rows, and what makes the position durable. The embedded store
 * (TableStore over a TableFiles backend) keeps the tables itself; a database
 * source can stand in for it (old rows from the stream, snapshots and move-ins
 * from queries).
 */
export interface RowStore {
  /** The last transaction applied (0 when none): the position a restart resumes from. */
  readonly position: number;
  /** A table's primary key columns (declared, recorded, or `['id']`). */
  keyColumnsOf(table: string): readonly string[];
  /** Declares a table's key columns; refused when the table was recorded with others. */
  declareKeyColumns(table: string, keyColumns: readonly string[]): void;
  /** A table's column types (declared or recorded), or undefined: where clauses then read each value by its JSON type. */
  columnTypesOf(table: string): TableColumnTypes | undefined;
  /** Declares a table's column types (a database source, from its catalog); they replace the recorded ones. */
  declareColumnTypes(table: string, types: TableColumnTypes): void;
  /**
   * Applies a transaction, all or nothing (a TransactionError refuses it whole),
   * and resolves each change to its key, its row after and its row before.
   * Durable only once `flush` resolves.
   */
  apply(transaction: Transaction): readonly ResolvedChange[];
  /**
   * A new shape's snapshot as of `position`: every current row that may match
   * the selection (at least every row that does; the caller judges each).
   * Throws a StorageError `damaged` when the table's rows cannot be trusted.
   */
  snapshot(table: string, selection: RowSelection): AsyncIterable<KeyedRow>;
  /** Current rows whose `columns` tuple has one of the given link values (linkKey encoding): move-ins. */
  rowsWithLinkValues(table: string, columns: readonly string[], values: ReadonlySet<string>): Promise<readonly KeyedRow[]>;
  /** Makes what `apply` did durable, with the position. */
  flush(): Promise<void>;
  /**
   * Folds the history of tables whose logs outgrew their live rows into their
   * live rows: after a `batch`, those with more than twice as many lines (the
   * rewrite is paid for by as many appends); at a `checkpoint` (and a clean
   * shutdown), those with any history to speak of, so the next start reads
   * little more than the live rows. Call only when every flushed transaction
   * is committed (no batch in doubt): what it folds can no longer be undone.
   */
  compact(moment: 'batch' | 'checkpoint'): Promise<readonly CompactedTable[]>;
  /** Tables that lost records (found when the store was opened), not yet cleared. */
  readonly damage: readonly TableDamage[];
  /**
   * The damage of `table` is dealt with: an operator accepted the loss
   * (`acknowledged`), or a database source re-read the table and applied it as
   * changes (`resynced`). The table's kept rows are trusted again. Resolves to
   * where the damaged data was kept for people (null when there was none).
   * Like `compact`, only with no batch in doubt.
   */
  clearDamage(table: string, how: 'acknowledged' | 'resynced'): Promise<string | null>;
}

/** What opening a row store found on disk, for the restore report. */
export interface RowStoreProblem {
  readonly file: string;
  readonly reason: string;
  readonly action: 'repaired' | 'kept';
}

/** A row store as restore opens it: it also reports what it found and undoes a batch a crash interrupted. */
export interface RestorableRowStore extends RowStore {
  readonly problems: readonly RowStoreProblem[];
  /** Undoes the transactions after `position` (an interrupted batch). */
  rollback(position: number): Promise<void>;
  /**
   * Its transactions come from a source that delivers an undone batch again (a replication
   * slot confirmed only through applied commits): restore then undoes an interrupted batch
   * without applying it again, and the source sends it anew.
   */
  readonly replayedBySource: boolean;
  /** A table's current rows, where the store keeps them (a database source keeps none). */
  rows?(table: string): Iterable<KeyedRow>;
}

/** Opens the runtime's row store once restore has committed (default: the embedded TableStore over storage's tables). */
export type RowStoreOpener = (options: {
  readonly keyColumns: Readonly<Record<string, readonly string[]>>;
  readonly columnTypes?: Readonly<Record<string, TableColumnTypes>>;
}) => Promise<RestorableRowStore>;

/**
 * The row store could not answer (the database it reads is unreachable, or stopped): the
 * request that needed it is refused, nothing was written, and it may be tried again.
 */
export class RowsUnavailableError extends Error {
  override readonly name = 'RowsUnavailableError';
}
