import { fromPromise } from 'xstate';
import type { Removal } from '../graph/removal.ts';
import type { LogEntry, ShapeStorage, StrayEntry } from '../storage/storage.ts';
import { mapConcurrently } from '../restore/map-concurrently.ts';
import type { RestoreProblem } from '../restore/load-result.ts';
import { TableStore } from '../storage/rows/table-store.ts';
import { xidOf } from '../shapes/transaction.ts';

export interface CommitRestoreInput {
  readonly storage: ShapeStorage;
  /** Removed shapes that still have storage. */
  readonly deleteHandles: readonly string[];
  readonly strays: readonly StrayEntry[];
  /** Kept shapes whose log ends in a torn line: cut back to the last whole entry. */
  readonly tornLogs: readonly string[];
  /** Shapes whose materializer must be rebuilt from their log. */
  readonly materializerHandles: readonly string[];
  /** What to do with the backup file: retire it as used, set it aside as unusable, or nothing (there is none). */
  readonly retireBackup: 'used' | 'unusable' | null;
  /** Declared key columns per table, for the row store. */
  readonly keyColumns: Readonly<Record<string, readonly string[]>>;
}

export interface CommitRestoreOutput {
  readonly materializerLogs: ReadonlyMap<string, readonly LogEntry[]>;
  readonly rows: TableStore;
  /** Transactions of a batch a crash interrupted: undone on disk, to be applied again first. */
  readonly redo: readonly unknown[];
  readonly problems: readonly RestoreProblem[];
}

/**
 * Carries out a restore plan on disk before anything is spawned: deletes the
 * removed shapes' storage, clears leftovers of interrupted creates and
 * deletes, retires the backup (it is used once), cuts torn log tails back,
 * opens the row store, undoes a batch a crash interrupted, compacts the row
 * store's logs that outgrew their rows, and reads the logs the materializers
 * are rebuilt from.
 */
export const commitRestoreActor = fromPromise<CommitRestoreOutput, CommitRestoreInput>(async ({ input }) => {
  const { storage } = input;
  const problems: RestoreProblem[] = [];
  await mapConcurrently(input.deleteHandles, 16, (handle) => storage.deleteShape(handle));
  for (const stray of input.strays) if (stray.kind !== 'unknown') await storage.removeStray(stray);
  if (input.retireBackup) await storage.retireBackup(input.retireBackup);
  const deletedSet = new Set(input.deleteHandles);
  for (const handle of input.tornLogs) if (!deletedSet.has(handle)) await storage.readLog(handle, { repair: true });
  // The row store first: what it holds says whether a batch the journal names is still in doubt.
  const rows = await TableStore.open(storage.tables, { keyColumns: input.keyColumns });
  // A batch prepared but never committed: cut every log it may have touched back to where it began.
  let inDoubt = await storage.readInDoubtBatch({
    repair: true,
    onDamage: (d) => problems.push({ handle: null, file: d.file, reason: d.reason, action: d.repaired ? 'repaired' : 'kept' }),
  });
  // Every batch reaches the row store before its commit: transactions in it beyond the prepared
  // ones mean batches were committed after it, and the journal lost their records (damage, not a
  // crash). Undoing back to that prepare would drop acknowledged transactions: leave it.
  if (inDoubt) {
    const prepared = Math.max(inDoubt.position, ...inDoubt.transactions.map((t) => xidOf(t) ?? 0));
    if (rows.position > prepared) {
      problems.push({
        handle: null,
        file: `${storage.description}: journal`,
        reason: `stale prepare: the journal ends with the prepare of transactions up to ${prepared}, but the row store holds transactions up to ${rows.position} (the journal lost later records): nothing undone`,
        action: 'kept',
      });
      inDoubt = null;
    }
  }
  if (inDoubt) {
    await rows.rollback(inDoubt.position);
    for (const handle of inDoubt.handles) if (!deletedSet.has(handle)) await storage.rollbackLog(handle, inDoubt.position);
    problems.push({
      handle: null,
      file: `${storage.description}: journal`,
      reason: `${inDoubt.transactions.length} transaction(s) interrupted mid-write: undone, applied again`,
      action: 'repaired',
    });
  }
  for (const p of rows.problems) problems.push({ handle: null, file: p.file, reason: p.reason, action: p.action });
  // Nothing is in doubt in the row store now: logs that outgrew their rows are folded before the start reads them again.
  await rows.compact();
  const logs = await mapConcurrently(input.materializerHandles, 32, async (handle) => [handle, (await storage.readLog(handle)).entries] as const);
  return { materializerLogs: new Map(logs), rows, redo: inDoubt?.transactions ?? [], problems };
});

export function removedWithStorage(removals: readonly Removal[]): string[] {
  return removals.filter((r) => r.reason !== 'no-storage').map((r) => r.handle);
}
