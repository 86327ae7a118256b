/**
 * Scenario 3, the running runtime:
 * - transactions per second through N shapes on 100 tables (20% subquery
 *   shapes), pipelined (the runtime batches them: group commit), with the
 *   memory store (CPU) and the file store (CPU + fsync); floor: the same
 *   number of consumer deliveries as `actor.send` to bare actors;
 * - cascade removal of a dependency with min(10k, N - 1) dependents vs
 *   stopping as many bare standalone actors;
 * - shutdown of everything vs stopping as many bare standalone actors;
 * - heap per idle shape: consumers and materializers spawned by the
 *   runtime's own RuntimeShapes, every shape woken, after GC, per shape.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { registeredShapes, wakeAll } from '../lib/awake-shapes.ts';
import { MemoryTableFiles } from '../../src/storage/rows/table-files.ts';
import { TableStore } from '../../src/storage/rows/table-store.ts';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { startTrivialActors, stopTrivialActors, type TrivialActor } from '../lib/floor.ts';
import { profiled, profilingEnabled, type ProfileSummary } from '../lib/profile.ts';
import { beforeRows } from '../lib/before.ts';
import { check, type Column, type TargetCheck } from '../lib/report.ts';
import { buildDataset, memoryStorageOf, TABLES, writeDataDir, type Dataset } from '../lib/shape-dataset.ts';
import { fullGc, heapAfterGc, median, round, timed, timedSync, type Timing } from '../lib/stats.ts';
import { deliveriesOf, makeTransactions, type BenchTransaction } from '../lib/transactions.ts';
import { fmtSize } from './validation.ts';

export const FAN_DEPENDENTS = 10_000;

export interface RuntimeCaseArgs {
  readonly size: number;
  readonly runs: number;
  /** Also measure transactions through the file store (restores the data dir from disk once per run). */
  readonly fileStore: boolean;
}

export interface RuntimeRun {
  readonly restoreMemoryMs: number;
  readonly transactions: number;
  readonly txMemory: Timing;
  readonly txPerSecMemory: number;
  readonly deliveries: number;
  readonly txFloor: Timing;
  readonly txFile: Timing | null;
  readonly txPerSecFile: number | null;
  readonly fileTransactions: number;
  readonly shutdown: Timing;
  readonly shutdownActors: number;
  readonly shutdownFloor: Timing;
  readonly cascade: Timing;
  readonly cascadeRemoved: number;
  readonly cascadeActors: number;
  readonly cascadeFloor: Timing;
  readonly heapPerShape: number;
  readonly floorHeapPerActor: number;
}

