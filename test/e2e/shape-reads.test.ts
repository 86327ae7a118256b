import { describe, expect, it } from 'vitest';
import { createShapeRuntime, ShapeRuntimeError, type ShapeRuntime } from '../../src/runtime/index.ts';
import { BEFORE_ALL, formatLogOffset, parseLogOffset, SNAPSHOT_END } from '../../src/shapes/log-offset.ts';
import { MemoryStorage, openFileStorage, type LogPage, type ShapeStorage } from '../../src/storage/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const MEMBERS = 'id IN (SELECT user_id FROM public.memberships WHERE org_id = 1)';
const at = (text: string) => parseLogOffset(text)!;
const offsets = (page: LogPage) => page.entries.map((e) => formatLogOffset(e.offset));

async function seeded(where: { storage: ShapeStorage } | { dataDir: string } = { storage: new MemoryStorage() }): Promise<ShapeRuntime> {
  const runtime = await createShapeRuntime(where);
  await runtime.applyTransaction({
    xid: 1,
    changes: [
      { op: 'insert', table: 'public.users', row: { id: 1, name: 'ann', admin: true } },
      { op: 'insert', table: 'public.users', row: { id: 2, name: 'bob', admin: false } },
      { op: 'insert', table: 'public.memberships', row: { id: 10, user_id: 1, org_id: 1 } },
    ],
  });
  return runtime;
}

