/**
 * Scenario 2, full restore: `createShapeRuntime({ dataDir })` from a backup
 * and from a storage scan (read, validate, spawn every actor, reach
 * `running`), against the floor measured just before it in the same process:
 * reading the same files plus creating and starting the same number of bare
 * standalone XState actors.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { openFileStorage } from '../../src/storage/file-store.ts';
import { readDataDirFiles, startTrivialActors, stopTrivialActors } from '../lib/floor.ts';
import { PhaseClock, type RestorePhaseName } from '../lib/phase-clock.ts';
import { profiled, profilingEnabled, type ProfileSummary } from '../lib/profile.ts';
import { check, type Column, type TargetCheck } from '../lib/report.ts';
import { buildDataset, writeDataDir, type Dataset } from '../lib/shape-dataset.ts';
import { addTimings, fullGc, heapAfterGc, median, round, timed, type Timing } from '../lib/stats.ts';
import { fmtSize } from './validation.ts';

export type RestoreMode = 'backup' | 'scan';

export interface RestoreCaseArgs {
  readonly size: number;
  readonly runs: number;
}

export interface RestoreRun {
  readonly mode: RestoreMode;
  readonly restore: Timing;
  readonly floorFiles: Timing;
  readonly floorActors: Timing;
  readonly floor: Timing;
  /** restore / floor, this run (paired: measured back to back), by wall-clock and by CPU time. */
  readonly ratioWall: number;
  readonly ratioCpu: number;
  readonly actors: number;
  /** CPU and wall time of each part of the restore (bench/lib/phase-clock.ts). */
  readonly phases: Partial<Record<RestorePhaseName, Timing>>;
  /** Wall ms of validatingDependencies (report.phases). */
  readonly validateWallMs: number;
  /** Heap the restored runtime holds per shape (all of it: registry, records, parsed where clauses, actors, report). */
  readonly heapPerShape: number;
  /** Heap per bare standalone actor, same run. */
  readonly floorHeapPerActor: number;
  /** Clean shutdown of the restored runtime (stops every actor, writes the backup with fsync). */
  readonly shutdown: Timing;
  readonly floorStop: Timing;
}

