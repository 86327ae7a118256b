/**
 * The incident (seeds/000_27292370e441fd1b.txt), replayed end to end on a real
 * data dir: nested subquery shapes outer -> mid -> inner plus unrelated shapes,
 * a backup written at clean shutdown, the inner shape's storage gone, restart.
 * Electric restored the outer shapes from the backup and their consumers
 * crash-looped asking a materializer that did not exist. Here both outer
 * levels must be removed before anything is spawned, with reasons and a cause
 * chain back to the inner handle, and no consumer or materializer of a
 * removed shape may ever exist: checked from the actor system's inspection
 * events, not from the runtime's internal state.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { causeChain, type Removal } from '../../src/graph/removal.ts';
import type { RuntimeEmitted } from '../../src/machines/runtime.types.ts';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { actorCreations, checkSpawnOrder, rootStateValues } from '../helpers/restore-invariants.ts';
import { copyDataDir, observeDryRun, observeRestore, type ObservedRuntime } from '../helpers/run-restore.ts';
import { shapeDirs } from '../helpers/shape-graph.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();

const INNER = "name = 'acme'";
const MID = `org_id IN (SELECT id FROM public.orgs WHERE ${INNER})`;
const OUTER = `id IN (SELECT user_id FROM public.memberships WHERE ${MID})`;

interface IncidentDir {
  readonly dir: string;
  readonly outer: string;
  readonly mid: string;
  readonly inner: string;
  /** Unrelated: a plain shape, and a subquery shape with its own (intact) dependency. */
  readonly products: string;
  readonly orders: string;
  readonly customers: string;
}

/**
 * Builds the incident's data dir through the real runtime: shapes added with
 * `add` (dependencies created by it), transactions applied so every log has
 * entries, a checkpoint, then a clean shutdown (which writes the backup).
 * Then the inner shape's storage is deleted, as happened in production.
 */
async function incidentDir(): Promise<IncidentDir> {
  const dir = join(await tempDir(), 'data');
  const runtime = await createShapeRuntime({ dataDir: dir });
  const outer = await runtime.add({ table: 'public.users', where: OUTER });
  const [mid] = outer.dependencyHandles;
  const midShape = runtime.list().find((s) => s.handle === mid)!;
  const inner = midShape.dependencyHandles[0]!;
  expect(outer.created).toEqual([inner, mid, outer.handle]);
  const products = await runtime.add({ table: 'public.products', where: 'price > 10' });
  const orders = await runtime.add({ table: 'public.orders', where: "customer_id IN (SELECT id FROM public.customers WHERE country = 'NZ')" });
  const customers = orders.dependencyHandles[0]!;

  await runtime.applyTransaction({
    xid: 10,
    changes: [
      { op: 'insert', table: 'public.orgs', row: { id: 1, name: 'acme' } },
      { op: 'insert', table: 'public.memberships', row: { id: 1, user_id: 5, org_id: 1 } },
      { op: 'insert', table: 'public.users', row: { id: 5, name: 'eve' } },
      { op: 'insert', table: 'public.products', row: { id: 1, price: 20 } },
      { op: 'insert', table: 'public.customers', row: { id: 3, country: 'NZ' } },
      { op: 'insert', table: 'public.orders', row: { id: 9, customer_id: 3 } },
    ],
  });
  expect(await runtime.checkpoint()).toBe(6);
  await runtime.shutdown();

  const logs = await Promise.all([outer.handle, mid!, inner, products.handle, orders.handle, customers].map((h) => readFile(join(dir, 'shapes', h, 'log.jsonl'), 'utf8')));
  for (const log of logs) expect(log.length).toBeGreaterThan(0);

  // The incident: the dependency shape's storage is gone; the backup still names it.
  await rm(join(dir, 'shapes', inner), { recursive: true });
  return { dir, outer: outer.handle, mid: mid!, inner, products: products.handle, orders: orders.handle, customers };
}

