/**
 * A table's follow state: the transitions the source's actors rely on, on
 * plain data (no database). The held changes are real captured messages.
 */
import { describe, expect, it } from 'vitest';
import {
  changeArrived,
  failingCleared,
  heldFor,
  isSynced,
  needsSync,
  resyncWanted,
  schemaChanged,
  syncApplied,
  syncCompleted,
  syncFailed,
  UNPUBLISHED,
  type HeldChange,
  type SyncAttempt,
  type TableFollow,
} from '../../../src/sources/postgres/table-follow.ts';
import { PgSnapshot } from '../../../src/sources/postgres/snapshot.ts';
import type { StreamMessage } from '../../../src/sources/postgres/stream.ts';
import { stepMessages } from '../../fixtures/pgoutput/stream-fixture.ts';

const insert: HeldChange = { pgXid: 3265, message: stepMessages('insert (full identity').find((m) => m.tag === 'insert') as StreamMessage };
const baseline = { oid: 17141, keyColumns: ['id'], columns: [{ name: 'id', typeOid: 23, typeMod: -1 }] };
const info = { table: 'public.items', oid: 17141, replicaIdentity: 'f' as const, keyColumns: ['id'], columns: baseline.columns, columnTypes: { id: 'integer' } };

function attempt(held: HeldChange[] = []): SyncAttempt {
  return { marker: 'sync:public.items:1', keyColumns: ['id'], held, read: null, ready: Promise.resolve(), settle: () => undefined, failed: null };
}

describe('table follow state', () => {
  it('a change is applied only once the table is synced; before, it is held for the sync; failing or unfollowable tables drop it', () => {
    expect(changeArrived({ state: 'synced', baseline, applied: true }, insert).action).toBe('apply');
    const early = changeArrived(UNPUBLISHED, insert);
    expect(early).toMatchObject({ action: 'hold', next: { state: 'early', held: [insert] } });
    const sync = attempt();
    expect(changeArrived({ state: 'syncing', sync }, insert).action).toBe('hold');
    expect(sync.held).toEqual([insert]);
    expect(changeArrived(schemaChanged(['h1']), insert).action).toBe('drop');
    expect(changeArrived({ state: 'unfollowable', reason: 'no key' }, insert).action).toBe('drop');
  });

  it('a sync takes the changes held while the table was early, and gives them back when it fails', () => {
    const early: TableFollow = { state: 'early', held: [insert] };
    const sync = attempt(heldFor(early));
    expect(sync.held).toEqual([insert]);
    expect(syncFailed({ state: 'syncing', sync }, sync)).toEqual({ state: 'early', held: [insert] });
    // A failure of an attempt that is no longer the table's changes nothing.
    expect(syncFailed({ state: 'syncing', sync: attempt() }, sync).state).toBe('syncing');
  });

  it('at the marker the table is synced with the schema it was read with; its waiters wait until the runtime applied the sync', () => {
    const sync = attempt();
    expect(syncCompleted({ state: 'syncing', sync }, sync)).toEqual({ state: 'syncing', sync }); // not read yet
    sync.read = { snapshot: PgSnapshot.parse('10:12:'), rows: new Map(), info };
    const synced = syncCompleted({ state: 'syncing', sync }, sync);
    expect(synced).toEqual({ state: 'synced', baseline, applied: false });
    expect(isSynced(synced)).toBe(false);
    expect(isSynced(syncApplied(synced))).toBe(true);
  });

  it('a table to read again goes back to early; reconcile syncs what is early, unpublished, or synced but not published', () => {
    const synced: TableFollow = { state: 'synced', baseline, applied: true };
    expect(resyncWanted(synced)).toEqual({ state: 'early', held: [] });
    expect(resyncWanted(UNPUBLISHED)).toBe(UNPUBLISHED);
    expect(needsSync(undefined, false)).toBe(true);
    expect(needsSync({ state: 'early', held: [] }, true)).toBe(true);
    expect(needsSync(synced, true)).toBe(false);
    expect(needsSync(synced, false)).toBe(true);
    expect(needsSync({ state: 'syncing', sync: attempt() }, true)).toBe(false);
    expect(needsSync(schemaChanged(['h']), true)).toBe(false);
    expect(needsSync({ state: 'unfollowable', reason: 'gone' }, false)).toBe(false);
  });

  it('a failing table stays failing until none of its shapes is live', () => {
    const failing = schemaChanged(['a', 'b']);
    expect(failingCleared(failing, (h) => h === 'b')).toBe(failing);
    expect(failingCleared(failing, () => false)).toBe(UNPUBLISHED);
  });
});
