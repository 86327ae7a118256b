/**
 * `npm run bench` (1k, 10k, 100k shapes) and `npm run bench -- --quick` (1k
 * and 10k, about three minutes). Each scenario prints a table and its targets
 * (PASS/FAIL) and writes bench/results/<scenario>.json with the raw figures.
 *
 * Options:
 *   --quick              1k and 10k shapes, fewer runs
 *   --only=a,b           scenarios to run: validation, restore, restart (issue 13: to running, first served/routed, heap asleep, wake chains), runtime (with its routing cases), routing (those alone), cli (CLI start-up: needs npm run build), rows (the embedded row store), serving, postgres (beside a real Postgres: $SHAPE_ACTORS_TEST_DATABASE_URL, or one scripts/postgres-test-server.sh starts)
 *   --sizes=1000,10000   override the sizes
 *   --runs=N             runs per case (medians are over these; default 3, --quick: 2 at 1k, 1 above)
 *   --profile            CPU-profile the measured sections (bench/results/profiles/*.cpuprofile)
 *   --no-file-store      runtime: skip transactions through the file store (done up to 10k; --quick: 1k)
 *   --kinds=eq,subquery  routing: the cases to run (eq, subquery, like; default all)
 *   --routing-results=F  write the routing cases to bench/results/F.json (F=routing-before on the code before a change)
 *
 * Every heavy case runs in its own child process (fresh heap); the floors and
 * baselines each figure is compared with are measured in that same process.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runInChild } from './lib/child.ts';
import { formatChecks, formatTable, RESULTS_DIR, writeResults, type TargetCheck } from './lib/report.ts';
import { HAVE_GC, round } from './lib/stats.ts';
import { RESTORE_COLUMNS, RESTORE_DESCRIPTION, summarizeRestore, type RestoreCaseResult } from './scenarios/restore.ts';
import { RESTART_COLUMNS, RESTART_DESCRIPTION, summarizeRestart, type RestartCaseResult } from './scenarios/restart.ts';
import type { RoutingCaseResult } from './scenarios/routing.ts';
import { ROUTING_COLUMNS, ROUTING_DESCRIPTION, summarizeRouting } from './scenarios/routing-summary.ts';
import { RUNTIME_COLUMNS, RUNTIME_DESCRIPTION, summarizeRuntime, transactionCount, type RuntimeCaseResult } from './scenarios/runtime.ts';
import { SERVING_COLUMNS, SERVING_DESCRIPTION, summarizeServing, type InitialSyncResult, type LiveResult } from './scenarios/serving.ts';
import { ROUTING_KINDS } from './lib/routing-dataset.ts';
import { CLI_STARTUP_COLUMNS, CLI_STARTUP_DESCRIPTION, runCliStartup } from './scenarios/cli-startup.ts';
import { ADD_COLUMNS, HISTORY_COLUMNS, ROWS_DESCRIPTION, summarizeRows, type AddCaseResult, type HistoryCaseResult } from './scenarios/row-store.ts';
import { FOLLOW_COLUMNS, POSTGRES_DESCRIPTION, SOAK_COLUMNS, summarizePostgres, type FollowCaseResult, type SoakCaseResult } from './scenarios/postgres.ts';
import { acquireServer } from '../test/integration/postgres-harness.ts';
import { fmtSize, VALIDATION_COLUMNS, VALIDATION_DESCRIPTION, type ValidationRow } from './scenarios/validation.ts';
import type { TargetCheck as Check } from './lib/report.ts';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const option = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const quick = flag('quick');
const sizes = option('sizes')?.split(',').map(Number) ?? (quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]);
const only = new Set(option('only')?.split(',') ?? ['validation', 'restore', 'restart', 'runtime', 'cli', 'rows', 'serving', 'postgres']);
// The routing cases are part of the runtime scenario; `--only=routing` runs them alone.
if (only.has('runtime')) only.add('routing');
const runsOption = option('runs');
const profileDir = flag('profile') ? join(RESULTS_DIR, 'profiles') : undefined;
const fileStore = !flag('no-file-store');
/** Runs per case: 3 (medians); --quick runs 1k cases twice and 10k once (about three minutes in all). */
const runsFor = (size: number): number => Number(runsOption ?? (quick ? (size > 1_000 ? 1 : 2) : 3));

