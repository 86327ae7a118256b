import { fromPromise } from 'xstate';
import { CountedLinkSet } from '../live/counted-link-set.ts';
import { readShapeFiles, type ShapeFileCheck } from '../restore/check-shape-files.ts';
import { mapConcurrently } from '../restore/map-concurrently.ts';
import type { ShapeStorage, StoredShape } from '../storage/storage.ts';

/** A shape of a chunk; one others depend on comes with its link columns (its values are read too). */
export interface ChunkShape {
  readonly stored: StoredShape;
  readonly linkColumns: readonly string[] | null;
}

export interface CheckedChunk {
  /** Damage (the shape goes, restore's reason) and torn log tails (cut back). */
  readonly findings: readonly ShapeFileCheck[];
  /** Every shape read. */
  readonly read: readonly string[];
  /** The current link values of the sound shapes others depend on (for the where-clause index). */
  readonly links: readonly { readonly handle: string; readonly values: readonly string[] }[];
}

/**
 * `running.checkingStorage`: one chunk of the check after restore (the shapes' own files, which
 * restore took on trust from the metadata log). Runs only while no other request is under way,
 * so a torn log tail it finds is cut back with nothing appending meanwhile.
 */
export const checkStorageActor = fromPromise<CheckedChunk, { storage: ShapeStorage; shapes: readonly ChunkShape[] }>(async ({ input }) => {
  const results = await mapConcurrently(input.shapes, 64, async (shape) => ({ shape, ...(await readShapeFiles(input.storage, shape.stored, { repair: true })) }));
  const findings: ShapeFileCheck[] = [];
  const links: { handle: string; values: string[] }[] = [];
  for (const { shape, check, entries } of results) {
    if (check.removal || check.tornLog) findings.push(check);
    if (shape.linkColumns && entries && !check.removal) {
      const values = new CountedLinkSet(shape.linkColumns);
      values.apply(entries);
      links.push({ handle: shape.stored.handle, values: [...values.values()] });
    }
  }
  return { findings, read: input.shapes.map((s) => s.stored.handle), links };
});
