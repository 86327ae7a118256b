/**
 * Scenario restart (issue 13): how soon a restarted service serves. `createShapeRuntime` on a
 * data dir written in the file store's layout (lib/shape-dataset.ts: 100 tables, 2% dependency
 * shapes, 20% subquery shapes), from the backup and by scan, until `running`, then the first
 * shape served (its log read: it wakes, its dependency first) and the first transaction routed,
 * each timed from the start of the restore. Floor, measured just before each restore in the same
 * process: reading and parsing one JSON file that holds the same definitions. Also: the heap the
 * restored runtime holds per kept (sleeping) shape, on this dataset and on its variant whose
 * where clauses are all distinct (restore shares nothing between records there), and waking
 * chains of 1, 5 and 10 dependencies.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { openFileStorage } from '../../src/storage/file-store.ts';
import { check, type Column, type TargetCheck } from '../lib/report.ts';
import { buildDataset, writeDataDir, type Dataset } from '../lib/shape-dataset.ts';
import { profiled } from '../lib/profile.ts';
import { fullGc, heapAfterGc, median, round, Stopwatch, type Timing } from '../lib/stats.ts';
import { prepare, type RestoreMode } from './restore.ts';
import { fmtSize } from './validation.ts';

export type RestartMode = RestoreMode;

export interface RestartCaseArgs {
  readonly size: number;
  readonly runs: number;
  /** Also time waking dependency chains (once per bench run: the smallest size does it). */
  readonly chains: boolean;
}

export interface RestartRun {
  readonly mode: RestartMode;
  readonly floor: Timing;
  /** From the start of the restore. */
  readonly running: Timing;
  readonly firstServedMs: number;
  readonly firstRoutedMs: number;
  readonly ratioWall: number;
  readonly ratioCpu: number;
  /** Heap the runtime holds per kept shape once running, every shape asleep (after GC). */
  readonly heapPerShape: number;
  readonly awakeAfterRestore: number;
  /** Wall ms of each restore state (report.phases), and of reaching running after them. */
  readonly phases: Readonly<Record<string, number>>;
}

export interface ChainWake {
  readonly dependencies: number;
  /** Wall ms of `use(top)`: the top shape and its whole closure woken, dependencies first. */
  readonly ms: number[];
  readonly started: number;
}