describe('runtime reads', () => {
  it('serves a shape from any offset: the snapshot as 0_<k>, then <xid>_<k>, only what is durable', async () => {
    const runtime = await seeded();
    const { handle } = await runtime.add({ table: 'public.users', where: MEMBERS });
    const { reads } = runtime;
    expect(await reads.handleFor({ table: 'users', where: MEMBERS })).toBe(handle);
    expect(reads.shape(handle)).toMatchObject({ handle, keyColumns: ['id'], definition: { table: 'public.users' } });
    const snapshot = await reads.readLogPage(handle, { after: BEFORE_ALL });
    expect(offsets(snapshot)).toEqual(['0_0']);
    expect(snapshot).toMatchObject({ next: SNAPSHOT_END, snapshotEnded: true });
    expect(await reads.lastOffset(handle)).toEqual(SNAPSHOT_END);
    const handedOut = await reads.lastOffset(handle); // (from the reads' cache)
    expect(handedOut).toEqual(SNAPSHOT_END);

    // A move-in (bob joins) and a plain update, in one transaction; then a move-out.
    await runtime.applyTransaction({ xid: 5, changes: [{ op: 'insert', table: 'public.memberships', row: { id: 11, user_id: 2, org_id: 1 } }, { op: 'update', table: 'public.users', row: { id: 1, name: 'anne' } }] });
    await runtime.applyTransaction({ xid: 8, changes: [{ op: 'delete', table: 'public.memberships', row: { id: 10 } }] });
    const log = await reads.readLogPage(handle, { after: SNAPSHOT_END });
    expect(offsets(log)).toEqual(['5_0', '5_1', '8_0']);
    expect(log.entries.map((e) => [e.entry.op, e.entry.key])).toEqual([
      ['update', '[1]'],
      ['insert', '[2]'],
      ['delete', '[1]'],
    ]);
    expect(await reads.lastOffset(handle)).toEqual(at('8_0'));
    // (the reads keep each shape's end in an object they update in place: what they handed out stays as it was)
    expect(handedOut).toEqual(SNAPSHOT_END);
    expect(reads.position()).toBe(8);
    expect([...(await reads.currentRows(handle))]).toEqual([['[2]', { id: 2, name: 'bob', admin: false }]]);
    await runtime.shutdown();
  });

  it('wakes a live wait as soon as the batch is durable, once per batch; times out; aborts', async () => {
    const runtime = await seeded();
    const { handle } = await runtime.add({ table: 'public.users' });
    const { reads } = runtime;
    const end = await reads.lastOffset(handle);
    expect(await reads.waitForEntries(handle, end, { timeoutMs: 20 })).toEqual({ status: 'timeout' });
    const controller = new AbortController();
    const aborted = reads.waitForEntries(handle, end, { signal: controller.signal });
    controller.abort();
    expect(await aborted).toEqual({ status: 'aborted' });

    const waits = Array.from({ length: 50 }, () => reads.waitForEntries(handle, end, { timeoutMs: 10_000 }));
    await runtime.applyTransaction({ xid: 2, changes: [{ op: 'insert', table: 'public.users', row: { id: 3, name: 'cy' } }] });
    for (const wait of await Promise.all(waits)) expect(wait).toEqual({ status: 'entries', last: at('2_0') });
    // Already past: resolves at once.
    expect(await reads.waitForEntries(handle, SNAPSHOT_END, { timeoutMs: 10_000 })).toEqual({ status: 'entries', last: at('2_0') });
    await runtime.shutdown();
  });

  it('follows a shape with an async iterator, from the snapshot on', async () => {
    const runtime = await seeded();
    const { handle } = await runtime.add({ table: 'public.users' });
    const controller = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const page of runtime.reads.changes(handle, { signal: controller.signal })) {
        seen.push(...offsets(page));
        if (seen.includes('3_0')) controller.abort();
      }
    })();
    await runtime.applyTransaction({ xid: 2, changes: [{ op: 'update', table: 'public.users', row: { id: 2, name: 'b' } }] });
    await runtime.applyTransaction({ xid: 3, changes: [{ op: 'delete', table: 'public.users', row: { id: 2 } }] });
    await following;
    expect(seen).toEqual(['0_0', '0_1', '2_0', '3_0']);
    await runtime.shutdown();
  });

  it('tells a waiting reader, and any later one, that its shape was removed, why, and what serves the definition now', async () => {
    const runtime = await seeded();
    const outer = await runtime.add({ table: 'public.users', where: MEMBERS });
    const inner = outer.dependencyHandles[0]!;
    const { reads } = runtime;
    const waiting = reads.waitForEntries(outer.handle, await reads.lastOffset(outer.handle), { timeoutMs: 10_000 });
    await runtime.remove(inner);
    const result = await waiting;
    expect(result).toMatchObject({ status: 'removed', removal: { handle: outer.handle, reason: 'dependency-removed', cause: inner, servedBy: null } });
    const again = await runtime.add({ table: 'public.users', where: MEMBERS });
    expect(again.handle).not.toBe(outer.handle);
    expect(reads.removed(outer.handle)).toMatchObject({ reason: 'dependency-removed', servedBy: again.handle, definition: { table: 'public.users' } });
    const error = await reads.readLogPage(outer.handle, { after: BEFORE_ALL }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShapeRuntimeError);
    expect(error).toMatchObject({ code: 'shape-removed', removal: { servedBy: again.handle } });
    expect(await reads.readLogPage('1-1', { after: BEFORE_ALL }).catch((e: unknown) => e)).toMatchObject({ code: 'unknown-shape' });
    await runtime.shutdown();
  });

  it('knows the removals a restore made, with the definitions restore read', async () => {
    const dir = await tempDir();
    const first = await seeded({ dataDir: dir });
    const outer = await first.add({ table: 'public.users', where: MEMBERS });
    await first.shutdown();
    const storage = await openFileStorage(dir);
    await storage.deleteShape(outer.dependencyHandles[0]!);
    await storage.close();
    const second = await createShapeRuntime({ dataDir: dir });
    expect(second.reads.removed(outer.handle)).toMatchObject({ reason: 'dependency-removed', definition: { table: 'public.users', where: MEMBERS }, servedBy: null });
    await second.shutdown();
  });

  it('gives columns with types inferred from the values (embedded) and the key', async () => {
    const runtime = await seeded();
    const all = await runtime.add({ table: 'public.users' });
    const some = await runtime.add({ table: 'public.users', columns: ['name'] });
    expect(await runtime.reads.columns(all.handle)).toEqual([
      { name: 'id', type: 'float8', pkIndex: 0 },
      { name: 'name', type: 'text' },
      { name: 'admin', type: 'bool' },
    ]);
    expect(await runtime.reads.columns(some.handle)).toEqual([
      { name: 'id', type: 'float8', pkIndex: 0 },
      { name: 'name', type: 'text' },
    ]);
    expect(await runtime.reads.tableSchema('public.nothing')).toEqual({ source: 'inferred', exists: true, columns: [{ name: 'id', type: null, pkIndex: 0 }] });
    await runtime.shutdown();
  });

  it('gives declared column types as they were declared (embedded), the undeclared ones by their values', async () => {
    const runtime = await createShapeRuntime({ storage: new MemoryStorage(), columnTypes: { 'public.items': { id: 'int8', price: 'numeric(10,2)', tags: 'text[]', seen: 'timestamptz' } } });
    await runtime.applyTransaction({ xid: 1, changes: [{ op: 'insert', table: 'public.items', row: { id: 1, price: '9.50', tags: ['a'], seen: null, note: 'x' } }] });
    const all = await runtime.add({ table: 'public.items' });
    // price holds a string and id a number: the declared types win over what the values look like.
    expect(await runtime.reads.columns(all.handle)).toEqual([
      { name: 'id', type: 'int8', pkIndex: 0 },
      { name: 'price', type: 'numeric' },
      { name: 'tags', type: 'text', dims: 1 },
      { name: 'seen', type: 'timestamptz' },
      { name: 'note', type: 'text' },
    ]);
    expect((await runtime.reads.tableSchema('public.items')).source).toBe('declared');
    await runtime.shutdown();
  });
});
