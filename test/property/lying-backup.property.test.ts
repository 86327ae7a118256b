/**
 * Backups that lie (issue 6, item 4): a valid backup (right format, good
 * checksum) that does not match storage, made by the runtime itself:
 * - older than storage: written at a checkpoint, then shapes were added,
 *   removed (with cascade) and re-created with the same definition (so a new
 *   handle), then a crash;
 * - newer than storage: the storage is a copy taken before those changes, the
 *   backup the one written after them (an operator restoring a file-system
 *   snapshot of shapes/ but not of backup/, say).
 * Restoring with that backup gives exactly what a restore by scan of the same
 * storage gives (survivors, dependency handles, logs), nothing dangles, and
 * the backup's extra handles are reported as `no-storage`.
 *
 * Seeded: FC_SEED / FC_PATH replay a failure.
 */
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { randomDefinition, randomTransaction, rng } from '../helpers/crash-workload.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 60065;
const PATH = process.env.FC_PATH;

beforeAll(loadSqlParser);

type Step = { readonly kind: 'add'; readonly pick: number } | { readonly kind: 'remove'; readonly pick: number } | { readonly kind: 'readd'; readonly pick: number } | { readonly kind: 'tx' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('readd' as const), pick: fc.nat() }),
  fc.constant({ kind: 'tx' as const }),
);

interface Ctx {
  readonly runtime: ShapeRuntime;
  readonly removedDefinitions: unknown[];
  xid: number;
  readonly rand: () => number;
}

async function step(ctx: Ctx, s: Step): Promise<void> {
  const shapes = ctx.runtime.list();
  if (s.kind === 'add') await ctx.runtime.add({ ...randomDefinition(rng(s.pick)) });
  else if (s.kind === 'tx') await ctx.runtime.applyTransaction(randomTransaction(ctx.rand, ctx.xid++));
  else if (s.kind === 'remove' && shapes.length > 0) {
    const target = shapes[s.pick % shapes.length]!;
    const byHandle = new Map(shapes.map((x) => [x.handle, x]));
    for (const r of await ctx.runtime.remove(target.handle)) ctx.removedDefinitions.push(byHandle.get(r.handle)!.definition);
  } else if (s.kind === 'readd' && ctx.removedDefinitions.length > 0) {
    // The same definition again: a new handle (the removed one must never come back).
    await ctx.runtime.add(ctx.removedDefinitions[s.pick % ctx.removedDefinitions.length] as Record<string, unknown>);
  }
}

interface Restored {
  readonly loaded: string[];
  readonly shapes: Map<string, string>;
  readonly logs: Map<string, string>;
  readonly mode: string;
  readonly noStorage: string[];
}

async function restore(dir: string): Promise<Restored> {
  const runtime = await createShapeRuntime({ dataDir: dir, createDataDir: false });
  try {
    const shapes = new Map(runtime.list().map((s) => [s.handle, s.dependencyHandles.join(',')] as const));
    for (const s of runtime.list()) for (const d of s.dependencyHandles) expect(shapes.has(d), `${s.handle} depends on missing ${d}`).toBe(true);
    const logs = new Map<string, string>();
    for (const h of shapes.keys()) logs.set(h, await readFile(join(dir, 'shapes', h, 'log.jsonl'), 'utf8'));
    return {
      loaded: [...runtime.report.loaded].sort(),
      shapes,
      logs,
      mode: runtime.report.mode,
      noStorage: runtime.report.removed.filter((r) => r.reason === 'no-storage').map((r) => r.handle),
    };
  } finally {
    runtime.actor.stop();
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function runCase(seed: number, before: Step[], after: Step[], which: 'older' | 'newer'): Promise<void> {
  const root = await tempDir();
  const dir = join(root, 'live');
  const runtime = await createShapeRuntime({ dataDir: dir });
  const ctx: Ctx = { runtime, removedDefinitions: [], xid: 1, rand: rng(seed) };
  for (const s of before) await step(ctx, s);
  const atMark = runtime.list().map((s) => s.handle);
  if (which === 'older') await runtime.checkpoint();
  const snapshot = join(root, 'snapshot');
  await cp(dir, snapshot, { recursive: true });
  await rm(join(snapshot, 'lock'), { force: true }); // the live runtime's lock, not the snapshot's
  for (const s of after) await step(ctx, s);
  if (which === 'newer') await runtime.checkpoint();
  const atEnd = runtime.list().map((s) => s.handle);
  runtime.actor.stop(); // a crash: the backup stays as it is
  await new Promise((r) => setTimeout(r, 10));

  let lying: string;
  if (which === 'older') lying = dir;
  else {
    // Storage from before the changes, the backup from after them.
    lying = snapshot;
    await rm(join(lying, 'backup'), { recursive: true, force: true });
    await cp(join(dir, 'backup'), join(lying, 'backup'), { recursive: true });
  }
  const scanDir = join(root, 'scan');
  await cp(lying, scanDir, { recursive: true });
  await rm(join(scanDir, 'backup'), { recursive: true, force: true });

  const viaBackup = await restore(lying);
  const viaScan = await restore(scanDir);
  expect(viaBackup.mode).toBe('backup');
  expect(viaScan.mode).toBe('storage');
  expect(viaBackup.loaded).toEqual(viaScan.loaded);
  expect([...viaBackup.shapes]).toEqual([...viaScan.shapes]);
  for (const [h, log] of viaScan.logs) expect(viaBackup.logs.get(h), `log of ${h}`).toBe(log);
  // What the backup named but storage does not hold is reported as such, and never loaded.
  const named = which === 'older' ? atMark : atEnd;
  const stored = new Set(which === 'older' ? atEnd : atMark);
  for (const h of named) if (!stored.has(h)) expect(viaBackup.noStorage, `${h} named by the backup only`).toContain(h);
  // Nothing valid lost: every shape storage held at the crash is there.
  expect(viaBackup.loaded).toEqual([...stored].sort());
}

describe('backups that lie: the result equals a restore by scan', () => {
  it('older or newer than storage, with shapes added, removed (cascade) and re-created under a new handle in between', async () => {
    const steps = (n: number) => fc.array(stepArb, { minLength: 1, maxLength: n });
    await fc.assert(
      fc.asyncProperty(fc.nat(), steps(6), steps(8), fc.constantFrom<'older' | 'newer'>('older', 'newer'), runCase),
      { seed: SEED, numRuns: 40, ...(PATH ? { path: PATH } : {}), endOnFailure: false },
    );
  }, 240_000);

  it('a shape re-created with the same definition and a new handle: the backup names the old handle, storage holds the new one', async () => {
    await runCase(7, [{ kind: 'add', pick: 1 }, { kind: 'tx' }], [{ kind: 'remove', pick: 0 }, { kind: 'readd', pick: 0 }, { kind: 'tx' }], 'older');
    await runCase(7, [{ kind: 'add', pick: 1 }, { kind: 'tx' }], [{ kind: 'remove', pick: 0 }, { kind: 'readd', pick: 0 }, { kind: 'tx' }], 'newer');
  }, 60_000);
});
