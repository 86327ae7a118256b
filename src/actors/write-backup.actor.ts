import { fromPromise } from 'xstate';
import type { RowStore } from '../storage/rows/row-store.ts';
import type { ShapeStorage, StoredShape } from '../storage/storage.ts';

export interface WriteBackupInput {
  readonly storage: ShapeStorage;
  readonly shapes: readonly StoredShape[];
  /** The row store (null on a dry run): its logs are compacted too, so the next start reads little more than the live rows. */
  readonly rows: RowStore | null;
}

/** Checkpoint and clean shutdown: the registry, written atomically as the new backup; then the row store's logs compacted. */
export const writeBackupActor = fromPromise<number, WriteBackupInput>(async ({ input }) => {
  const position = input.rows?.position ?? null;
  await input.storage.writeBackup({ shapes: input.shapes, position: position === null ? null : String(position) });
  // Every batch is committed (requests are handled one at a time): the journal has nothing left to undo.
  await input.storage.resetJournal();
  await input.rows?.compact('checkpoint');
  return input.shapes.length;
});
