import type { TableColumnTypes } from '../../shapes/column-types.ts';
import { xidOf } from '../../shapes/transaction.ts';
import type { PreparedBatch, ShapeStorage } from '../storage.ts';
import type { TableStoreProblem } from './load-tables.ts';
import type { RestorableRowStore, RowStoreOpener } from './row-store.ts';
import { TableStore } from './table-store.ts';

export interface RowStoreRestoreOptions {
  readonly keyColumns: Readonly<Record<string, readonly string[]>>;
  /** Declared column types per table (see TableStoreOptions). */
  readonly columnTypes?: Readonly<Record<string, TableColumnTypes>>;
  /** Tables whose damage an operator acknowledged (`restore --accept-table-damage`): their kept rows are trusted again. */
  readonly acceptTableDamage?: readonly string[];
  /** Predict only (a dry run, `doctor`): the same findings, nothing on disk changes. */
  readonly readOnly?: boolean;
  /** Another row store than the embedded one (a database source's, which keeps no tables). */
  readonly open?: RowStoreOpener;
}

export interface RowStoreRestore {
  readonly rows: RestorableRowStore;
  /** The batch a crash interrupted, undone in the row store: the caller cuts the shape logs it names back too, then redoes it. */
  readonly inDoubt: PreparedBatch | null;
  /** What was found (the journal's bad lines, the row store's damage and repairs) and done. */
  readonly problems: readonly TableStoreProblem[];
}

/**
 * The row store's part of a restore, in order: open it; read the journal's
 * batch in doubt and decide whether it still is (the row store is flushed
 * before every commit, so transactions in it beyond the prepared ones mean the
 * journal lost later records: that prepare is stale, nothing is undone); undo
 * it in the row store; clear the damage an operator acknowledged; compact the
 * logs that outgrew their rows (nothing is in doubt any more). Read only, it
 * finds and says the same, changing nothing: what `doctor` predicts is what
 * restore then does.
 */
export async function restoreRowStore(storage: ShapeStorage, options: RowStoreRestoreOptions): Promise<RowStoreRestore> {
  const readOnly = options.readOnly === true;
  const problems: TableStoreProblem[] = [];
  const rows = options.open
    ? await options.open({ keyColumns: options.keyColumns, ...(options.columnTypes ? { columnTypes: options.columnTypes } : {}) })
    : await TableStore.open(storage.tables, { keyColumns: options.keyColumns, ...(options.columnTypes ? { columnTypes: options.columnTypes } : {}), readOnly });
  const journaled = await storage.readInDoubtBatch({
    repair: !readOnly,
    onDamage: (d) => problems.push({ file: d.file, reason: d.reason, action: d.torn ? 'repaired' : 'kept' }),
  });
  const decision = inDoubtDecision(journaled, rows.position);
  if (decision.kind === 'stale') problems.push({ file: `${storage.description}: journal`, reason: decision.reason, action: 'kept' });
  const inDoubt = decision.kind === 'redo' ? decision.batch : null;
  if (inDoubt) await rows.rollback(inDoubt.position);
  problems.push(...rows.problems);
  for (const table of options.acceptTableDamage ?? []) {
    const damage = rows.damage.find((d) => d.table === table);
    if (!damage) {
      problems.push({ file: storage.tables.pathOf(''), reason: `--accept-table-damage ${table}: the row store finds no damage in ${table}, nothing to acknowledge`, action: 'kept' });
      continue;
    }
    const aside = readOnly ? `${damage.file}.damaged-acknowledged-<time>` : await rows.clearDamage(table, 'acknowledged');
    problems.push({ file: damage.file, reason: `damage acknowledged: ${table}'s ${damage.kept} kept record(s) are trusted again (snapshots allowed); the damaged log is kept as ${aside}`, action: 'repaired' });
  }
  if (!readOnly) await rows.compact('batch');
  return { rows, inDoubt, problems };
}

export type InDoubtDecision =
  | { readonly kind: 'none' }
  /** Cut every log it names (and the row store) back to its start position, then apply it again first. */
  | { readonly kind: 'redo'; readonly batch: PreparedBatch }
  /** Leave it: undoing it would drop acknowledged transactions. */
  | { readonly kind: 'stale'; readonly reason: string };

/**
 * The journal's undo/redo decision. A batch prepared but never committed was interrupted
 * mid-write: it is undone and redone (exactly once). But the row store is flushed before every
 * commit: transactions in it beyond the prepared ones (`rowStorePosition`) mean later batches
 * were committed and the journal lost their records (damage, not a crash), so the prepare is
 * stale and nothing is undone.
 */
export function inDoubtDecision(batch: PreparedBatch | null, rowStorePosition: number): InDoubtDecision {
  if (!batch) return { kind: 'none' };
  const prepared = Math.max(batch.position, ...batch.transactions.map((t) => xidOf(t) ?? 0));
  if (rowStorePosition > prepared) {
    return {
      kind: 'stale',
      reason: `stale prepare: the journal ends with the prepare of transactions up to ${prepared}, but the row store holds transactions up to ${rowStorePosition} (the journal lost later records): nothing undone`,
    };
  }
  return { kind: 'redo', batch };
}
