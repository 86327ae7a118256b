/**
 * The supervisor finds an awake shape's actors through the record the router hands it (the
 * record holds them while the shape is awake: no lookup by handle per delivery). What the record
 * holds is a cache: never another supervisor's, never actors that stopped, and a sleeping shape's
 * record keeps none of its dead actors.
 */
import { createActor, setup } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { ShapeSupervisor, type SupervisedShape } from '../../../src/actors/shape-supervisor.ts';
import type { ConsumerDelivery, ConsumerEvent } from '../../../src/live/shape-actors-port.ts';

const roots: { stop(): void }[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) root.stop();
});

const HANDLE = '1234567890-1700000000000000';

/** A supervisor under a root of its own (one actor system each: a shape's systemId once per system). */
function supervisor(): ShapeSupervisor {
  const root = createActor(setup({}).createMachine({})).start();
  roots.push(root);
  return new ShapeSupervisor(root);
}

function wake(s: ShapeSupervisor, lastXid = 0): void {
  s.spawnConsumer({ handle: HANDLE, keyColumns: ['id'], replica: 'default', lastXid }, []);
}

/** One insert of row `id` in transaction `xid` (every row matches: the shape has no where clause). */
function insert(xid: number, id: string): ConsumerEvent {
  const row = { id };
  return { type: 'TRANSACTION.ROUTED', xid, changes: [{ key: `["${id}"]`, row, oldRow: null }], candidates: [], links: [] };
}

const entriesOf = (delivery: ConsumerDelivery | null): number => {
  if (delivery === null) throw new Error('the shape is asleep');
  if (!delivery.ok) throw new Error(String(delivery.error));
  return delivery.entries.length;
};

describe('ShapeSupervisor: actors reached through the record', () => {
  it('keeps an awake shape\'s actors on its record and forgets them when they stop', () => {
    const s = supervisor();
    wake(s);
    const record: SupervisedShape = { handle: HANDLE, supervised: null };
    expect(entriesOf(s.deliverToConsumer(record, insert(1, 'a')))).toBe(1);
    expect(record.supervised).not.toBeNull();
    // Through the record again: the same actors (the transaction it took is not taken twice).
    expect(entriesOf(s.deliverToConsumer(record, insert(1, 'a')))).toBe(0);
    s.stop(HANDLE);
    expect(record.supervised).toBeNull();
    expect(s.deliverToConsumer(record, insert(2, 'b'))).toBeNull();
  });

  it('never delivers to actors that stopped, even when a record still holds them', () => {
    const s = supervisor();
    wake(s);
    const first: SupervisedShape = { handle: HANDLE, supervised: null };
    expect(entriesOf(s.deliverToConsumer(first, insert(5, 'a')))).toBe(1);
    const stale: SupervisedShape = { handle: HANDLE, supervised: first.supervised };
    s.stop(HANDLE);
    // Woken again from where its log ends (xid 1 here): the old actors took xid 5, the new ones did not.
    wake(s, 1);
    expect(entriesOf(s.deliverToConsumer(stale, insert(3, 'b')))).toBe(1);
    expect(stale.supervised).not.toBe(first.supervised);
  });

  it('never uses another supervisor\'s actors held by the record', () => {
    const a = supervisor();
    const b = supervisor();
    wake(a);
    wake(b);
    const record: SupervisedShape = { handle: HANDLE, supervised: null };
    expect(entriesOf(a.deliverToConsumer(record, insert(4, 'a')))).toBe(1);
    // b's consumer has not taken xid 4: through a's actors it would answer that it had.
    expect(entriesOf(b.deliverToConsumer(record, insert(4, 'a')))).toBe(1);
    a.stopAll([]);
    b.stopAll([]);
  });

  it('answers null for a shape that is not awake, and the record holds nothing', () => {
    const s = supervisor();
    const record: SupervisedShape = { handle: HANDLE, supervised: null };
    expect(s.deliverToConsumer(record, insert(1, 'a'))).toBeNull();
    expect(record.supervised).toBeNull();
  });
});
