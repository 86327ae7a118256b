import { fromPromise } from 'xstate';
import { loadFromStorage } from '../restore/load-shapes.ts';
import type { LoadResult } from '../restore/load-result.ts';
import type { ShapeStorage } from '../storage/storage.ts';

/** `loadingShapes`: the stored shapes, from the metadata log and the listing (a dry run reads every shape's files too). */
export const loadShapesActor = fromPromise<LoadResult, { storage: ShapeStorage; fallbackReason: string | null; readEverything: boolean }>(({ input }) =>
  loadFromStorage(input.storage, input.fallbackReason, { readEverything: input.readEverything }),
);
