/**
 * Kill-at-any-point harness (issue 6). Runs scripts/crash-driver.ts in child
 * processes against a data dir, SIGKILLs each at a random moment (or lets a
 * fault injected through DurableFs kill it at a chosen file operation, mid-
 * write), then restores a copy of the crashed data dir in-process and checks
 * it against what the driver acknowledged (test/helpers/crash-check.ts). The
 * crashed dir itself (not the checked copy) goes to the next child, whose own
 * restore then repairs it: crashes during restore are part of the run.
 *
 * Children are started ahead of time (bundled once with esbuild, `--stdin`
 * mode) so their start-up overlaps the previous check.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { checkAfterCrash, emptyModel, parseAcks, type CrashModel } from '../helpers/crash-check.ts';
import { int, rng } from '../helpers/crash-workload.ts';
import type { FaultPoint, FaultSpec } from '../helpers/fault-fs.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let bundled: Promise<string | null> | null = null;
/**
 * The driver as one ES module (dependencies stay external), so a child starts in a fraction of
 * tsx's time. esbuild comes with tsx and vite; without it the driver runs under tsx (null).
 */
export function driverBundle(): Promise<string | null> {
  bundled ??= (async () => {
    const out = join(ROOT, 'node_modules', '.cache', 'shape-actors-crash', `driver-${process.pid}.mjs`);
    try {
      const { build } = await import('esbuild');
      await build({ entryPoints: [join(ROOT, 'scripts/crash-driver.ts')], bundle: true, platform: 'node', format: 'esm', outfile: out, packages: 'external', target: 'node20', logLevel: 'error' });
      return out;
    } catch {
      return null;
    }
  })();
  return bundled;
}

/** Deletes this process's driver bundle (afterAll). */
export async function removeDriverBundle(): Promise<void> {
  if (!bundled) return;
  const file = await bundled.catch(() => null);
  bundled = null;
  if (file) await rm(file, { force: true });
}

/** Where crash data dirs live: tmpfs when there is one (a process kill keeps the page cache, so fsync buys nothing here). */
export function crashRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

export interface WarmChild {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: string;
  stderr: string;
}

export async function startChild(): Promise<WarmChild> {
  const bundle = await driverBundle();
  const args = bundle ? [bundle, '--stdin'] : ['--import', 'tsx', join(ROOT, 'scripts/crash-driver.ts'), '--stdin'];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const warm: WarmChild = {
    child,
    stdout: '',
    stderr: '',
    ready: new Promise<void>((res, rej) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        warm.stdout += chunk.toString();
        if (warm.stdout.includes('ready\n')) res();
      });
      child.once('exit', () => rej(new Error(`driver exited before ready: ${warm.stderr}`)));
    }),
    exited: new Promise((res) => child.once('exit', (code, signal) => res({ code, signal }))),
  };
  warm.ready.catch(() => undefined);
  child.stderr!.on('data', (chunk: Buffer) => void (warm.stderr += chunk.toString()));
  child.stdin!.on('error', () => undefined);
  return warm;
}

export interface LifePlan {
  readonly seed: number;
  readonly ops: number;
  /** Kill this many ms after the driver reports its restore done (null: no timed kill). */
  readonly killAfterRestoreMs: number | null;
  /** Kill this many ms after the job was sent, possibly mid-restore (null: none). */
  readonly killAfterStartMs: number | null;
  readonly fault?: FaultSpec;
}

export interface LifeResult {
  readonly killed: boolean;
  readonly byFault: boolean;
  readonly acked: number;
}

export interface DirRun {
  readonly dir: string;
  readonly model: CrashModel;
  lives: number;
}

const FAULT_POINTS: readonly FaultPoint[] = ['backup', 'cascade-delete', 'log-append', 'definition', 'journal-append', 'table-append', 'table-compact', 'metadata-append'];

/** A life's plan from its seed: mostly random-moment kills, some at fault points (named ones, or the n-th file operation). */
export function planLife(seed: number): LifePlan {
  const rand = rng(seed);
  const r = rand();
  const ops = int(rand, 3, 14);
  if (r < 0.3) {
    const point = FAULT_POINTS[int(rand, 0, FAULT_POINTS.length - 1)]!;
    return { seed, ops, killAfterRestoreMs: null, killAfterStartMs: null, fault: { point, nth: int(rand, 1, point === 'backup' || point === 'cascade-delete' || point === 'table-compact' ? 2 : 6) } };
  }
  if (r < 0.45) return { seed, ops, killAfterRestoreMs: null, killAfterStartMs: null, fault: { point: 'any', nth: int(rand, 1, 40) } };
  if (r < 0.55) return { seed, ops, killAfterRestoreMs: null, killAfterStartMs: int(rand, 0, 120) };
  return { seed, ops, killAfterRestoreMs: int(rand, 0, 200), killAfterStartMs: null };
}

