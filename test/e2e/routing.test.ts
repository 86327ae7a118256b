/**
 * Routing through the where-clause index (issue 12), through the public API:
 * a change reaches a consumer only when it may affect its shape; an update
 * that moves a row out of a shape still reaches it; a removed shape never
 * receives a change again; subquery shapes follow their dependency's values
 * as they move, inside the transaction.
 */
import { describe, expect, it } from 'vitest';
import { consumerLogic } from '../../src/actors/consumer.actor.ts';
import type { ConsumerEvent } from '../../src/live/shape-actors-port.ts';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';

/** The real consumer, recording every event it is handed, by shape handle. */
function recordingConsumer(seen: Map<string, ConsumerEvent[]>): typeof consumerLogic {
  return {
    ...consumerLogic,
    transition: (snapshot, event, scope) => {
      if (event.type === 'TRANSACTION.ROUTED') {
        const list = seen.get(snapshot.context.handle) ?? [];
        seen.set(snapshot.context.handle, list);
        list.push(event);
      }
      return consumerLogic.transition(snapshot, event, scope);
    },
  };
}

async function started(): Promise<{ runtime: ShapeRuntime; storage: MemoryStorage; seen: Map<string, ConsumerEvent[]> }> {
  const storage = new MemoryStorage();
  const seen = new Map<string, ConsumerEvent[]>();
  const runtime = await createShapeRuntime({ storage, consumerLogic: recordingConsumer(seen) });
  return { runtime, storage, seen };
}

async function logOf(storage: MemoryStorage, handle: string): Promise<string[]> {
  return (await storage.readLog(handle)).entries.map((e) => `${e.xid}:${e.op}:${e.key}`);
}

/** The shapes (of `among`, or all) whose consumer was handed transaction `xid`. */
const reachedBy = (seen: Map<string, ConsumerEvent[]>, xid: number, among?: readonly string[]): string[] =>
  [...seen].filter(([handle, events]) => (!among || among.includes(handle)) && events.some((e) => e.xid === xid)).map(([handle]) => handle).sort();

