import { fromPromise } from 'xstate';
import { checkShapeFiles, type ShapeFileCheck } from '../restore/check-shape-files.ts';
import type { ShapeStorage, StoredShape } from '../storage/storage.ts';

/**
 * `running.checkingStorage`: one chunk of the check after restore (the shapes' own files, which
 * restore took on trust from the metadata log). Runs only while no other request is under way,
 * so a torn log tail it finds is cut back with nothing appending meanwhile.
 */
export const checkStorageActor = fromPromise<readonly ShapeFileCheck[], { storage: ShapeStorage; shapes: readonly StoredShape[] }>(({ input }) =>
  checkShapeFiles(input.storage, input.shapes, { repair: true }),
);