/** Runs one life of the driver on `run.dir`: start (pre-warmed), kill, check a copy, fold into the model. */
export async function runLife(run: DirRun, plan: LifePlan, warm: WarmChild | null, label: string): Promise<LifeResult> {
  warm ??= await startChild();
  const acks = `${run.dir}.acks-${run.lives}`;
  run.lives++;
  const t0 = Date.now();
  await warm.ready;
  const t1 = Date.now();
  const job = { dataDir: run.dir, acks, seed: plan.seed, ops: plan.ops, ...(plan.fault ? { fault: plan.fault } : {}) };
  const kill = (): void => void warm.child.kill('SIGKILL');
  const timers: NodeJS.Timeout[] = [];
  warm.child.stdin!.write(`${JSON.stringify(job)}\n`);
  if (plan.killAfterStartMs !== null) timers.push(setTimeout(kill, plan.killAfterStartMs));
  if (plan.killAfterRestoreMs !== null) {
    const delay = plan.killAfterRestoreMs;
    const onData = (): void => {
      if (warm.stdout.includes('restored\n')) {
        warm.child.stdout!.off('data', onData);
        timers.push(setTimeout(kill, delay));
      }
    };
    warm.child.stdout!.on('data', onData);
    onData();
  }
  // A life never hangs the suite: past 20 s it is killed like any other.
  timers.push(setTimeout(kill, 20_000));
  const exit = await warm.exited;
  for (const t of timers) clearTimeout(t);
  const killed = exit.signal === 'SIGKILL';
  if (!killed && exit.code !== 0) throw new Error(`${label}: driver failed (exit ${exit.code}): ${warm.stderr.slice(-2000)}`);
  const text = await readFile(acks, 'utf8').catch(() => '');
  const life = parseAcks(text);
  if (!killed && !life.done) throw new Error(`${label}: driver exited 0 without finishing`);

  if (!existsSync(run.dir)) {
    // Killed before the driver created the data dir: nothing can have been acknowledged.
    if (life.ackedAdds.length + life.ackedRemovals.length + life.ackedTxs.length > 0) throw new Error(`${label}: acknowledgements without a data dir`);
    await rm(acks, { force: true });
    return { killed, byFault: false, acked: 0 };
  }
  // Check a copy: the crashed dir itself goes on to the next driver as the crash left it.
  const copy = `${run.dir}.check`;
  await rm(copy, { recursive: true, force: true, maxRetries: 5 });
  await cp(run.dir, copy, { recursive: true });
  const t2 = Date.now();
  const runtime = await checkAfterCrash(copy, run.model, life, label).catch(async (error: unknown) => {
    // Keep the evidence: the crashed dir as the driver left it and its side file.
    await cp(run.dir, `${run.dir}.crashed`, { recursive: true });
    throw error;
  });
  await rm(acks, { force: true });
  const t3 = Date.now();
  // Invariant 6 (every third life): the crashed state restored by scan keeps the same shapes.
  if (run.lives % 3 === 0) {
    const scan = `${run.dir}.scan`;
    await rm(scan, { recursive: true, force: true, maxRetries: 5 });
    await cp(run.dir, scan, { recursive: true });
    await rm(join(scan, 'backup'), { recursive: true, force: true });
    const byScan = await createShapeRuntime({ dataDir: scan, createDataDir: false });
    const a = [...runtime.report.loaded].sort().join(' ');
    const b = [...byScan.report.loaded].sort().join(' ');
    byScan.actor.stop();
    await rm(scan, { recursive: true, force: true, maxRetries: 5 });
    if (a !== b) {
      runtime.actor.stop();
      throw new Error(`${label}: invariant 6: restore (${runtime.report.mode}) loaded ${a}, by scan ${b}`);
    }
  }
  await runtime.shutdown();
  await rm(copy, { recursive: true, force: true, maxRetries: 5 });
  if (process.env.CRASH_TIMING) console.log(`ready ${t1 - t0} run ${t2 - t1} check ${t3 - t2} shutdown ${Date.now() - t3} ${JSON.stringify(plan)}`);
  return { killed, byFault: killed && plan.fault !== undefined && !warm.stdout.includes('done\n'), acked: life.ackedAdds.length + life.ackedRemovals.length + life.ackedTxs.length };
}

export interface KillCampaign {
  readonly seed: number;
  /** Kills to reach (lives that ended without a kill do not count). */
  readonly kills: number;
  readonly livesPerDir: number;
  readonly lanes: number;
  /** Stop early (with what was reached) past this many ms, but not before `minKills` kills. */
  readonly budgetMs?: number;
  /** Kills the campaign reaches whatever the budget: a loaded machine takes longer, it does not check less. */
  readonly minKills?: number;
  readonly log?: (line: string) => void;
}

