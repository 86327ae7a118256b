import { fromPromise } from 'xstate';
import type { ShapeStorage } from '../storage/storage.ts';

/**
 * Deletes removed shapes' storage, in the order given (the cause first): a
 * crash part-way leaves dependents whose dependency is gone, which the next
 * restore removes, so a removal completes itself.
 */
export const deleteShapesActor = fromPromise<void, { storage: ShapeStorage; handles: readonly string[] }>(async ({ input }) => {
  for (const handle of input.handles) await input.storage.deleteShape(handle);
});
