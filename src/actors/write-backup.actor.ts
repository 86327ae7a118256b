import { fromPromise } from 'xstate';
import type { ShapeStorage, StoredShape } from '../storage/storage.ts';

/** Checkpoint and clean shutdown: the registry, written atomically as the new backup. */
export const writeBackupActor = fromPromise<number, { storage: ShapeStorage; shapes: readonly StoredShape[]; position: number | null }>(async ({ input }) => {
  await input.storage.writeBackup({ shapes: input.shapes, position: input.position === null ? null : String(input.position) });
  // Every batch is committed (requests are handled one at a time): the journal has nothing left to undo.
  await input.storage.resetJournal();
  return input.shapes.length;
});