if (!HAVE_GC) console.warn('warning: run with node --expose-gc (npm run bench does): heap figures need it');

const allChecks: (Check & { scenario: string })[] = [];
const started = performance.now();
const mode = quick ? 'quick' : 'full';
const sizesText = sizes.map(fmtSize).join(', ');

/** What a scenario hands back: its results file's contents beyond the common fields, its table and its checks. */
interface ScenarioOutcome {
  readonly title: string;
  readonly description: string;
  /** The results file's name (default: the scenario's). */
  readonly resultsName?: string;
  /** Whether the sizes apply (the header then names them). */
  readonly sized?: boolean;
  readonly checks: readonly TargetCheck[];
  readonly table: string;
  /** Written to bench/results/<resultsName>.json beside mode, description, targets and seconds. */
  readonly results: Record<string, unknown>;
}

/** Runs one scenario when asked for (`--only`): times it, writes its results, prints its table and targets. */
async function scenario(name: string, run: () => Promise<ScenarioOutcome | null>): Promise<void> {
  if (!only.has(name)) return;
  const t0 = performance.now();
  const outcome = await run();
  if (!outcome) return;
  const { title, description, checks, table } = outcome;
  const file = writeResults(outcome.resultsName ?? name, { mode, description, ...outcome.results, targets: checks, seconds: round((performance.now() - t0) / 1000, 1) });
  console.log(`\n== ${title} (${mode}${outcome.sized === false ? '' : `: ${sizesText}`}) ==`);
  console.log(description);
  console.log();
  console.log(table);
  if (checks.length > 0) {
    console.log();
    console.log(formatChecks(checks));
  }
  console.log(`-> ${file}`);
  allChecks.push(...checks.map((c) => ({ ...c, scenario: name })));
}

const profiling = profileDir ? { profileDir } : {};
const MEDIANS = 'milliseconds, median of the runs';
const PER_RUN_RATIOS = 'median of per-run restore/floor ratios (each pair measured back to back)';

await scenario('validation', async () => {
  const result = await runInChild<{ rows: ValidationRow[]; checks: TargetCheck[]; table: Record<string, string | number | null>[] }>(
    'validation',
    { sizes, baselineBudgetMs: quick ? 1_000 : 30_000, rounds: quick ? 5 : 15 },
    profiling,
  );
  return {
    title: 'validation',
    description: VALIDATION_DESCRIPTION,
    checks: result.checks,
    table: formatTable(VALIDATION_COLUMNS, result.table),
    results: { sizes, units: { oursMs: 'ms per planRestore call (median of the samples)', nsPerUnit: 'ns per (loaded shape + dependency edge)' }, rows: result.rows },
  };
});

await scenario('restore', async () => {
  const results: RestoreCaseResult[] = [];
  for (const size of sizes) results.push(await runInChild<RestoreCaseResult>('restore', { size, runs: runsFor(size) }, profiling));
  const { rows, checks } = summarizeRestore(results);
  return {
    title: 'restore',
    description: RESTORE_DESCRIPTION,
    checks,
    table: formatTable(RESTORE_COLUMNS, rows.map((r) => ({ ...r, ratioWall: `${round(r.ratioWall, 2)}x`, ratioCpu: `${round(r.ratioCpu, 2)}x` }))),
    results: { sizes, units: { ms: MEDIANS, ratio: PER_RUN_RATIOS, heap: 'bytes per shape' }, rows, cases: results },
  };
});

