/** A table's follow state: the transitions the source's actors rely on, on plain data (no database). */
import { describe, expect, it } from 'vitest';
import {
  appliesChanges,
  failingCleared,
  isSynced,
  markerReached,
  needsSync,
  readableAt,
  resyncWanted,
  schemaChanged,
  syncApplied,
  UNPUBLISHED,
  type TableFollow,
} from '../../../src/sources/postgres/table-follow.ts';

const columns = [{ name: 'id', typeOid: 23, typeMod: -1 }];
const info = { table: 'public.items', oid: 17141, replicaIdentity: 'f' as const, keyColumns: ['id'], columns, columnTypes: { id: 'integer' }, types: { id: { type: 'int4' } } };
const syncing: TableFollow = { state: 'syncing', marker: 'sync:public.items:1', info };

describe('table follow state', () => {
  it('changes are applied only from the sync marker on', () => {
    expect(appliesChanges(UNPUBLISHED)).toBe(false);
    expect(appliesChanges({ state: 'early' })).toBe(false);
    expect(appliesChanges(syncing)).toBe(false);
    expect(appliesChanges(markerReached(syncing, 'sync:public.items:1', 500))).toBe(true);
    expect(appliesChanges(schemaChanged(['h']))).toBe(false);
    expect(appliesChanges({ state: 'unfollowable', reason: 'gone' })).toBe(false);
  });

  it('at its own marker the table is followed from that position, with the schema it was marked with; another marker changes nothing', () => {
    expect(markerReached(syncing, 'sync:public.items:other', 500)).toBe(syncing);
    const synced = markerReached(syncing, 'sync:public.items:1', 500);
    expect(synced).toEqual({ state: 'synced', baseline: { oid: 17141, keyColumns: ['id'], columns }, since: 500, applied: false });
  });

  it('its waiters wait until the runtime resynced its shapes; its rows are read only as of a position from the marker on', () => {
    const synced = markerReached(syncing, 'sync:public.items:1', 500);
    expect(isSynced(synced)).toBe(false);
    expect(isSynced(syncApplied(synced))).toBe(true);
    expect(readableAt(synced, 499)).toBe(false);
    expect(readableAt(synced, 500)).toBe(true);
    expect(readableAt(syncing, 10_000)).toBe(false);
  });

  it('a table to read again goes back to early; reconcile syncs what is early, unpublished, or synced but not published', () => {
    const synced: TableFollow = { state: 'synced', baseline: { oid: 1, keyColumns: ['id'], columns }, since: 0, applied: true };
    expect(resyncWanted(synced)).toEqual({ state: 'early' });
    expect(resyncWanted(syncing)).toEqual({ state: 'early' });
    expect(resyncWanted(UNPUBLISHED)).toBe(UNPUBLISHED);
    expect(needsSync(undefined, false)).toBe(true);
    expect(needsSync({ state: 'early' }, true)).toBe(true);
    expect(needsSync(synced, true)).toBe(false);
    expect(needsSync(synced, false)).toBe(true);
    expect(needsSync(syncing, true)).toBe(false);
    expect(needsSync(schemaChanged(['h']), true)).toBe(false);
    expect(needsSync({ state: 'unfollowable', reason: 'gone' }, false)).toBe(false);
  });

  it('a failing table stays failing until none of its shapes is live', () => {
    const failing = schemaChanged(['a', 'b']);
    expect(failingCleared(failing, (h) => h === 'b')).toBe(failing);
    expect(failingCleared(failing, () => false)).toBe(UNPUBLISHED);
  });
});