export interface RestartCaseResult {
  readonly size: number;
  readonly counts: Dataset['counts'];
  readonly runs: readonly RestartRun[];
  /** Heap per kept, sleeping shape restored from the backup of the dataset with every where clause distinct. */
  readonly distinctHeapPerShape: number;
  readonly chains: readonly ChainWake[];
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const CHAINS = [1, 5, 10] as const;

/** Runs in a child process (bench/worker.ts). */
export async function restartCase(args: RestartCaseArgs): Promise<RestartCaseResult> {
  const root = await mkdtemp(join(tmpdir(), 'shape-actors-bench-restart-'));
  try {
    const dataset = await buildDataset({ size: args.size });
    const dir = join(root, 'data');
    await writeDataDir(dir, dataset);
    // The floor's file: every definition, as one JSON document (outside the data dir: it holds only its own files).
    const definitionsFile = join(root, 'definitions.json');
    await writeFile(definitionsFile, JSON.stringify(dataset.shapes.map((s) => s.stored)));
    const backupText = await readFile(join(dir, 'backup', 'registry.jsonl'), 'utf8');
    await warmUp(dir, backupText, definitionsFile);
    const runs: RestartRun[] = [];
    for (let r = 0; r < args.runs; r++) {
      for (const mode of r % 2 === 0 ? (['backup', 'scan'] as const) : (['scan', 'backup'] as const)) {
        const run = await restartRun(dir, mode, backupText, definitionsFile, dataset, `restart-${args.size}-${mode}-${r + 1}`);
        runs.push(run);
        log(
          `  restart ${fmtSize(args.size)} ${mode} run ${r + 1}/${args.runs}: running after ${round(run.running.wallMs, 0)} ms (cpu ${round(run.running.cpuMs, 0)}) vs floor ${round(run.floor.wallMs, 1)} ms (cpu ${round(run.floor.cpuMs, 1)}): ` +
            `${round(run.ratioCpu, 1)}x cpu; first served ${round(run.firstServedMs, 0)} ms, first routed ${round(run.firstRoutedMs, 0)} ms; ${round(run.heapPerShape, 0)} B/shape asleep`,
        );
      }
    }
    const distinctHeapPerShape = await distinctHeap(join(root, 'distinct'), args.size);
    log(`  restart ${fmtSize(args.size)} backup, every where clause distinct: ${round(distinctHeapPerShape, 0)} B/shape asleep`);
    const chains = args.chains ? await wakeChains(join(root, 'chains'), Math.max(3, args.runs * 2)) : [];
    return { size: args.size, counts: dataset.counts, runs, distinctHeapPerShape, chains };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function floorOf(definitionsFile: string): Promise<Timing> {
  const watch = new Stopwatch();
  const parsed = JSON.parse(await readFile(definitionsFile, 'utf8')) as unknown[];
  if (parsed.length === 0) throw new Error('empty definitions file');
  return watch.stop();
}

async function restartRun(dir: string, mode: RestartMode, backupText: string, definitionsFile: string, dataset: Dataset, name: string): Promise<RestartRun> {
  await prepare(dir, mode, backupText);
  fullGc();
  const floor = await floorOf(definitionsFile);
  const heapBefore = heapAfterGc();
  // Profiled (--profile) from opening the storage to running: what the ratio measures (timed without the profiler's stop).
  const {
    value: { storage, runtime },
    timing: running,
  } = await profiled(name, async () => {
    const opened = await openFileStorage(dir);
    return { storage: opened, runtime: await createShapeRuntime({ storage: opened }) };
  });
  const afterRunning = new Stopwatch();
  try {
    const report = runtime.report;
    const expectedMode = mode === 'backup' ? 'backup' : 'storage';
    if (report.mode !== expectedMode || report.loaded.length !== dataset.size || report.removed.length !== 0) {
      throw new Error(`restart ${mode}: expected mode ${expectedMode} with ${dataset.size} shapes and no removal, got ${report.mode}, ${report.loaded.length} loaded, ${report.removed.length} removed`);
    }
    const awakeAfterRestore = runtime.activity().awake;
    // First shape served: a subquery shape's log, read (it wakes, its dependency's materializer first).
    const served = dataset.shapes.find((s) => s.kind === 'subquery') ?? dataset.shapes.at(-1)!;
    await runtime.readLog(served.stored.handle);
    const firstServedMs = running.wallMs + afterRunning.stop().wallMs;
    // First transaction routed: an insert a plain shape of table t0 selects (it wakes there).
    await firstTransaction(runtime);
    const firstRoutedMs = running.wallMs + afterRunning.stop().wallMs;
    // Heap per kept shape: everything the runtime holds, the two shapes woken aside, measured asleep.
    const heapPerShape = (heapAfterGc() - heapBefore) / dataset.size;
    const phases = Object.fromEntries(report.phases.map((p) => [p.phase, p.ms ?? 0]));
    return { mode, floor, running, firstServedMs, firstRoutedMs, ratioWall: running.wallMs / floor.wallMs, ratioCpu: running.cpuMs / floor.cpuMs, heapPerShape, awakeAfterRestore, phases };
  } finally {
    await runtime.shutdown();
    await storage.close();
  }
}

/**
 * The same heap figure (after GC, per shape, every shape asleep) restored from the backup of the
 * dataset's variant whose where clauses are all distinct: the records share no where text or AST.
 */
async function distinctHeap(dir: string, size: number): Promise<number> {
  const dataset = await buildDataset({ size, distinctWheres: true });
  await writeDataDir(dir, dataset);
  fullGc();
  const heapBefore = heapAfterGc();
  const storage = await openFileStorage(dir);
  const runtime = await createShapeRuntime({ storage });
  try {
    const report = runtime.report;
    if (report.mode !== 'backup' || report.loaded.length !== dataset.size || report.removed.length !== 0 || runtime.activity().awake !== 0) {
      throw new Error(`restart distinct: expected ${dataset.size} shapes from the backup, none removed or awake, got ${report.mode}, ${report.loaded.length} loaded, ${report.removed.length} removed`);
    }
    return (heapAfterGc() - heapBefore) / dataset.size;
  } finally {
    await runtime.shutdown();
    await storage.close();
  }
}

let nextXid = 1_000;

async function firstTransaction(runtime: ShapeRuntime): Promise<void> {
  const xid = Math.max(runtime.position() + 1, ++nextXid);
  nextXid = xid;
  const outcome = await runtime.applyTransaction({ xid, changes: [{ op: 'insert', table: 'public.t0', row: { id: `restart-${xid}`, k: 0, g: 0, c: 1 } }] });
  if (outcome.status !== 'applied') throw new Error(`first transaction: ${outcome.status}`);
}

/** JIT warm-up: one restart of each kind (not measured). */
async function warmUp(dir: string, backupText: string, definitionsFile: string): Promise<void> {
  for (const mode of ['backup', 'scan'] as const) {
    await prepare(dir, mode, backupText);
    await floorOf(definitionsFile);
    const runtime = await createShapeRuntime({ dataDir: dir });
    await firstTransaction(runtime);
    await runtime.shutdown();
  }
}

/** `public.c0` whose where clause nests `n` subqueries: adding it creates a chain of n dependency shapes. */
function chainDefinition(chain: number, n: number): { table: string; where: string } {
  let where = 'g = 1';
  for (let level = n; level >= 1; level--) where = `ref IN (SELECT ref FROM public.c${chain}_${level} WHERE ${where})`;
  return { table: `public.c${chain}_0`, where };
}

/** Waking the top of chains of 1, 5 and 10 dependencies, right after a restore (every shape asleep, its files unread). */
async function wakeChains(dir: string, runs: number): Promise<ChainWake[]> {
  const setup = await createShapeRuntime({ dataDir: dir });
  const tops = new Map<number, string>();
  for (const n of CHAINS) tops.set(n, (await setup.add(chainDefinition(n, n))).handle);
  await setup.shutdown();
  const out = new Map<number, ChainWake>(CHAINS.map((n) => [n, { dependencies: n, ms: [], started: 0 }]));
  for (let r = 0; r < runs; r++) {
    const runtime = await createShapeRuntime({ dataDir: dir });
    for (const n of r % 2 === 0 ? [...CHAINS] : [...CHAINS].reverse()) {
      const before = runtime.activity().awake;
      const watch = new Stopwatch();
      await runtime.use(tops.get(n)!);
      const wake = out.get(n)!;
      wake.ms.push(watch.stop().wallMs);
      out.set(n, { ...wake, started: runtime.activity().awake - before });
    }
    await runtime.shutdown();
  }
  return [...out.values()];
}

// ---------------------------------------------------------------- summary (parent process)

export const RESTART_COLUMNS: readonly Column[] = [
  { key: 'mode', title: 'mode' },
  { key: 'size', title: 'shapes' },
  { key: 'runningMs', title: 'to running ms', digits: 0 },
  { key: 'runningCpuMs', title: 'cpu ms', digits: 0 },
  { key: 'floorMs', title: 'floor ms', digits: 1 },
  { key: 'floorCpuMs', title: 'floor cpu ms', digits: 1 },
  { key: 'ratioCpu', title: 'cpu ratio' },
  { key: 'ratioWall', title: 'wall ratio' },
  { key: 'firstServedMs', title: 'first served ms', digits: 0 },
  { key: 'firstRoutedMs', title: 'first routed ms', digits: 0 },
  { key: 'heap', title: 'heap B/sleeping shape', digits: 0 },
  { key: 'heapDistinct', title: 'same, distinct wheres', digits: 0 },
  { key: 'slowest', title: 'slowest states (wall ms)' },
  { key: 'runs', title: 'runs' },
];

export interface RestartSummaryRow {
  readonly mode: RestartMode;
  readonly size: number;
  readonly runningMs: number;
  readonly runningCpuMs: number;
  readonly floorMs: number;
  readonly floorCpuMs: number;
  readonly ratioCpu: number;
  readonly ratioWall: number;
  readonly firstServedMs: number;
  readonly firstRoutedMs: number;
  readonly heap: number;
  /** Heap per sleeping shape with every where clause distinct (backup rows; the scan rows repeat it). */
  readonly heapDistinct: number;
  readonly awakeAfterRestore: number;
  /** The restore states that took longest (median wall ms). */
  readonly slowest: string;
  readonly runs: number;
}

function slowestPhases(runs: readonly RestartRun[]): string {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.phases ?? {})))];
  const ms = names.map((name) => [name, median(runs.map((r) => r.phases?.[name] ?? 0))] as const).sort((a, b) => b[1] - a[1]);
  return ms.slice(0, 3).map(([name, v]) => `${name} ${round(v, 0)}`).join(', ');
}