await scenario('restart', async () => {
  const results: RestartCaseResult[] = [];
  for (const [i, size] of sizes.entries()) results.push(await runInChild<RestartCaseResult>('restart', { size, runs: runsFor(size), chains: i === 0 }, profiling));
  const { rows, chains, checks } = summarizeRestart(results);
  const chainTable = formatTable(
    [{ key: 'dependencies', title: 'chain' }, { key: 'ms', title: 'wake ms', digits: 1 }, { key: 'msPerShape', title: 'ms per shape', digits: 2 }, { key: 'started', title: 'actors started' }],
    chains,
  );
  return {
    title: 'restart',
    description: RESTART_DESCRIPTION,
    checks,
    table: `${formatTable(RESTART_COLUMNS, rows.map((r) => ({ ...r, ratioCpu: `${round(r.ratioCpu, 1)}x`, ratioWall: `${round(r.ratioWall, 1)}x` })))}\n\n${chainTable}`,
    results: { sizes, units: { ms: MEDIANS, ratio: PER_RUN_RATIOS, heap: 'bytes per kept shape' }, rows, chains, cases: results },
  };
});

await scenario('runtime', async () => {
  const results: RuntimeCaseResult[] = [];
  for (const size of sizes) {
    results.push(await runInChild<RuntimeCaseResult>('runtime', { size, runs: runsFor(size), fileStore: fileStore && size <= (quick ? 1_000 : 10_000) }, profiling));
  }
  const { rows, checks } = summarizeRuntime(results);
  return {
    title: 'runtime',
    description: RUNTIME_DESCRIPTION,
    checks,
    table: formatTable(
      RUNTIME_COLUMNS,
      rows.map((r) => ({ ...r, txFloorRatio: `${round(r.txFloorRatio, 1)}x`, shutdownRatio: `${round(r.shutdownRatio, 2)}x`, cascadeRatio: `${round(r.cascadeRatio, 2)}x` })),
    ),
    results: {
      sizes,
      transactionsPerRun: Object.fromEntries(sizes.map((s) => [s, transactionCount(s)])),
      units: { ms: MEDIANS, ratio: 'median of per-run ratios to the floor measured in the same process', heap: 'bytes' },
      rows,
      cases: results,
    },
  };
});

await scenario('routing', async () => {
  const results: RoutingCaseResult[] = [];
  const kinds = option('kinds')?.split(',') ?? ROUTING_KINDS;
  for (const kind of ROUTING_KINDS.filter((k) => kinds.includes(k))) {
    // The LIKE mix is linear by design: up to 10k shapes.
    for (const size of kind === 'like' ? sizes.filter((s) => s <= 10_000) : sizes) {
      results.push(await runInChild<RoutingCaseResult>('routing', { kind, size, runs: runsFor(size), budgetMs: quick ? 600 : 1_500 }, profiling));
    }
  }
  // eq again at the smallest and largest N with Node's default semi-space: what a service started without the flag gets (reported).
  if (kinds.includes('eq') && sizes.length > 1) {
    for (const size of [sizes[0]!, sizes.at(-1)!]) {
      results.push(await runInChild<RoutingCaseResult>('routing', { kind: 'eq', size, runs: runsFor(size), budgetMs: quick ? 600 : 1_500 }, { ...profiling, semiSpaceMiB: null }));
    }
  }
  const { rows, checks } = summarizeRouting(results);
  return {
    title: 'runtime: routing',
    description: ROUTING_DESCRIPTION,
    resultsName: option('routing-results') ?? 'routing',
    checks,
    table: formatTable(
      ROUTING_COLUMNS,
      rows.map((r) => ({ ...r, semiSpace: r.semiSpaceMiB === null ? 'node default' : `${r.semiSpaceMiB} MiB`, routerFloorRatio: r.routerFloorRatio === null ? null : `${round(r.routerFloorRatio, 1)}x`, speedup: r.speedup === null ? null : `${round(r.speedup, 1)}x` })),
    ),
    results: { sizes, units: { us: 'CPU microseconds, median of the runs', changesPerSec: 'wall clock', ratio: 'median of per-run ratios' }, rows, cases: results },
  };
});

await scenario('cli', async () => {
  const runs = Number(runsOption ?? (quick ? 3 : 7));
  const { rows, checks } = await runCliStartup({ runs, log: (line) => console.error(line) });
  return {
    title: 'cli start-up',
    description: CLI_STARTUP_DESCRIPTION,
    resultsName: 'cli-startup',
    checks,
    table: formatTable(CLI_STARTUP_COLUMNS, rows.map(({ raw: _raw, ...r }) => r)),
    results: { runs, units: { ms: MEDIANS, ratio: 'built / tsx, medians' }, rows },
  };
});

