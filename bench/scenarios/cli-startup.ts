/**
 * Scenario 4, CLI start-up: `shape-actors --version` and `list` on a data dir with no shapes, each
 * a fresh process, the built CLI (`node dist/cli.js`, what `bin` runs) against the sources through
 * tsx (`node --import tsx src/cli.ts`, what the CLI was before the build). Runs alternate between
 * the two, so a burst of load hits both alike; CPU time is the child's own (user + system, from
 * /proc/self/stat's children fields once it is reaped), wall clock beside it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { BENCH_DIR, check, type Column, type TargetCheck } from '../lib/report.ts';
import { median, round } from '../lib/stats.ts';

const ROOT = join(BENCH_DIR, '..');
const LAUNCHERS = {
  built: [join(ROOT, 'dist', 'cli.js')],
  tsx: ['--import', 'tsx', join(ROOT, 'src', 'cli.ts')],
} as const;
type Launcher = keyof typeof LAUNCHERS;

/** Target: the built CLI starts in at most this share of tsx's CPU time. */
const TARGET_RATIO = 0.5;

export const CLI_STARTUP_DESCRIPTION = [
  'CLI start-up, one fresh process per run: `--version`, and `list` on a data dir with no shapes (restore, list, shutdown: a backup is written),',
  'the built CLI (node dist/cli.js, what package.json bin runs) against the sources through tsx; runs alternate between the two.',
  'CPU = the child process user + system time; ratio = built / tsx, medians of the runs.',
].join('\n');

export const CLI_STARTUP_COLUMNS: readonly Column[] = [
  { key: 'command', title: 'command' },
  { key: 'builtCpuMs', title: 'built cpu ms', digits: 0 },
  { key: 'tsxCpuMs', title: 'tsx cpu ms', digits: 0 },
  { key: 'ratioCpu', title: 'built/tsx cpu', digits: 2 },
  { key: 'builtWallMs', title: 'built wall ms', digits: 0 },
  { key: 'tsxWallMs', title: 'tsx wall ms', digits: 0 },
  { key: 'ratioWall', title: 'built/tsx wall', digits: 2 },
];

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

export interface CliStartupRow {
  readonly command: string;
  readonly builtCpuMs: number;
  readonly tsxCpuMs: number;
  readonly ratioCpu: number;
  readonly builtWallMs: number;
  readonly tsxWallMs: number;
  readonly ratioWall: number;
  readonly raw: Readonly<Record<Launcher, readonly Sample[]>>;
}

/** CPU ms of this process's reaped children so far (Linux: utime + stime of children, in clock ticks). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the `(comm)` field: state is field 3, so cutime (16) and cstime (17) are at 13 and 14 here.
  const ticks = Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

function runOnce(launcher: Launcher, args: readonly string[]): Promise<Sample> {
  const cpuBefore = childrenCpuMs();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...LAUNCHERS[launcher], ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) reject(new Error(`${launcher} ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ wallMs, cpuMs: childrenCpuMs() - cpuBefore });
    });
  });
}

export async function runCliStartup(options: { readonly runs: number; readonly log: (line: string) => void }): Promise<{ rows: CliStartupRow[]; checks: TargetCheck[] }> {
  if (!existsSync(LAUNCHERS.built[0])) throw new Error('dist/cli.js is missing: npm run build first');
  const dataDir = await mkdtemp(join(tmpdir(), 'shape-actors-bench-cli-'));
  try {
    // A data dir with no shapes, made the way any is (restored, then shut down cleanly).
    await (await createShapeRuntime({ dataDir: join(dataDir, 'data') })).shutdown();
    const commands: { name: string; args: string[] }[] = [
      { name: '--version', args: ['--version'] },
      { name: 'list (no shapes)', args: ['list', '--data-dir', join(dataDir, 'data')] },
    ];
    const rows: CliStartupRow[] = [];
    for (const command of commands) {
      // One untimed run each: the page cache holds the files afterwards, as it does for a user.
      for (const launcher of ['built', 'tsx'] as const) await runOnce(launcher, command.args);
      const raw: Record<Launcher, Sample[]> = { built: [], tsx: [] };
      for (let i = 0; i < options.runs; i++) {
        for (const launcher of i % 2 === 0 ? (['built', 'tsx'] as const) : (['tsx', 'built'] as const)) raw[launcher].push(await runOnce(launcher, command.args));
      }
      const med = (launcher: Launcher, key: keyof Sample) => median(raw[launcher].map((s) => s[key]));
      const row: CliStartupRow = {
        command: command.name,
        builtCpuMs: med('built', 'cpuMs'),
        tsxCpuMs: med('tsx', 'cpuMs'),
        ratioCpu: round(med('built', 'cpuMs') / med('tsx', 'cpuMs'), 3),
        builtWallMs: med('built', 'wallMs'),
        tsxWallMs: med('tsx', 'wallMs'),
        ratioWall: round(med('built', 'wallMs') / med('tsx', 'wallMs'), 3),
        raw,
      };
      options.log(`cli ${command.name}: built ${round(row.builtCpuMs, 0)} ms cpu, tsx ${round(row.tsxCpuMs, 0)} ms cpu`);
      rows.push(row);
    }
    const checks = rows.map((r) =>
      check(`CLI ${r.command}: built within ${TARGET_RATIO}x of tsx (cpu)`, `${round(r.builtCpuMs, 0)} ms vs ${round(r.tsxCpuMs, 0)} ms = ${round(r.ratioCpu, 2)}x`, r.ratioCpu, TARGET_RATIO, (v, limit) => v <= limit),
    );
    return { rows, checks };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