/** Everything the incident test asserts about one restart, from the report, the disk and the inspection events. */
async function checkRestart(d: IncidentDir, run: ObservedRuntime, expectedRemovals: readonly Removal[]): Promise<void> {
  const { report, events } = run;
  const removed = [d.outer, d.mid, d.inner];
  const survivors = [d.products, d.orders, d.customers];

  // Both outer levels removed, with reason and cause, chained back to the inner handle.
  expect(report.removed).toEqual(expectedRemovals);
  const byHandle = new Map(report.removed.map((r) => [r.handle, r]));
  expect(causeChain(d.outer, byHandle)).toEqual([d.outer, d.mid, d.inner]);
  expect(new Set(report.loaded)).toEqual(new Set(survivors));
  // the dependency before its dependent
  expect(report.loaded.indexOf(d.customers)).toBeLessThan(report.loaded.indexOf(d.orders));

  // Their storage is deleted; the unrelated shapes' storage is byte for byte what it was.
  const dirs = await shapeDirs(d.dir);
  for (const h of removed) expect(dirs.has(h), `shapes/${h}`).toBe(false);
  for (const h of survivors) {
    for (const f of ['definition.json', 'log.jsonl']) {
      const path = `shapes/${h}/${f}`;
      expect(run.after.get(path)?.equals(run.before.get(path)!), path).toBe(true);
    }
  }

  // From the inspection events: no consumer or materializer of a removed shape was ever created,
  // every survivor's consumer after its dependencies' materializers, and no event ever went to a removed shape's actor.
  const creations = actorCreations(events);
  for (const c of creations) expect(removed, `${c.systemId} was spawned`).not.toContain(c.handle);
  expect(creations.map((c) => c.systemId)).toEqual(report.spawnOrder);
  expect([...report.spawnOrder].sort()).toEqual([`shape:${d.products}`, `shape:${d.customers}`, `materializer:${d.customers}`, `shape:${d.orders}`].sort());
  const depsOf = (h: string) => (h === d.orders ? [d.customers] : []);
  checkSpawnOrder(events, new Set(survivors), depsOf);
  const removedIds = new Set(removed.flatMap((h) => [`shape:${h}`, `materializer:${h}`]));
  for (const e of events) expect(e.systemId !== null && removedIds.has(e.systemId), `${e.type} for ${e.systemId}`).toBe(false);
  // The cascade stops happened in validatingDependencies, before spawning: the root went straight on to running.
  const values = rootStateValues(events).map((v) => JSON.stringify(v));
  expect(values.indexOf('{"running":"idle"}')).toBeGreaterThan(-1);
  expect(report.phases.map((p) => p.phase)).toEqual(
    report.mode === 'backup'
      ? ['checkingBackup', 'loadingBackup', 'validatingDependencies', 'committingRestore', 'spawning']
      : ['checkingBackup', 'loadingShapes', 'validatingDependencies', 'committingRestore', 'spawning'],
  );

  // No crash loop: the incident's traffic (changes to the removed shapes' tables) reaches no dead
  // materializer; the runtime keeps serving the survivors.
  const emitted: RuntimeEmitted[] = [];
  run.runtime.actor.on('*', (e: RuntimeEmitted) => emitted.push(e));
  await run.runtime.applyTransaction({
    xid: 11,
    changes: [
      { op: 'insert', table: 'public.orgs', row: { id: 2, name: 'acme' } },
      { op: 'insert', table: 'public.memberships', row: { id: 2, user_id: 6, org_id: 2 } },
      { op: 'insert', table: 'public.users', row: { id: 6, name: 'mallory' } },
      { op: 'insert', table: 'public.orders', row: { id: 10, customer_id: 3 } },
    ],
  });
  expect(emitted.filter((e) => e.type === 'ACTOR.FAILED' || e.type === 'SHAPE.REMOVED')).toEqual([]);
  expect(run.runtime.actor.getSnapshot().status).toBe('active');
  expect(run.runtime.list().map((s) => s.handle).sort()).toEqual([...survivors].sort());
  for (const c of actorCreations(events)) expect(removed).not.toContain(c.handle);
  await run.runtime.shutdown();
}

describe('the incident, replayed', () => {
  it('restart from the backup: both outer levels removed with cause chain to the missing inner shape, nothing of theirs ever spawned', async () => {
    const d = await incidentDir();
    const scanDir = await copyDataDir(d.dir, `${d.dir}-scan`, { withoutBackup: true });

    // The dry run plans exactly that and changes nothing.
    const dry = await observeDryRun(d.dir);
    expect(dry.report.mode).toBe('backup');
    expect(dry.report.removed.map((r) => r.handle)).toEqual([d.inner, d.mid, d.outer]);
    expect(actorCreations(dry.events)).toEqual([]);
    expect([...dry.after.keys()].sort()).toEqual([...dry.before.keys()].sort());
    for (const [path, bytes] of dry.before) expect(dry.after.get(path)!.equals(bytes), path).toBe(true);

    const run = await observeRestore(d.dir);
    expect(run.report.mode).toBe('backup');
    expect(run.report.fallbackReason).toBeNull();
    await checkRestart(d, run, [
      { handle: d.inner, reason: 'no-storage', cause: null, detail: expect.stringContaining('not stored') as unknown as string },
      { handle: d.mid, reason: 'dependency-removed', cause: d.inner },
      { handle: d.outer, reason: 'dependency-removed', cause: d.mid },
    ]);

    // The same storage restored by scan (backup deleted) gives the same survivors.
    const scan = await observeRestore(scanDir);
    expect(scan.report.mode).toBe('storage');
    expect(new Set(scan.report.loaded)).toEqual(new Set(run.report.loaded));
    await checkRestart({ ...d, dir: scanDir }, scan, [
      { handle: d.mid, reason: 'missing-dependency', cause: d.inner, detail: expect.any(String) as unknown as string },
      { handle: d.outer, reason: 'dependency-removed', cause: d.mid },
    ]);

    // A removed shape stays removed: the next restart (from the shutdown's backup) brings nothing back.
    const again = await observeRestore(d.dir);
    expect(again.report.mode).toBe('backup');
    expect(again.report.removed).toEqual([]);
    expect(new Set(again.report.loaded)).toEqual(new Set(run.report.loaded));
    for (const c of actorCreations(again.events)) expect([d.outer, d.mid, d.inner]).not.toContain(c.handle);
    await again.runtime.shutdown();
  });

  it('restart by scan (backup deleted first): the same survivors, the same cause chain', async () => {
    const d = await incidentDir();
    await rm(join(d.dir, 'backup'), { recursive: true });
    const run = await observeRestore(d.dir);
    expect(run.report.mode).toBe('storage');
    expect(run.report.fallbackReason).toBe('no backup');
    await checkRestart(d, run, [
      { handle: d.mid, reason: 'missing-dependency', cause: d.inner, detail: expect.any(String) as unknown as string },
      { handle: d.outer, reason: 'dependency-removed', cause: d.mid },
    ]);
  });
});
