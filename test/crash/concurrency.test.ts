/**
 * Concurrency (issue 6, item 3):
 * - requests (add, remove, transactions, checkpoint) sent while the restore is
 *   still running are queued and handled once `running` is reached, in order,
 *   none lost; a remove of a shape that is still being restored (not spawned
 *   yet) or that a queued add is about to depend on is handled with cascade;
 * - two processes on one data dir: the second gets a clear `locked` error and
 *   the store stays intact; a lock left by a SIGKILLed process is taken over.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RuntimeEmitted } from '../../src/machines/runtime.types.ts';
import { createShapeRuntime, startRuntimeActor } from '../../src/runtime/index.ts';
import { openFileStorage } from '../../src/storage/file-store.ts';
import { StorageError } from '../../src/storage/storage.ts';
import { buildGraphDataDir, type GraphNode } from '../helpers/shape-graph.ts';
import { checkAfterCrash, emptyModel, parseAcks } from '../helpers/crash-check.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { removeDriverBundle, startChild } from './kill-harness.ts';


const tempDir = useTempDirs();
afterAll(removeDriverBundle);

/** A data dir big enough that its restore takes a while: 120 shapes, chains of subqueries. */
async function slowToRestore(): Promise<{ dir: string; handleOf: readonly string[]; deps: Map<string, readonly string[]> }> {
  const nodes: GraphNode[] = [];
  for (let i = 0; i < 120; i++) nodes.push({ deps: i % 4 === 0 ? [] : [i - 1], requested: true, logEntries: 1 });
  const dir = join(await tempDir(), 'd');
  const built = await buildGraphDataDir(dir, { nodes }, { backupAfter: 'end' });
  return { dir, handleOf: built.handleOf, deps: new Map(built.shapes.map((s) => [s.handle, s.stored.dependencyHandles])) };
}

type Response = { requestId: string; type: string; detail: unknown };

describe('requests that arrive while restore is still running', () => {
  it('are queued and handled in order once running, none lost, removals of restoring shapes cascade', async () => {
    const { dir, handleOf, deps } = await slowToRestore();
    const storage = await openFileStorage(dir);
    const { actor, done } = startRuntimeActor(storage, {});
    const responses: Response[] = [];
    actor.on('*', (event: RuntimeEmitted) => {
      if ('requestId' in event && event.requestId) responses.push({ requestId: event.requestId, type: event.type, detail: event });
    });
    const sentIn: string[] = [];
    const send = (event: Parameters<typeof actor.send>[0]): void => {
      sentIn.push(JSON.stringify(actor.getSnapshot().value));
      actor.send(event);
    };
    const xTable = 'public.x';
    // All sent synchronously, right after start: the restore is still loading.
    send({ type: 'SHAPE.ADD_REQUESTED', requestId: 'add-x', definition: { table: xTable, where: 'id IN (SELECT c FROM public.t0 WHERE k = 0)' } });
    send({ type: 'TRANSACTION.RECEIVED', requestId: 'tx-1', transaction: { xid: 1, changes: [{ op: 'insert', table: xTable, row: { id: 1 } }, { op: 'insert', table: 'public.t0', row: { id: 'a', k: 0, c: 1 } }] } });
    // A shape still being restored (spawned later, a chain of dependents behind it).
    send({ type: 'SHAPE.REMOVE_REQUESTED', requestId: 'rm-5', handle: handleOf[5]! });
    // The dependency the queued add above is about to use: its removal cascades to the added shape.
    send({ type: 'SHAPE.REMOVE_REQUESTED', requestId: 'rm-0', handle: handleOf[0]! });
    send({ type: 'SHAPE.REMOVE_REQUESTED', requestId: 'rm-5-again', handle: handleOf[5]! });
    send({ type: 'TRANSACTION.RECEIVED', requestId: 'tx-2', transaction: { xid: 2, changes: [{ op: 'insert', table: xTable, row: { id: 2 } }] } });
    send({ type: 'CHECKPOINT.REQUESTED', requestId: 'cp' });
    send({ type: 'SHUTDOWN.REQUESTED', requestId: 'stop' });
    expect(sentIn.every((v) => !v.includes('running')), `sent in ${sentIn.join(', ')}`).toBe(true);

    const output = await done;
    await storage.close();
    expect(output.status).toBe('stopped');
    // One response per request, in the order sent.
    expect(responses.map((r) => r.requestId)).toEqual(['add-x', 'tx-1', 'rm-5', 'rm-0', 'rm-5-again', 'tx-2', 'cp', 'stop']);
    const by = new Map(responses.map((r) => [r.requestId, r]));
    const added = by.get('add-x')!.detail as Extract<RuntimeEmitted, { type: 'SHAPE.ADDED' }>;
    expect(added.type).toBe('SHAPE.ADDED');
    expect(added.dependencyHandles).toEqual([handleOf[0]]);
    expect(by.get('tx-1')!.type).toBe('TRANSACTION.APPLIED');
    const rm5 = (by.get('rm-5')!.detail as Extract<RuntimeEmitted, { type: 'SHAPE.REMOVED' }>).removals.map((r) => r.handle);
    // The chain behind node 5 (nodes 6, 7 depend on it in turn).
    expect(new Set(rm5)).toEqual(new Set([handleOf[5], handleOf[6], handleOf[7]]));
    const rm0 = (by.get('rm-0')!.detail as Extract<RuntimeEmitted, { type: 'SHAPE.REMOVED' }>).removals;
    expect(rm0.map((r) => r.handle)).toContain(added.handle);
    expect(rm0.find((r) => r.handle === added.handle)!.reason).toBe('dependency-removed');
    expect(by.get('rm-5-again')!.type).toBe('REQUEST.FAILED');
    expect(by.get('tx-2')!.type).toBe('TRANSACTION.APPLIED');
    expect(by.get('cp')!.type).toBe('CHECKPOINT.WRITTEN');

    // After a restart: exactly those removed, nothing dangles.
    const again = await createShapeRuntime({ dataDir: dir });
    const removed = new Set([...rm5, ...rm0.map((r) => r.handle)]);
    const loaded = new Set(again.report.loaded);
    for (const h of deps.keys()) expect(loaded.has(h), h).toBe(!removed.has(h));
    expect(loaded.has(added.handle)).toBe(false);
    for (const s of again.list()) for (const d of s.dependencyHandles) expect(loaded.has(d)).toBe(true);
    expect(again.report.removed).toEqual([]);
    expect(again.position()).toBe(2);
    await again.shutdown();
  }, 60_000);

  it('a remove of the shape an add is creating, queued behind it: the new shape goes with its dependency shapes kept', async () => {
    const dir = await tempDir();
    const storage = await openFileStorage(dir, { create: true });
    const { actor, done } = startRuntimeActor(storage, {});
    const responses: RuntimeEmitted[] = [];
    actor.on('*', (event: RuntimeEmitted) => void responses.push(event));
    actor.send({ type: 'SHAPE.ADD_REQUESTED', requestId: 'a', definition: { table: 'public.users', where: 'id IN (SELECT user_id FROM public.m WHERE org = 1)' } });
    // The handle is only known once the add is through: the remove is sent the moment it is announced.
    await new Promise<void>((resolve) => {
      const sub = actor.on('SHAPE.ADDED', (event) => {
        sub.unsubscribe();
        actor.send({ type: 'SHAPE.REMOVE_REQUESTED', requestId: 'r', handle: event.handle });
        actor.send({ type: 'SHUTDOWN.REQUESTED', requestId: 's' });
        resolve();
      });
    });
    await done;
    await storage.close();
    const removed = responses.find((e): e is Extract<RuntimeEmitted, { type: 'SHAPE.REMOVED' }> => e.type === 'SHAPE.REMOVED')!;
    const added = responses.find((e): e is Extract<RuntimeEmitted, { type: 'SHAPE.ADDED' }> => e.type === 'SHAPE.ADDED')!;
    expect(removed.removals.map((r) => r.handle)).toEqual([added.handle]);
    const again = await createShapeRuntime({ dataDir: dir });
    expect(again.report.loaded).toEqual(added.dependencyHandles);
    await again.shutdown();
  });
});