describe('routing through the where-clause index', () => {
  it('delivers a change only to the shapes its row matches, among many on the table', async () => {
    const { runtime, storage, seen } = await started();
    const handles: string[] = [];
    for (let k = 0; k < 60; k++) handles.push((await runtime.add({ table: 'public.items', where: `user_id = ${k}` })).handle);
    const like = (await runtime.add({ table: 'public.items', where: "title LIKE 'a%'" })).handle;
    const all = (await runtime.add({ table: 'public.items' })).handle;
    const other = (await runtime.add({ table: 'public.other', where: 'user_id = 7' })).handle;

    await runtime.applyTransaction({ xid: 1, changes: [{ op: 'insert', table: 'public.items', row: { id: 1, user_id: 7, title: 'b' } }] });
    expect(reachedBy(seen, 1)).toEqual([handles[7]!, all].sort());
    await runtime.applyTransaction({ xid: 2, changes: [{ op: 'insert', table: 'public.items', row: { id: 2, user_id: 7, title: 'ab' } }] });
    // The LIKE shape is checked, not delivered blindly.
    expect(reachedBy(seen, 2)).toEqual([handles[7]!, like, all].sort());
    expect(await logOf(storage, handles[7]!)).toEqual(['1:insert:[1]', '2:insert:[2]']);
    // Without declared types the text '7.0' is not the number 7: for the evaluator, so for the index too.
    await runtime.applyTransaction({ xid: 3, changes: [{ op: 'insert', table: 'public.items', row: { id: 3, user_id: '7.0', title: 'c' } }] });
    expect(reachedBy(seen, 3)).toEqual([all]);
    expect(await logOf(storage, other)).toEqual([]);
    await runtime.shutdown();
  });

  it('an update that moves a row out of a shape still reaches it (old and new row are both looked up)', async () => {
    const { runtime, storage, seen } = await started();
    const five = (await runtime.add({ table: 'public.items', where: 'user_id = 5' })).handle;
    const six = (await runtime.add({ table: 'public.items', where: 'user_id IN (6, 60)' })).handle;
    await runtime.add({ table: 'public.items', where: 'user_id = 9' });
    await runtime.applyTransaction({ xid: 1, changes: [{ op: 'insert', table: 'public.items', row: { id: 1, user_id: 5 } }] });
    // A partial update: the row store supplies the old row.
    await runtime.applyTransaction({ xid: 2, changes: [{ op: 'update', table: 'public.items', row: { id: 1, user_id: 6 } }] });
    expect(reachedBy(seen, 2)).toEqual([five, six].sort());
    expect(await logOf(storage, five)).toEqual(['1:insert:[1]', '2:delete:[1]']);
    expect(await logOf(storage, six)).toEqual(['2:insert:[1]']);
    await runtime.applyTransaction({ xid: 3, changes: [{ op: 'delete', table: 'public.items', row: { id: 1 } }] });
    expect(reachedBy(seen, 3)).toEqual([six]);
    expect(await logOf(storage, six)).toEqual(['2:insert:[1]', '3:delete:[1]']);
    await runtime.shutdown();
  });

  it('a removed shape never receives a change again; the same definition added anew does, under its new handle', async () => {
    const { runtime, seen } = await started();
    const first = (await runtime.add({ table: 'public.items', where: 'user_id = 3' })).handle;
    const keep = (await runtime.add({ table: 'public.items', where: 'user_id = 3 OR user_id = 4' })).handle;
    await runtime.applyTransaction({ xid: 1, changes: [{ op: 'insert', table: 'public.items', row: { id: 1, user_id: 3 } }] });
    expect(reachedBy(seen, 1)).toEqual([first, keep].sort());
    await runtime.remove(first);
    await runtime.applyTransaction({ xid: 2, changes: [{ op: 'insert', table: 'public.items', row: { id: 2, user_id: 3 } }] });
    expect(reachedBy(seen, 2)).toEqual([keep]);
    const again = (await runtime.add({ table: 'public.items', where: 'user_id = 3' })).handle;
    expect(again).not.toBe(first);
    await runtime.applyTransaction({ xid: 3, changes: [{ op: 'update', table: 'public.items', row: { id: 2, user_id: 3, title: 'x' } }] });
    expect(reachedBy(seen, 3)).toEqual([again, keep].sort());
    expect(seen.get(first)!.map((e) => e.xid)).toEqual([1]);
    await runtime.shutdown();
  });

  it('subquery shapes follow their dependency values inside the transaction; the values travel in the event', async () => {
    const { runtime, storage, seen } = await started();
    const org1 = await runtime.add({ table: 'public.items', where: 'user_id IN (SELECT user_id FROM public.memberships WHERE org_id = 1)' });
    const org2 = await runtime.add({ table: 'public.items', where: 'user_id IN (SELECT user_id FROM public.memberships WHERE org_id = 2)' });
    const items = [org1.handle, org2.handle];
    await runtime.applyTransaction({ xid: 1, changes: [{ op: 'insert', table: 'public.items', row: { id: 1, user_id: 5 } }] });
    expect(reachedBy(seen, 1, items)).toEqual([]);
    // User 5 joins org 1 and gets an item in the same transaction: a move-in and a change, one entry each.
    await runtime.applyTransaction({
      xid: 2,
      changes: [
        { op: 'insert', table: 'public.memberships', row: { id: 10, user_id: 5, org_id: 1 } },
        { op: 'insert', table: 'public.items', row: { id: 2, user_id: 5 } },
      ],
    });
    expect(reachedBy(seen, 2, items)).toEqual([org1.handle]);
    const event = seen.get(org1.handle)!.find((e) => e.xid === 2)!;
    expect(event.links).toHaveLength(1);
    expect(event.links[0]!.after.has(JSON.stringify(['n5e0']))).toBe(true);
    expect(event.links[0]!.before.has(JSON.stringify(['n5e0']))).toBe(false);
    expect(await logOf(storage, org1.handle)).toEqual(['2:insert:[2]', '2:insert:[1]']);
    // The index has the new value: the next item of user 5 reaches org 1's shape only.
    await runtime.applyTransaction({ xid: 3, changes: [{ op: 'insert', table: 'public.items', row: { id: 3, user_id: 5 } }] });
    expect(reachedBy(seen, 3, items)).toEqual([org1.handle]);
    // A move-out: user 5 leaves org 1; its items leave the shape.
    await runtime.applyTransaction({ xid: 4, changes: [{ op: 'delete', table: 'public.memberships', row: { id: 10 } }] });
    expect((await logOf(storage, org1.handle)).filter((e) => e.startsWith('4:')).sort()).toEqual(['4:delete:[1]', '4:delete:[2]', '4:delete:[3]']);
    await runtime.applyTransaction({ xid: 5, changes: [{ op: 'insert', table: 'public.items', row: { id: 4, user_id: 5 } }] });
    expect(reachedBy(seen, 5, items)).toEqual([]);
    expect(await logOf(storage, org2.handle)).toEqual([]);
    await runtime.shutdown();
  });

  it('a transaction whose shapes must wake first, or read the rows a move concerns, reaches every shape after them too', async () => {
    const storage = new MemoryStorage();
    const first = await createShapeRuntime({ storage });
    const org = (await first.add({ table: 'public.memberships', where: 'org_id = 1' })).handle;
    const inOrg = 'user_id IN (SELECT user_id FROM public.memberships WHERE org_id = 1)';
    const members = (await first.add({ table: 'public.items', where: inOrg })).handle;
    const membersTitled = (await first.add({ table: 'public.items', where: `${inOrg} AND title = 'a'` })).handle;
    const two = (await first.add({ table: 'public.items', where: 'user_id = 2' })).handle;
    const three = (await first.add({ table: 'public.items', where: 'user_id = 3' })).handle;
    await first.applyTransaction({ xid: 1, changes: [{ op: 'insert', table: 'public.items', row: { id: 1, user_id: 1, title: 'a' } }] });
    await first.shutdown();
    // Restored, every shape sleeps: each one this transaction reaches wakes (a promise) before it is handed
    // the change, and the subquery shapes also read the rows of user 1 (another) once the membership moved in.
    const seen = new Map<string, ConsumerEvent[]>();
    const runtime = await createShapeRuntime({ storage, consumerLogic: recordingConsumer(seen) });
    expect(runtime.activity().awake).toBe(0);
    await runtime.applyTransaction({
      xid: 2,
      changes: [
        { op: 'insert', table: 'public.items', row: { id: 2, user_id: 2, title: 'b' } },
        { op: 'insert', table: 'public.memberships', row: { id: 10, user_id: 1, org_id: 1 } },
        { op: 'insert', table: 'public.items', row: { id: 3, user_id: 3, title: 'c' } },
      ],
    });
    const ours = [org, members, membersTitled, two, three];
    // (and the subqueries' own dependency shape, which selects user_id of org 1's memberships)
    expect(reachedBy(seen, 2, ours)).toEqual([...ours].sort());
    expect(reachedBy(seen, 2).length).toBe(ours.length + 1);
    expect(await logOf(storage, org)).toEqual(['2:insert:[10]']);
    expect(await logOf(storage, members)).toEqual(['2:insert:[1]']);
    expect(await logOf(storage, membersTitled)).toEqual(['2:insert:[1]']);
    expect(await logOf(storage, two)).toEqual(['2:insert:[2]']);
    expect(await logOf(storage, three)).toEqual(['2:insert:[3]']);
    // Awake now: the same again without a promise anywhere but the move's read.
    await runtime.applyTransaction({
      xid: 3,
      changes: [
        { op: 'delete', table: 'public.memberships', row: { id: 10 } },
        { op: 'insert', table: 'public.items', row: { id: 4, user_id: 3, title: 'd' } },
      ],
    });
    expect(await logOf(storage, members)).toEqual(['2:insert:[1]', '3:delete:[1]']);
    expect(await logOf(storage, membersTitled)).toEqual(['2:insert:[1]', '3:delete:[1]']);
    expect(await logOf(storage, three)).toEqual(['2:insert:[3]', '3:insert:[4]']);
    await runtime.shutdown();
  });
});