export function summarizeRestart(results: readonly RestartCaseResult[]): { rows: RestartSummaryRow[]; chains: { dependencies: number; ms: number; msPerShape: number; started: number }[]; checks: TargetCheck[] } {
  const rows: RestartSummaryRow[] = [];
  for (const mode of ['backup', 'scan'] as const) {
    for (const result of results) {
      const runs = result.runs.filter((r) => r.mode === mode);
      const m = (f: (r: RestartRun) => number): number => median(runs.map(f));
      rows.push({
        mode,
        size: result.size,
        runningMs: m((r) => r.running.wallMs),
        runningCpuMs: m((r) => r.running.cpuMs),
        floorMs: m((r) => r.floor.wallMs),
        floorCpuMs: m((r) => r.floor.cpuMs),
        ratioCpu: m((r) => r.ratioCpu),
        ratioWall: m((r) => r.ratioWall),
        firstServedMs: m((r) => r.firstServedMs),
        firstRoutedMs: m((r) => r.firstRoutedMs),
        heap: m((r) => r.heapPerShape),
        heapDistinct: result.distinctHeapPerShape,
        awakeAfterRestore: Math.max(...runs.map((r) => r.awakeAfterRestore)),
        slowest: slowestPhases(runs),
        runs: runs.length,
      });
    }
  }
  const chainRuns = results.flatMap((r) => r.chains);
  const chains = chainRuns.map((c) => ({ dependencies: c.dependencies, ms: median(c.ms), msPerShape: median(c.ms) / (c.dependencies + 1), started: c.started }));
  const checks: TargetCheck[] = [];
  const largest = Math.max(...results.map((r) => r.size));
  const note = largest < 100_000 ? ' (target is at 100k)' : '';
  for (const mode of ['backup', 'scan'] as const) {
    const row = rows.find((r) => r.mode === mode && r.size === largest)!;
    checks.push(
      check(
        `restore from ${mode} to running within 10x of reading+parsing one JSON file of the definitions at ${fmtSize(largest)}${note}`,
        `${round(row.ratioCpu, 1)}x by CPU time (${round(row.runningCpuMs, 0)} vs ${round(row.floorCpuMs, 1)} ms), ${round(row.ratioWall, 1)}x by wall clock (${round(row.runningMs, 0)} vs ${round(row.floorMs, 1)} ms)`,
        row.ratioCpu,
        10,
        (v, l) => v <= l,
      ),
    );
  }
  for (const row of rows.filter((r) => r.mode === 'backup')) {
    checks.push(check(`first shape served / first transaction routed at ${fmtSize(row.size)} (from the start of restore)`, `${round(row.firstServedMs, 0)} ms / ${round(row.firstRoutedMs, 0)} ms`, null, 0, () => true));
  }
  const heapRow = rows.find((r) => r.mode === 'backup' && r.size === largest)!;
  checks.push(check(`heap per kept, sleeping shape under 600 B at ${fmtSize(largest)}`, `${round(heapRow.heap, 0)} B (the whole runtime after restore, per shape; ${heapRow.awakeAfterRestore} awake after restore)`, heapRow.heap, 600, (v, l) => v <= l));
  checks.push(
    check(
      `heap per kept, sleeping shape under 600 B at ${fmtSize(largest)}, every where clause distinct (one shape per user)`,
      `${round(heapRow.heapDistinct, 0)} B (the same data set with no where text repeated, from the backup: restore shares no where clause between records)`,
      heapRow.heapDistinct,
      600,
      (v, l) => v <= l,
    ),
  );
  const one = chains.find((c) => c.dependencies === 1);
  const ten = chains.find((c) => c.dependencies === 10);
  if (one && ten) {
    const growth = ten.msPerShape / one.msPerShape;
    checks.push(
      check(
        'waking a shape with a chain of 10 dependencies: linear in the closure (per-shape cost at 10 within 2x of at 1)',
        `${round(ten.ms, 1)} ms for 11 shapes (${round(ten.msPerShape, 2)} ms each; ${ten.started} actors started) vs ${round(one.ms, 1)} ms for 2 (${round(one.msPerShape, 2)} ms each): ${round(growth, 2)}x`,
        growth,
        2,
        (v, l) => v <= l,
      ),
    );
  }
  return { rows, chains, checks };
}

export const RESTART_DESCRIPTION = [
  'Restart (issue 13): openFileStorage(dir) + createShapeRuntime({ storage }) until running, from the backup and by scan,',
  'on a data dir in the file store layout (100 tables, 2% dependency shapes, 20% subquery shapes, the rest plain).',
  'Restore reads the metadata log and one listing; kept shapes sleep (registry entries) until a change, a read or an add needs them.',
  'Floor, measured just before each restore in the same process: readFile + JSON.parse of one file holding every definition.',
  'first served = the start of restore to the first log read of a subquery shape answered (it wakes, its dependency first);',
  'first routed = to the first transaction applied (an insert a plain shape selects). heap = the runtime after restore, per shape;',
  '"distinct wheres": the same from the backup of the data set with every where clause distinct (the plain data set repeats each on its 100 tables).',
  'Chains: use() of a shape whose where clause nests n subqueries (a chain of n dependency shapes), right after a restore.',
].join('\n');