await scenario('rows', async () => {
  // Full: 1M updates to 100k rows, adds on 1k and 1M rows; --quick: 100k updates to 10k rows, adds on 1k and 100k.
  const history = [await runInChild<HistoryCaseResult>('rows-history', quick ? { live: 10_000, updates: 100_000, runs: 3 } : { live: 100_000, updates: 1_000_000, runs: 3 })];
  const adds: AddCaseResult[] = [];
  for (const rows of quick ? [1_000, 100_000] : [1_000, 1_000_000]) adds.push(await runInChild<AddCaseResult>('rows-add', { rows, adds: quick ? 20 : 40 }));
  const { historyRows, addRows, checks } = summarizeRows(history, adds);
  return {
    title: 'row store',
    description: ROWS_DESCRIPTION,
    sized: false,
    checks,
    table: `${formatTable(HISTORY_COLUMNS, historyRows)}\n\n${formatTable(ADD_COLUMNS, addRows)}`,
    results: { units: { ms: MEDIANS, ratio: 'of medians, CPU time unless said (wall clock beside it)', bytes: 'bytes of tables/' }, historyRows, addRows, history, adds },
  };
});

await scenario('serving', async () => {
  const results: (InitialSyncResult | LiveResult)[] = [];
  // Rows and clients are the issue's (100k rows; 1k and 10k clients), whatever --sizes says.
  results.push(await runInChild<InitialSyncResult>('serving', { kind: 'initial-sync', rows: quick ? 20_000 : 100_000, runs: quick ? 2 : 3 }));
  for (const clients of quick ? [1_000] : [1_000, 10_000]) {
    results.push(await runInChild<LiveResult>('serving', { kind: 'live', clients, changes: quick ? 8 : 20, spread: true }));
  }
  const { rows, checks } = summarizeServing(results);
  return {
    title: 'serving',
    description: SERVING_DESCRIPTION,
    sized: false,
    checks,
    table: formatTable(SERVING_COLUMNS, rows),
    results: { units: { ms: 'milliseconds (latency: wall clock, from the batch durable to the last byte received)', ratio: 'median of per-run ratios', memory: 'bytes' }, rows, cases: results },
  };
});

await scenario('postgres', async () => {
  const acquired = await acquireServer();
  if (!acquired.server) {
    console.log(`\n== postgres: skipped: ${acquired.skip} ==`);
    return null;
  }
  try {
    const url = acquired.server.url;
    // Full: tables of 1k and 1M rows, 1M row changes; --quick: 1k and 100k rows, 100k changes.
    const follow: FollowCaseResult[] = [];
    for (const rows of quick ? [1_000, 100_000] : [1_000, 1_000_000]) follow.push(await runInChild<FollowCaseResult>('postgres-follow', { url, rows, shapes: 100, adds: quick ? 20 : 40 }));
    const soak = [await runInChild<SoakCaseResult>('postgres-soak', { url, rows: quick ? 10_000 : 100_000, shapes: 100, liveClients: 10, changes: quick ? 100_000 : 1_000_000, perTransaction: 1_000, workload: 'updates' })];
    const { followRows, soakRows, checks } = summarizePostgres(follow, soak);
    return {
      title: 'postgres',
      description: POSTGRES_DESCRIPTION,
      sized: false,
      checks,
      table: `${formatTable(FOLLOW_COLUMNS, followRows)}\n\n${formatTable(SOAK_COLUMNS, soakRows)}`,
      results: { units: { ms: 'milliseconds', memory: 'bytes (heap: used after GC; rss: resident set)', ratio: 'CPU time unless said (wall clock beside it)' }, followRows, soakRows, follow, soak },
    };
  } finally {
    await acquired.server.stop();
  }
});

console.log(`\n== targets (${mode}, ${round((performance.now() - started) / 1000, 1)} s) ==`);
console.log(formatChecks(allChecks));
if (profileDir) console.log(`\nCPU profiles: ${profileDir} (summarize one: node --import tsx bench/profile-top.ts <file>)`);
