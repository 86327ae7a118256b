import { fromPromise } from 'xstate';
import { loadFromStorage } from '../restore/load-shapes.ts';
import type { LoadResult } from '../restore/load-result.ts';
import type { ShapeStorage } from '../storage/storage.ts';

/** `loadingShapes`: every stored definition, read and validated. */
export const loadShapesActor = fromPromise<LoadResult, { storage: ShapeStorage; fallbackReason: string | null }>(({ input }) =>
  loadFromStorage(input.storage, input.fallbackReason),
);