describe('two processes on one data dir', () => {
  it('the second gets a clear locked error while the first runs; the store is intact; a SIGKILLed owner\'s lock is taken over', async () => {
    const dir = join(await tempDir(), 'shared');
    const acks = `${dir}.acks`;
    const first = await startChild();
    await first.ready;
    first.child.stdin!.write(`${JSON.stringify({ dataDir: dir, acks, seed: 42, ops: 100_000 })}\n`);
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (first.stdout.includes('restored\n')) resolve();
        else setTimeout(check, 10);
      };
      check();
    });
    // Let it work until it has acknowledged a few transactions.
    for (let waited = 0; waited < 30_000; waited += 20) {
      const text = await readFile(acks, 'utf8').catch(() => '');
      if ((text.match(/"op":"apply","xid"/g) ?? []).length >= 3) break;
      await new Promise((r) => setTimeout(r, 20));
    }

    // A second process: refused, with the owner named.
    const second = await startChild();
    await second.ready;
    second.child.stdin!.write(`${JSON.stringify({ dataDir: dir, acks: `${dir}.acks2`, seed: 43, ops: 5 })}\n`);
    const exit = await second.exited;
    expect(exit.code).toBe(3);
    expect(second.stdout).toContain(`data dir is in use by process ${first.child.pid}`);
    // And in this process too.
    const refused = await createShapeRuntime({ dataDir: dir }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StorageError);
    expect((refused as StorageError).code).toBe('locked');

    // The first is killed mid-work: its lock stays behind, naming a dead process.
    first.child.kill('SIGKILL');
    await first.exited;
    const lock = JSON.parse(await readFile(join(dir, 'lock'), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(first.child.pid);
    // Taken over: the restore runs, and everything the first acknowledged is there (the second changed nothing).
    const life = parseAcks(await readFile(acks, 'utf8'));
    expect(life.ackedTxs.length).toBeGreaterThan(0);
    const runtime = await checkAfterCrash(dir, emptyModel(), life, 'after the first process was killed');
    expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8')).pid).toBe(process.pid);
    await runtime.shutdown();
  }, 60_000);
});