export interface RuntimeCaseResult {
  readonly size: number;
  readonly fan: number;
  readonly counts: Dataset['counts'];
  readonly runs: readonly RuntimeRun[];
  readonly profiles: Record<string, ProfileSummary>;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Transactions per run: about a second of work at each size. */
export function transactionCount(size: number): number {
  return Math.max(100, Math.min(2_000, Math.round(2_000_000 / size)));
}

/** Runs in a child process (bench/worker.ts). */
export async function runtimeCase(args: RuntimeCaseArgs): Promise<RuntimeCaseResult> {
  const fan = Math.min(FAN_DEPENDENTS, args.size - 1);
  const mix = await buildDataset({ size: args.size });
  const fanSet = await buildDataset({ size: args.size, fan, seed: 3 });
  const root = await mkdtemp(join(tmpdir(), 'shape-actors-bench-runtime-'));
  const profiles: Record<string, ProfileSummary> = {};
  try {
    const dataDir = join(root, 'data');
    if (args.fileStore) await writeDataDir(dataDir, mix);
    await warmUp();
    const runs: RuntimeRun[] = [];
    for (let r = 0; r < args.runs; r++) {
      const profile = profilingEnabled() && r === args.runs - 1 ? (name: string) => `${name}-${fmtSize(args.size)}` : null;
      const run = await runtimeRun(mix, fanSet, args.fileStore ? dataDir : null, profile, profiles, r === 0 || args.runs >= 3);
      runs.push(run);
      log(
        `  runtime ${fmtSize(args.size)} run ${r + 1}/${args.runs}: ${round(run.txPerSecMemory, 0)} tx/s (memory)${run.txPerSecFile === null ? '' : `, ${round(run.txPerSecFile, 0)} tx/s (file)`}, ` +
          `shutdown cpu ${round(run.shutdown.cpuMs, 0)} ms (floor ${round(run.shutdownFloor.cpuMs, 0)}), cascade cpu ${round(run.cascade.cpuMs, 0)} ms (floor ${round(run.cascadeFloor.cpuMs, 0)}), heap ${round(run.heapPerShape, 0)} B/shape`,
      );
    }
    return { size: args.size, fan, counts: mix.counts, runs, profiles };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function runtimeRun(
  mix: Dataset,
  fanSet: Dataset,
  dataDir: string | null,
  profileName: ((name: string) => string) | null,
  profiles: Record<string, ProfileSummary>,
  measureHeap: boolean,
): Promise<RuntimeRun> {
  // Timed alone: the profiler's start and stop are not in the timing.
  const measure = async <T>(name: string, fn: () => Promise<T>): Promise<{ timing: Timing; value: T }> => {
    const { value, timing, profile } = await profiled(profileName && profileName(name), fn);
    if (profile) profiles[name] = profile;
    return { value, timing };
  };

  // Transactions through the mix, memory store.
  let t0 = performance.now();
  const runtime = await createShapeRuntime({ storage: await memoryStorageOf(mix) });
  const restoreMemoryMs = performance.now() - t0;
  const count = transactionCount(mix.size);
  const transactions = makeTransactions(mix, count, 1_000);
  fullGc();
  const { timing: txMemory } = await measure('transactions', () => applyAll(runtime, transactions));
  const deliveries = transactions.reduce((n, tx) => n + deliveriesOf(mix, tx), 0);
  const txFloor = deliveryFloor(mix, transactions);

  // Shutdown of everything.
  const shutdownActors = mix.size + mix.withMaterializer;
  fullGc();
  const { timing: shutdown } = await measure('shutdown', () => runtime.shutdown());
  const shutdownFloor = stopFloor(shutdownActors);

  // Cascade removal of the fan's dependency.
  const fanRuntime = await createShapeRuntime({ storage: await memoryStorageOf(fanSet) });
  fullGc();
  const { timing: cascade, value: removals } = await measure('cascade', () => fanRuntime.remove(fanSet.fanRoot!));
  const fan = fanSet.counts['fan-dependent'];
  if (removals.length !== fan + 1) throw new Error(`cascade: expected ${fan + 1} removals, got ${removals.length}`);
  const cascadeActors = fan + 2; // the dependents' consumers, the dependency's consumer and materializer
  const cascadeFloor = stopFloor(cascadeActors);
  await fanRuntime.shutdown();

  // Transactions through the file store (fsync per batch and per shape log).
  let txFile: Timing | null = null;
  let fileTransactions = 0;
  if (dataDir) {
    const fileRuntime = await createShapeRuntime({ dataDir });
    fileTransactions = Math.max(100, Math.round(count / 2));
    const fileTx = makeTransactions(mix, fileTransactions, 1_000_000 + Math.floor(performance.now()), 2);
    txFile = (await timed(() => applyAll(fileRuntime, fileTx))).timing;
    await fileRuntime.shutdown();
  }

  const heap = measureHeap ? await actorHeap(mix) : { perShape: Number.NaN, floorPerActor: Number.NaN };
  return {
    restoreMemoryMs,
    transactions: count,
    txMemory,
    txPerSecMemory: (count * 1000) / txMemory.wallMs,
    deliveries,
    txFloor,
    txFile,
    txPerSecFile: txFile === null ? null : (fileTransactions * 1000) / txFile.wallMs,
    fileTransactions,
    shutdown,
    shutdownActors,
    shutdownFloor,
    cascade,
    cascadeRemoved: removals.length,
    cascadeActors,
    cascadeFloor,
    heapPerShape: heap.perShape,
    floorHeapPerActor: heap.floorPerActor,
  };
}

async function applyAll(runtime: ShapeRuntime, transactions: readonly BenchTransaction[]): Promise<void> {
  const results = await Promise.all(transactions.map((tx) => runtime.applyTransaction(tx)));
  const notApplied = results.filter((r) => r.status !== 'applied').length;
  if (notApplied > 0) throw new Error(`${notApplied} of ${transactions.length} transactions were not applied`);
}

/** The same deliveries as `send` to bare actors, one per shape of each table a transaction touches. */
function deliveryFloor(dataset: Dataset, transactions: readonly BenchTransaction[]): Timing {
  const byTable = new Map<string, TrivialActor[]>();
  for (const [table, count] of dataset.shapesPerTable) byTable.set(table, startTrivialActors(count).actors);
  fullGc();
  const { timing } = timedSync(() => {
    for (const tx of transactions) {
      for (const table of new Set(tx.changes.map((c) => c.table))) for (const actor of byTable.get(table) ?? []) actor.send({ type: 'ping' });
    }
  });
  for (const actors of byTable.values()) stopTrivialActors(actors);
  return timing;
}

/** Stopping `count` bare standalone actors. */
function stopFloor(count: number): Timing {
  const { actors } = startTrivialActors(count);
  fullGc();
  return stopTrivialActors(actors);
}

/**
 * Heap per idle shape: the consumers and materializers the runtime spawns
 * (every shape woken in its own RuntimeShapes under a root actor), measured
 * after GC, divided by the number of shapes; the records (parsed definitions)
 * exist before and are not counted. Floor: bare standalone actors.
 */
async function actorHeap(dataset: Dataset): Promise<{ perShape: number; floorPerActor: number }> {
  const owned = await registeredShapes(dataset.shapes, await TableStore.open(new MemoryTableFiles()));
  const h0 = heapAfterGc();
  await wakeAll(owned.shapes, 0);
  const perShape = (heapAfterGc() - h0) / dataset.size;
  if (owned.shapes.supervisor.size !== dataset.size) throw new Error(`heap: ${owned.shapes.supervisor.size} shapes woken, expected ${dataset.size}`);
  owned.stop();

  const actorCount = dataset.size + dataset.withMaterializer;
  const f0 = heapAfterGc();
  const { actors } = startTrivialActors(actorCount);
  const floorPerActor = (heapAfterGc() - f0) / actorCount;
  stopTrivialActors(actors);
  return { perShape, floorPerActor };
}

async function warmUp(): Promise<void> {
  const small = await buildDataset({ size: 1_000, seed: 5 });
  const runtime = await createShapeRuntime({ storage: await memoryStorageOf(small) });
  await applyAll(runtime, makeTransactions(small, 200, 10));
  await runtime.shutdown();
  const fanSet = await buildDataset({ size: 500, fan: 499, seed: 6 });
  const fanRuntime = await createShapeRuntime({ storage: await memoryStorageOf(fanSet) });
  await fanRuntime.remove(fanSet.fanRoot!);
  await fanRuntime.shutdown();
  stopTrivialActors(startTrivialActors(1_000).actors);
}

// ---------------------------------------------------------------- summary (parent process)

export const RUNTIME_COLUMNS: readonly Column[] = [
  { key: 'size', title: 'shapes' },
  { key: 'txPerSecMemory', title: 'tx/s memory', digits: 0 },
  { key: 'beforeTxPerSecMemory', title: 'before tx/s', digits: 0 },
  { key: 'usPerDelivery', title: 'µs/delivery', digits: 1 },
  { key: 'txFloorRatio', title: 'tx/floor' },
  { key: 'txPerSecFile', title: 'tx/s file', digits: 0 },
  { key: 'shutdownCpuMs', title: 'shutdown cpu ms', digits: 1 },
  { key: 'shutdownRatio', title: 'shutdown/floor' },
  { key: 'fan', title: 'fan' },
  { key: 'cascadeCpuMs', title: 'cascade cpu ms', digits: 1 },
  { key: 'cascadeRatio', title: 'cascade/floor' },
  { key: 'heapPerShape', title: 'heap B/shape', digits: 0 },
  { key: 'floorHeapPerActor', title: 'bare actor B', digits: 0 },
  { key: 'runs', title: 'runs' },
];

export interface RuntimeSummaryRow {
  readonly size: number;
  readonly transactions: number;
  /** Wall clock (the runtime and its floor run alone in the child process). */
  readonly txPerSecMemory: number;
  /** From bench/results/runtime-before.json (before the where-clause index), when it has this size. */
  readonly beforeTxPerSecMemory: number | null;
  /** CPU µs per consumer delivery the router made before the index (every shape of each table a transaction touches). */
  readonly usPerDelivery: number;
  /** CPU time / the deliveries' floor CPU time. */
  readonly txFloorRatio: number;
  readonly txPerSecFile: number | null;
  readonly shutdownMs: number;
  readonly shutdownCpuMs: number;
  readonly shutdownFloorCpuMs: number;
  /** By CPU time (medians of per-run ratios); the wall-clock ratio beside it. */
  readonly shutdownRatio: number;
  readonly shutdownRatioWall: number;
  readonly fan: number;
  readonly cascadeMs: number;
  readonly cascadeCpuMs: number;
  readonly cascadeFloorCpuMs: number;
  readonly cascadeRatio: number;
  readonly cascadeRatioWall: number;
  readonly heapPerShape: number;
  readonly floorHeapPerActor: number;
  readonly restoreMemoryMs: number;
  readonly runs: number;
}

export function summarizeRuntime(results: readonly RuntimeCaseResult[]): { rows: RuntimeSummaryRow[]; checks: TargetCheck[] } {
  const before = beforeRows<RuntimeSummaryRow>('runtime');
  const rows = results.map((result): RuntimeSummaryRow => {
    const runs = result.runs;
    const m = (f: (r: RuntimeRun) => number | null): number => median(runs.map(f).filter((v): v is number => v !== null && Number.isFinite(v)));
    const file = runs.some((r) => r.txPerSecFile !== null) ? m((r) => r.txPerSecFile) : null;
    return {
      size: result.size,
      transactions: runs[0]!.transactions,
      txPerSecMemory: m((r) => r.txPerSecMemory),
      beforeTxPerSecMemory: before.find((b) => b.size === result.size)?.txPerSecMemory ?? null,
      usPerDelivery: m((r) => (r.txMemory.cpuMs * 1000) / r.deliveries),
      txFloorRatio: m((r) => r.txMemory.cpuMs / r.txFloor.cpuMs),
      txPerSecFile: file,
      shutdownMs: m((r) => r.shutdown.wallMs),
      shutdownCpuMs: m((r) => r.shutdown.cpuMs),
      shutdownFloorCpuMs: m((r) => r.shutdownFloor.cpuMs),
      shutdownRatio: m((r) => r.shutdown.cpuMs / r.shutdownFloor.cpuMs),
      shutdownRatioWall: m((r) => r.shutdown.wallMs / r.shutdownFloor.wallMs),
      fan: result.fan,
      cascadeMs: m((r) => r.cascade.wallMs),
      cascadeCpuMs: m((r) => r.cascade.cpuMs),
      cascadeFloorCpuMs: m((r) => r.cascadeFloor.cpuMs),
      cascadeRatio: m((r) => r.cascade.cpuMs / r.cascadeFloor.cpuMs),
      cascadeRatioWall: m((r) => r.cascade.wallMs / r.cascadeFloor.wallMs),
      heapPerShape: m((r) => r.heapPerShape),
      floorHeapPerActor: m((r) => r.floorHeapPerActor),
      restoreMemoryMs: m((r) => r.restoreMemoryMs),
      runs: runs.length,
    };
  });
  const largest = rows.reduce((a, b) => (b.size > a.size ? b : a));
  const fanRow = rows.find((r) => r.fan >= FAN_DEPENDENTS) ?? largest;
  const checks: TargetCheck[] = [
    check(
      `shutdown of everything within 2x of the standalone stop floor at ${fmtSize(largest.size)}`,
      `shutdown/floor = ${round(largest.shutdownRatio, 2)}x by CPU time (${round(largest.shutdownCpuMs, 0)} vs ${round(largest.shutdownFloorCpuMs, 0)} ms), ${round(largest.shutdownRatioWall, 2)}x by wall clock`,
      largest.shutdownRatio,
      2,
      (v, l) => v <= l,
    ),
    check(
      `cascade-stop of a dependency with ${fanRow.fan.toLocaleString('en-US')} dependents within 2x of the stop floor`,
      `cascade/floor = ${round(fanRow.cascadeRatio, 2)}x by CPU time (${round(fanRow.cascadeCpuMs, 0)} vs ${round(fanRow.cascadeFloorCpuMs, 0)} ms), ${round(fanRow.cascadeRatioWall, 2)}x by wall clock`,
      fanRow.cascadeRatio,
      2,
      (v, l) => v <= l,
    ),
    check(
      `heap per idle shape (consumer + share of materializers) < 4 KiB at ${fmtSize(largest.size)}`,
      `${round(largest.heapPerShape, 0)} B per shape (bare standalone actor: ${round(largest.floorHeapPerActor, 0)} B)`,
      largest.heapPerShape,
      4096,
      (v, l) => v < l,
    ),
  ];
  return { rows, checks };
}

export const RUNTIME_DESCRIPTION = [
  'Runtime, memory store unless said otherwise (CPU only); same shape mix as the restore scenario, 100 tables.',
  'tx/s: transactions (an insert + an update of an earlier row) submitted together, batched by the runtime;',
  '  µs/delivery and tx/floor: CPU time per delivery and over as many actor.send to bare actors, counting a delivery to every shape of each table',
  '  a transaction touches (what the router did before the where-clause index; it now delivers to far fewer); before tx/s: bench/results/runtime-before.json;',
  '  tx/s file = the same through the file store (fsync per batch and per shape log written).',
  'shutdown: runtime.shutdown() (stops every actor, writes the backup) vs stopping as many bare actors.',
  `cascade: runtime.remove(dependency) with min(${FAN_DEPENDENTS.toLocaleString('en-US')}, N - 1) dependents vs stopping as many bare actors.`,
  'heap: consumers + materializers of every shape woken in the runtime\'s RuntimeShapes, after GC, per shape.',
  'Ratios are medians of per-run ratios, judged on CPU time (user + system, all threads), which machine load does not inflate.',
].join('\n');

export { TABLES };