describe('the typed entry point for in-process sources', () => {
  it('applies typed transactions together and answers each: applied, skipped at or below the position, rejected whole', async () => {
    const { runtime, storage } = await started();
    const shape = (await runtime.add({ table: 'public.items', where: 'user_id = 1' })).handle;
    const outcomes = await runtime.applyTransactions([
      { xid: 1, changes: [{ op: 'insert', table: 'public.items', row: { id: 1, user_id: 1 } }] },
      { xid: 2, changes: [{ op: 'insert', table: 'public.items', row: { id: 2, user_id: 1 } }, { op: 'insert', table: 'public.items', row: { user_id: 1 } }] },
      { xid: 3, changes: [{ op: 'update', table: 'public.items', row: { id: 1, user_id: 2 } }] },
    ]);
    expect(outcomes.map((o) => `${o.xid}:${o.status}`)).toEqual(['1:applied', '2:rejected', '3:applied']);
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: expect.stringContaining('key column') });
    // Nothing of the rejected transaction is applied; a redelivered one is recognised.
    expect(await logOf(storage, shape)).toEqual(['1:insert:[1]', '3:delete:[1]']);
    expect(await runtime.applyTransactions([{ xid: 3, changes: [{ op: 'insert', table: 'public.items', row: { id: 9, user_id: 1 } }] }])).toEqual([{ xid: 3, status: 'skipped' }]);
    expect(runtime.position()).toBe(3);
    // The single-transaction path still validates what it is given.
    await expect(runtime.applyTransaction({ xid: 4, changes: [] })).rejects.toMatchObject({ code: 'invalid-transaction' });
    await runtime.shutdown();
  });
});
