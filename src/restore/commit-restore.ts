import type { Removal } from '../graph/removal.ts';
import type { TableColumnTypes } from '../shapes/column-types.ts';
import { refuseChangedKeyColumns } from '../storage/rows/key-columns-changed-error.ts';
import { restoreRowStore } from '../storage/rows/restore-row-store.ts';
import type { RestorableRowStore, RowStoreOpener } from '../storage/rows/row-store.ts';
import type { ShapeMetadata, ShapeStorage, StrayEntry } from '../storage/storage.ts';
import type { RestoreProblem } from './load-result.ts';
import { mapConcurrently } from './map-concurrently.ts';

export interface CommitRestoreInput {
  readonly storage: ShapeStorage;
  /** Removed shapes that still have storage. */
  readonly deleteHandles: readonly string[];
  readonly strays: readonly StrayEntry[];
  /** Kept shapes whose log ends in a torn line: cut back to the last whole entry. */
  readonly tornLogs: readonly string[];
  /** What to do with the backup file: retire it as used, set it aside as unusable, or nothing (there is none). */
  readonly retireBackup: 'used' | 'unusable' | null;
  /** The kept shapes' records, when the metadata log is to be rewritten (null: it is an exact index already). */
  readonly metadata: readonly ShapeMetadata[] | null;
  /** Declared key columns per table, for the row store. */
  readonly keyColumns: Readonly<Record<string, readonly string[]>>;
  /** Row-store tables whose damage the operator acknowledged. */
  readonly acceptTableDamage: readonly string[];
  /** Opens another row store than the embedded one (a database source's). */
  readonly openRows?: RowStoreOpener | null;
  /** Declared column types per table, for the row store. */
  readonly columnTypes: Readonly<Record<string, TableColumnTypes>>;
}

export interface CommitRestoreOutput {
  readonly rows: RestorableRowStore;
  /** Transactions of a batch a crash interrupted: undone on disk, to be applied again first. */
  readonly redo: readonly unknown[];
  readonly problems: readonly RestoreProblem[];
}

/**
 * Carries out a restore plan on disk before anything is spawned, in this order: deletes the
 * removed shapes' storage, clears leftovers of interrupted creates and deletes, retires the
 * backup (it is used once), rewrites the metadata log when it is not an exact index, cuts torn
 * log tails back, restores the row store (restoreRowStore: the journal's undo/redo decision, the
 * batch undone there, acknowledged damage cleared, logs compacted), undoes that batch in the
 * shape logs. Nothing is spawned (kept shapes wake when needed). A crash at any point
 * leaves a data dir the next restore carries out the same plan on.
 */
export async function commitRestore(input: CommitRestoreInput): Promise<CommitRestoreOutput> {
  const { storage } = input;
  const problems: RestoreProblem[] = [];
  // A caller's key columns that contradict the recorded ones fail the restore before it writes anything.
  if (!input.openRows) await refuseChangedKeyColumns(storage.tables, input.keyColumns);
  await mapConcurrently(input.deleteHandles, 16, (handle) => storage.deleteShape(handle));
  for (const stray of input.strays) if (stray.kind !== 'unknown') await storage.removeStray(stray);
  if (input.retireBackup) await storage.retireBackup(input.retireBackup);
  if (input.metadata) await storage.writeMetadata(input.metadata);
  const deleted = new Set(input.deleteHandles);
  for (const handle of input.tornLogs) if (!deleted.has(handle)) await storage.readLog(handle, { repair: true });
  const { rows, inDoubt, problems: found } = await restoreRowStore(storage, {
    keyColumns: input.keyColumns,
    acceptTableDamage: input.acceptTableDamage,
    columnTypes: input.columnTypes,
    ...(input.openRows ? { open: input.openRows } : {}),
  });
  for (const p of found) problems.push({ handle: null, file: p.file, reason: p.reason, action: p.action });
  if (inDoubt) {
    // Cut every shape log the batch may have touched back to where it began.
    for (const handle of inDoubt.handles) if (!deleted.has(handle)) await storage.rollbackLog(handle, inDoubt.position);
    const again = rows.replayedBySource ? 'to be sent again by the source' : 'applied again';
    problems.push({ handle: null, file: `${storage.description}: journal`, reason: `${inDoubt.transactions.length} transaction(s) interrupted mid-write: undone, ${again}`, action: 'repaired' });
  }
  // A source that sends an undone batch again (a replication slot) applies it anew: nothing to redo here.
  return { rows, redo: rows.replayedBySource ? [] : (inDoubt?.transactions ?? []), problems };
}

export function removedWithStorage(removals: readonly Removal[]): string[] {
  return removals.filter((r) => r.reason !== 'no-storage').map((r) => r.handle);
}