export interface RestoreCaseResult {
  readonly size: number;
  readonly counts: Dataset['counts'];
  readonly actors: number;
  readonly buildMs: number;
  readonly writeMs: number;
  readonly runs: readonly RestoreRun[];
  readonly profiles: Record<string, ProfileSummary>;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Runs in a child process (bench/worker.ts). */
export async function restoreCase(args: RestoreCaseArgs): Promise<RestoreCaseResult> {
  const root = await mkdtemp(join(tmpdir(), 'shape-actors-bench-restore-'));
  try {
    await warmUp(join(root, 'warmup'));
    let t0 = performance.now();
    const dataset = await buildDataset({ size: args.size });
    const buildMs = performance.now() - t0;
    const dir = join(root, 'data');
    t0 = performance.now();
    await writeDataDir(dir, dataset);
    const writeMs = performance.now() - t0;
    const backupText = await readFile(join(dir, 'backup', 'registry.jsonl'), 'utf8');
    log(`  restore ${fmtSize(args.size)}: data dir built (${round(buildMs / 1000, 1)} s to make the shapes, ${round(writeMs / 1000, 1)} s to write them)`);
    await readDataDirFiles(dir, true); // page cache: every run reads warm files

    const runs: RestoreRun[] = [];
    const profiles: Record<string, ProfileSummary> = {};
    for (let r = 0; r < args.runs; r++) {
      const modes: RestoreMode[] = r % 2 === 0 ? ['backup', 'scan'] : ['scan', 'backup'];
      for (const mode of modes) {
        const profileThis = profilingEnabled() && r === args.runs - 1;
        const run = await restoreRun(dir, mode, backupText, dataset, profileThis ? `restore-${mode}-${fmtSize(args.size)}` : null);
        if (run.profile) profiles[mode] = run.profile;
        runs.push(run.result);
        const x = run.result;
        log(
          `  restore ${fmtSize(args.size)} ${mode} run ${r + 1}/${args.runs}: wall ${round(x.restore.wallMs, 0)} ms vs floor ${round(x.floor.wallMs, 0)} (${round(x.ratioWall, 2)}x), ` +
            `cpu ${round(x.restore.cpuMs, 0)} ms vs floor ${round(x.floor.cpuMs, 0)} (${round(x.ratioCpu, 2)}x)`,
        );
      }
    }
    return { size: args.size, counts: dataset.counts, actors: runs[0]!.actors, buildMs, writeMs, runs, profiles };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The data dir with the backup (`backup`) or without one (`scan`). */
export async function prepare(dir: string, mode: RestoreMode, backupText: string): Promise<void> {
  await rm(join(dir, 'backup'), { recursive: true, force: true });
  if (mode === 'backup') {
    await mkdir(join(dir, 'backup'), { recursive: true });
    await writeFile(join(dir, 'backup', 'registry.jsonl'), backupText);
  }
}

async function restoreRun(
  dir: string,
  mode: RestoreMode,
  backupText: string,
  dataset: Dataset,
  profileName: string | null,
): Promise<{ result: RestoreRun; profile: ProfileSummary | null }> {
  await prepare(dir, mode, backupText);

  // Floor: the same files, then as many bare actors as the restore spawns.
  fullGc();
  const files = await readDataDirFiles(dir, mode === 'backup');
  const actorCount = dataset.size + dataset.withMaterializer;
  const h0 = heapAfterGc();
  const started = startTrivialActors(actorCount);
  const floorHeapPerActor = (heapAfterGc() - h0) / actorCount;
  const floorStop = stopTrivialActors(started.actors);
  started.actors.length = 0;

  // The restore itself.
  const heapBefore = heapAfterGc();
  const clock = new PhaseClock();
  const open = async (): Promise<ShapeRuntime> => {
    const storage = await openFileStorage(dir);
    const runtime = await createShapeRuntime({ storage: clock.wrap(storage) });
    clock.running();
    return { ...runtime, shutdown: () => runtime.shutdown().finally(() => storage.close()) };
  };
  // (timed without the profiler's stop)
  const { value: runtime, timing: restore, profile } = await profiled(profileName, open);
  const heapPerShape = (heapAfterGc() - heapBefore) / dataset.size;
  const report = runtime.report;
  const expectedMode = mode === 'backup' ? 'backup' : 'storage';
  if (report.mode !== expectedMode || report.loaded.length !== dataset.size || report.removed.length !== 0) {
    throw new Error(`restore ${mode}: expected mode ${expectedMode} with ${dataset.size} shapes and no removal, got ${report.mode}, ${report.loaded.length} loaded, ${report.removed.length} removed`);
  }
  const phases = clock.phases();
  const validateWallMs = report.phases.find((p) => p.phase === 'validatingDependencies')?.ms ?? Number.NaN;
  const { timing: shutdown } = await timed(() => runtime.shutdown());
  const floor = addTimings(files.timing, started.timing);
  return {
    result: {
      mode,
      restore,
      floorFiles: files.timing,
      floorActors: started.timing,
      floor,
      ratioWall: restore.wallMs / floor.wallMs,
      ratioCpu: restore.cpuMs / floor.cpuMs,
      actors: report.spawnOrder.length,
      phases,
      validateWallMs,
      heapPerShape,
      floorHeapPerActor,
      shutdown,
      floorStop,
    },
    profile,
  };
}

/** JIT warm-up: one small restore and floor, so the measured runs do not pay for compilation. */
async function warmUp(dir: string): Promise<void> {
  const dataset = await buildDataset({ size: 1_000, seed: 2 });
  await writeDataDir(dir, dataset);
  await readDataDirFiles(dir, true);
  stopTrivialActors(startTrivialActors(2_000).actors);
  const runtime = await createShapeRuntime({ dataDir: dir });
  await runtime.shutdown();
  await rm(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- summary (parent process)

export const RESTORE_COLUMNS: readonly Column[] = [
  { key: 'mode', title: 'mode' },
  { key: 'size', title: 'shapes' },
  { key: 'actors', title: 'actors' },
  { key: 'restoreMs', title: 'restore ms', digits: 0 },
  { key: 'floorMs', title: 'floor ms', digits: 0 },
  { key: 'ratioWall', title: 'wall ratio' },
  { key: 'restoreCpuMs', title: 'restore cpu ms', digits: 0 },
  { key: 'floorFilesCpuMs', title: 'floor cpu: files', digits: 0 },
  { key: 'floorActorsCpuMs', title: '+ actors', digits: 0 },
  { key: 'ratioCpu', title: 'cpu ratio' },
  { key: 'read', title: 'cpu: read', digits: 0 },
  { key: 'parse', title: 'parse+plan', digits: 0 },
  { key: 'validateWall', title: 'plan wall', digits: 0 },
  { key: 'commit', title: 'commit', digits: 0 },
  { key: 'spawn', title: 'spawn', digits: 0 },
  { key: 'heap', title: 'heap B/shape', digits: 0 },
  { key: 'runs', title: 'runs' },
];

export interface RestoreSummaryRow {
  readonly mode: RestoreMode;
  readonly size: number;
  readonly actors: number;
  /** Wall-clock medians. */
  readonly restoreMs: number;
  readonly floorMs: number;
  readonly floorFilesMs: number;
  readonly floorActorsMs: number;
  /** CPU-time medians (user + system, every thread of the process). */
  readonly restoreCpuMs: number;
  readonly floorCpuMs: number;
  readonly floorFilesCpuMs: number;
  readonly floorActorsCpuMs: number;
  /** Medians of the per-run (paired) ratios. */
  readonly ratioWall: number;
  readonly ratioCpu: number;
  readonly usPerShape: number;
  /** CPU ms of the restore's parts (bench/lib/phase-clock.ts). */
  readonly read: number;
  readonly parse: number;
  /** Wall ms of validatingDependencies alone (report.phases): planRestore and the CASCADE.STOP events. */
  readonly validateWall: number;
  readonly commit: number;
  readonly spawn: number;
  readonly heap: number;
  readonly floorHeapPerActor: number;
  readonly shutdownMs: number;
  readonly floorStopMs: number;
  readonly runs: number;
}

export function summarizeRestore(results: readonly RestoreCaseResult[]): { rows: RestoreSummaryRow[]; checks: TargetCheck[] } {
  const rows: RestoreSummaryRow[] = [];
  for (const mode of ['backup', 'scan'] as const) {
    for (const result of results) {
      const runs = result.runs.filter((r) => r.mode === mode);
      const m = (f: (r: RestoreRun) => number): number => median(runs.map(f).filter(Number.isFinite));
      const restoreMs = m((r) => r.restore.wallMs);
      rows.push({
        mode,
        size: result.size,
        actors: result.actors,
        restoreMs,
        floorMs: m((r) => r.floor.wallMs),
        floorFilesMs: m((r) => r.floorFiles.wallMs),
        floorActorsMs: m((r) => r.floorActors.wallMs),
        restoreCpuMs: m((r) => r.restore.cpuMs),
        floorCpuMs: m((r) => r.floor.cpuMs),
        floorFilesCpuMs: m((r) => r.floorFiles.cpuMs),
        floorActorsCpuMs: m((r) => r.floorActors.cpuMs),
        ratioWall: m((r) => r.ratioWall),
        ratioCpu: m((r) => r.ratioCpu),
        usPerShape: (restoreMs * 1000) / result.size,
        read: m((r) => r.phases.read?.cpuMs ?? Number.NaN),
        parse: m((r) => r.phases.parse?.cpuMs ?? Number.NaN),
        validateWall: m((r) => r.validateWallMs),
        commit: m((r) => r.phases.commit?.cpuMs ?? Number.NaN),
        spawn: m((r) => r.phases.spawn?.cpuMs ?? Number.NaN),
        heap: m((r) => r.heapPerShape),
        floorHeapPerActor: m((r) => r.floorHeapPerActor),
        shutdownMs: m((r) => r.shutdown.wallMs),
        floorStopMs: m((r) => r.floorStop.wallMs),
        runs: runs.length,
      });
    }
  }
  const checks: TargetCheck[] = [];
  const largest = Math.max(...results.map((r) => r.size));
  for (const mode of ['backup', 'scan'] as const) {
    const row = rows.find((r) => r.mode === mode && r.size === largest)!;
    checks.push(
      check(
        `restore from ${mode} to running within 1.5x of the floor at ${fmtSize(largest)}${largest < 100_000 ? ' (target is at 100k)' : ''}`,
        `restore/floor = ${round(row.ratioCpu, 2)}x by CPU time (${round(row.restoreCpuMs, 0).toLocaleString('en-US')} vs ${round(row.floorCpuMs, 0).toLocaleString('en-US')} ms), ` +
          `${round(row.ratioWall, 2)}x by wall clock (${round(row.restoreMs, 0).toLocaleString('en-US')} vs ${round(row.floorMs, 0).toLocaleString('en-US')} ms)`,
        row.ratioCpu,
        1.5,
        (v, l) => v <= l,
      ),
    );
  }
  return { rows, checks };
}

export const RESTORE_DESCRIPTION = [
  'Full restore: openFileStorage(dir) + createShapeRuntime({ storage }) until running (read, validate, commit, spawn every actor),',
  'from the backup and from a storage scan, on a data dir written in the file store layout:',
  '100 tables, 2% dependency shapes (with materializers), 20% subquery shapes, the rest plain.',
  'Floor, measured just before each restore in the same process: reading the same files',
  '(64 at a time, as restore does) + createActor(trivialMachine).start() for as many actors.',
  'cpu: read / parse+plan / commit / spawn = CPU ms of the restore\'s parts (bench/lib/phase-clock.ts): reading the',
  'files (JSON, schema, log decoding); normalizeShape of every definition (libpg-query) + planRestore + CASCADE.STOPs;',
  'committingRestore (row store, materializer logs); spawning. plan wall = validatingDependencies alone, wall ms.',
  'heap = the restored runtime\'s heap per shape after GC (everything it holds: records, parsed where clauses, actors).',
  'Ratios are medians of per-run ratios; the target is judged on CPU time (user + system, all threads),',
  'which machine load does not inflate; wall-clock figures are shown beside it.',
].join('\n');
