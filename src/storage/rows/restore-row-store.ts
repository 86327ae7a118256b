import { xidOf } from '../../shapes/transaction.ts';
import type { PreparedBatch, ShapeStorage } from '../storage.ts';
import type { TableStoreProblem } from './load-tables.ts';
import { TableStore } from './table-store.ts';

export interface RowStoreRestoreOptions {
  readonly keyColumns: Readonly<Record<string, readonly string[]>>;
  /** Tables whose damage an operator acknowledged (`restore --accept-table-damage`): their kept rows are trusted again. */
  readonly acceptTableDamage?: readonly string[];
  /** Predict only (a dry run, `doctor`): the same findings, nothing on disk changes. */
  readonly readOnly?: boolean;
}

export interface RowStoreRestore {
  readonly rows: TableStore;
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
  const rows = await TableStore.open(storage.tables, { keyColumns: options.keyColumns, readOnly });
  let inDoubt = await storage.readInDoubtBatch({
    repair: !readOnly,
    onDamage: (d) => problems.push({ file: d.file, reason: d.reason, action: d.torn ? 'repaired' : 'kept' }),
  });
  if (inDoubt) {
    const prepared = Math.max(inDoubt.position, ...inDoubt.transactions.map((t) => xidOf(t) ?? 0));
    if (rows.position > prepared) {
      problems.push({
        file: `${storage.description}: journal`,
        reason: `stale prepare: the journal ends with the prepare of transactions up to ${prepared}, but the row store holds transactions up to ${rows.position} (the journal lost later records): nothing undone`,
        action: 'kept',
      });
      inDoubt = null;
    }
  }
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