export interface CampaignResult {
  kills: number;
  lives: number;
  faultKills: Map<string, number>;
  acked: number;
  ms: number;
}

/**
 * Runs `lanes` data dirs in parallel, each through lives until `kills` kills
 * are reached. Life i of the campaign has seed `seed * 100003 + i`: a failure
 * names it, and FC-style replay is `CRASH_SEED=<seed>`.
 */
export async function runKillCampaign(c: KillCampaign): Promise<CampaignResult> {
  const started = Date.now();
  const base = join(crashRoot(), `shape-actors-crash-${process.pid}-${c.seed}`);
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  const result: CampaignResult = { kills: 0, lives: 0, faultKills: new Map(), acked: 0, ms: 0 };
  let nextLife = 0;
  let stop = false;
  try {
    await Promise.all(
      Array.from({ length: c.lanes }, async (_, lane) => {
        let run: DirRun | null = null;
        let dirCount = 0;
        let warm = await startChild();
        try {
        const withinBudget = (): boolean => c.budgetMs === undefined || Date.now() - started < c.budgetMs || result.kills < (c.minKills ?? 0);
        while (!stop && result.kills < c.kills && withinBudget()) {
          if (!run || run.lives >= c.livesPerDir) {
            run = { dir: join(base, `lane${lane}-dir${dirCount++}`), model: emptyModel(), lives: 0 };
          }
          const i = nextLife++;
          const plan = planLife(c.seed * 100003 + i);
          const current = warm;
          warm = await startChild(); // warms up while this life runs and is checked
          const label = `crash seed ${c.seed}, life ${i} (life seed ${plan.seed}, ${run.dir}, life ${run.lives} of that dir, plan ${JSON.stringify(plan)})`;
          const life = await runLife(run, plan, current, label);
          result.lives++;
          result.acked += life.acked;
          if (life.killed) result.kills++;
          if (life.byFault) result.faultKills.set(plan.fault!.point, (result.faultKills.get(plan.fault!.point) ?? 0) + 1);
          if (result.lives % 25 === 0) c.log?.(`${result.lives} lives, ${result.kills} kills, ${Date.now() - started} ms`);
        }
        } catch (error) {
          stop = true;
          throw error;
        } finally {
          warm.child.kill('SIGKILL');
          await warm.exited;
        }
      }),
    );
  } catch (error) {
    const kept = join(tmpdir(), `shape-actors-crash-failure-${c.seed}-${process.pid}`);
    await cp(base, kept, { recursive: true }).catch(() => undefined);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n(data dirs, side files and the crashed state kept in ${kept})`);
  } finally {
    result.ms = Date.now() - started;
    await rm(base, { recursive: true, force: true, maxRetries: 5 });
  }
  return result;
}

export const NAMED_FAULT_POINTS = FAULT_POINTS;

/**
 * Every named fault point, deterministically: a data dir is first filled by a
 * driver run without faults, then copies of it get a run that the fault kills
 * at the point's 1st and 2nd occurrence. A point that does not occur in a run
 * (the workload did not reach it) is tried with the next seed.
 */
export async function runFaultMatrix(seed: number, nths: readonly number[], log?: (line: string) => void): Promise<Map<string, number>> {
  const base = join(crashRoot(), `shape-actors-faults-${process.pid}-${seed}`);
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  const fired = new Map<string, number>();
  try {
    // One set-up dir (a driver run without faults), copied for every fault run.
    const setup: DirRun = { dir: join(base, 'setup'), model: emptyModel(), lives: 0 };
    const setupPlan: LifePlan = { seed: seed * 1009, ops: 30, killAfterRestoreMs: null, killAfterStartMs: null };
    await runLife(setup, setupPlan, null, `fault matrix ${seed}: setup`);
    for (const [p, point] of FAULT_POINTS.entries()) {
      for (const nth of nths) {
        for (let attempt = 0; attempt < 6; attempt++) {
          const run: DirRun = { dir: join(base, `${point}-${nth}-${attempt}`), model: structuredClone(setup.model), lives: setup.lives };
          await cp(setup.dir, run.dir, { recursive: true });
          const plan: LifePlan = { seed: seed * 7919 + p * 101 + nth * 13 + attempt, ops: 25, killAfterRestoreMs: null, killAfterStartMs: null, fault: { point, nth } };
          const result = await runLife(run, plan, null, `fault matrix ${seed}: ${point} #${nth} (attempt ${attempt}, plan ${JSON.stringify(plan)})`);
          await rm(run.dir, { recursive: true, force: true });
          if (result.byFault) {
            fired.set(point, (fired.get(point) ?? 0) + 1);
            log?.(`fault ${point} #${nth}: killed (attempt ${attempt})`);
            break;
          }
        }
      }
    }
  } finally {
    await rm(base, { recursive: true, force: true, maxRetries: 5 });
  }
  return fired;
}
