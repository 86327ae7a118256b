import { describe, expect, it } from 'vitest';
import { consumerLogic } from '../../src/actors/consumer.actor.ts';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import type { RuntimeEmitted } from '../../src/machines/runtime.types.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';
import { decodeLinkKey } from '../../src/shapes/where/link-key.ts';

/** A consumer that throws on every transaction for the shapes in `failing`. */
function failingFor(failing: Set<string>): typeof consumerLogic {
  return {
    ...consumerLogic,
    transition: (snapshot, event, scope) => {
      if (event.type === 'TRANSACTION.ROUTED' && failing.has(snapshot.context.handle)) throw new Error(`boom in ${snapshot.context.handle}`);
      return consumerLogic.transition(snapshot, event, scope);
    },
  };
}

function collect(runtime: ShapeRuntime): RuntimeEmitted[] {
  const seen: RuntimeEmitted[] = [];
  runtime.actor.on('*', (e: RuntimeEmitted) => seen.push(e));
  return seen;
}

const MEMBERS = "id IN (SELECT user_id FROM public.memberships WHERE org_id = 1)";

async function logKeys(runtime: ShapeRuntime, storage: MemoryStorage, handle: string): Promise<string[]> {
  return (await storage.readLog(handle)).entries.map((e) => `${e.op}:${e.key}`);
}

describe('supervision', () => {
  it('restarts a failing consumer a bounded number of times, then removes its shape with cascade; the rest keeps serving', async () => {
    const failing = new Set<string>();
    const storage = new MemoryStorage();
    const runtime = await createShapeRuntime({ storage, consumerLogic: failingFor(failing), restartIntensity: { maxRestarts: 2, periodMs: 60_000 } });
    const events = collect(runtime);
    const outer = await runtime.add({ table: 'public.users', where: MEMBERS });
    const inner = outer.dependencyHandles[0]!;
    const plain = await runtime.add({ table: 'public.users' });
    failing.add(inner);

    await runtime.applyTransaction({ xid: 1, changes: [{ op: 'insert', table: 'public.memberships', row: { id: 1, user_id: 5, org_id: 1 } }] });
    // the removal is queued ahead of later requests: by the next reply it is done
    await runtime.applyTransaction({ xid: 2, changes: [{ op: 'insert', table: 'public.users', row: { id: 5, name: 'e' } }] });

    const failures = events.filter((e) => e.type === 'ACTOR.FAILED');
    expect(failures.map((e) => e.type === 'ACTOR.FAILED' && e.actorId)).toEqual([`shape:${inner}`, `shape:${inner}`, `shape:${inner}`]);
    const removed = events.find((e) => e.type === 'SHAPE.REMOVED');
    expect(removed?.type === 'SHAPE.REMOVED' && removed.removals).toEqual([
      { handle: inner, reason: 'consumer-failed', cause: null, detail: `boom in ${inner}` },
      { handle: outer.handle, reason: 'dependency-removed', cause: inner },
    ]);
    expect(runtime.list().map((s) => s.handle)).toEqual([plain.handle]);
    expect(await storage.listShapes()).toEqual({ handles: [plain.handle], strays: [] });
    expect(await logKeys(runtime, storage, plain.handle)).toEqual(['insert:[5]']);
    await runtime.shutdown();
  });

  it('never restarts a consumer whose materializer is gone: its shape is removed with the reason', async () => {
    const storage = new MemoryStorage();
    const runtime = await createShapeRuntime({ storage });
    const events = collect(runtime);
    const outer = await runtime.add({ table: 'public.users', where: MEMBERS });
    const inner = outer.dependencyHandles[0]!;
    // Stop the materializer behind the runtime's back, as a bug elsewhere might.
    runtime.actor.getSnapshot().context.shapes.supervisor.stopMaterializer(inner);
    await runtime.applyTransaction({ xid: 1, changes: [{ op: 'insert', table: 'public.users', row: { id: 5 } }] });
    await runtime.checkpoint();
    const removed = events.find((e) => e.type === 'SHAPE.REMOVED');
    expect(removed?.type === 'SHAPE.REMOVED' && removed.removals).toEqual([
      { handle: outer.handle, reason: 'materializer-missing', cause: null, detail: expect.stringContaining(`materializer:${inner}`) },
    ]);
    expect(events.filter((e) => e.type === 'ACTOR.FAILED')).toHaveLength(1);
    expect(runtime.list().map((s) => s.handle)).toEqual([inner]);
    await runtime.shutdown();
  });
});

describe('initial snapshot and link values', () => {
  it('fills a new shape (and its new dependency) from the rows applied before it', async () => {
    const storage = new MemoryStorage();
    const runtime = await createShapeRuntime({ storage });
    await runtime.applyTransaction({
      xid: 1,
      changes: [
        { op: 'insert', table: 'public.memberships', row: { id: 1, user_id: 5, org_id: 1 } },
        { op: 'insert', table: 'public.memberships', row: { id: 2, user_id: 6, org_id: 2 } },
        { op: 'insert', table: 'public.users', row: { id: 5 } },
        { op: 'insert', table: 'public.users', row: { id: 6 } },
      ],
    });
    const outer = await runtime.add({ table: 'public.users', where: MEMBERS });
    expect(await logKeys(runtime, storage, outer.handle)).toEqual(['insert:[5]']);
    expect((await runtime.linkValues(outer.dependencyHandles[0]!)).map(decodeLinkKey)).toEqual([[5]]);
    await expect(runtime.linkValues(outer.handle)).rejects.toMatchObject({ code: 'not-a-dependency' });
    await runtime.shutdown();
  });
});

describe('expiry', () => {
  it('evicts the least recently used shapes past maxShapes, never a dependency before its dependents', async () => {
    const storage = new MemoryStorage();
    const runtime = await createShapeRuntime({ storage, maxShapes: 3 });
    const events = collect(runtime);
    const a = await runtime.add({ table: 'public.a' });
    const outer = await runtime.add({ table: 'public.users', where: MEMBERS }); // + its dependency: 3 shapes
    const inner = outer.dependencyHandles[0]!;
    await runtime.use(a.handle); // a is now more recent than outer and inner
    await runtime.add({ table: 'public.b' }); // 4 > 3: one must go
    await runtime.checkpoint();
    const evicted = events.filter((e) => e.type === 'SHAPE.REMOVED').flatMap((e) => (e.type === 'SHAPE.REMOVED' ? e.removals : []));
    expect(evicted).toEqual([{ handle: outer.handle, reason: 'evicted', cause: null }]);
    expect(runtime.list().map((s) => s.handle)).toContain(inner);
    await runtime.add({ table: 'public.c' }); // inner now has no dependents and is the oldest
    await runtime.checkpoint();
    const second = events.filter((e) => e.type === 'SHAPE.REMOVED').flatMap((e) => (e.type === 'SHAPE.REMOVED' ? e.removals : []));
    expect(second.at(-1)).toEqual({ handle: inner, reason: 'evicted', cause: null });
    expect(runtime.list()).toHaveLength(3);
    await runtime.shutdown();
  });
});
