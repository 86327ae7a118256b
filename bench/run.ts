/**
 * `npm run bench` (1k, 10k, 100k shapes) and `npm run bench -- --quick` (1k
 * and 10k, under a minute). Each scenario prints a table and its targets
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
/** Runs per case: 3 (medians); --quick runs 1k cases twice and 10k once, to stay under a minute. */
const runsFor = (size: number): number => Number(runsOption ?? (quick ? (size > 1_000 ? 1 : 2) : 3));

if (!HAVE_GC) console.warn('warning: run with node --expose-gc (npm run bench does): heap figures need it');

const allChecks: (Check & { scenario: string })[] = [];
const started = performance.now();
const mode = quick ? 'quick' : 'full';
const sizesText = sizes.map(fmtSize).join(', ');

function printScenario(title: string, description: string, table: string, checks: readonly TargetCheck[], file: string, sized = true): void {
  console.log(`\n== ${title} (${mode}${sized ? `: ${sizesText}` : ''}) ==`);
  console.log(description);
  console.log();
  console.log(table);
  if (checks.length > 0) {
    console.log();
    console.log(formatChecks(checks));
  }
  console.log(`-> ${file}`);
}

if (only.has('validation')) {
  const t0 = performance.now();
  const result = await runInChild<{ rows: ValidationRow[]; checks: TargetCheck[]; table: Record<string, string | number | null>[] }>(
    'validation',
    { sizes, baselineBudgetMs: quick ? 1_000 : 30_000, rounds: quick ? 5 : 15 },
    { ...(profileDir ? { profileDir } : {}) },
  );
  const file = writeResults('validation', {
    mode,
    sizes,
    description: VALIDATION_DESCRIPTION,
    units: { oursMs: 'ms per planRestore call (median of the samples)', nsPerUnit: 'ns per (loaded shape + dependency edge)' },
    targets: result.checks,
    rows: result.rows,
    seconds: round((performance.now() - t0) / 1000, 1),
  });
  printScenario('validation', VALIDATION_DESCRIPTION, formatTable(VALIDATION_COLUMNS, result.table), result.checks, file);
  allChecks.push(...result.checks.map((c) => ({ ...c, scenario: 'validation' })));
}

if (only.has('restore')) {
  const t0 = performance.now();
  const results: RestoreCaseResult[] = [];
  for (const size of sizes) {
    const runs = runsFor(size);
    results.push(await runInChild<RestoreCaseResult>('restore', { size, runs }, { ...(profileDir ? { profileDir } : {}) }));
  }
  const { rows, checks } = summarizeRestore(results);
  const file = writeResults('restore', {
    mode,
    sizes,
    description: RESTORE_DESCRIPTION,
    units: { ms: 'milliseconds, median of the runs', ratio: 'median of per-run restore/floor ratios (each pair measured back to back)', heap: 'bytes per shape' },
    targets: checks,
    rows,
    cases: results,
    seconds: round((performance.now() - t0) / 1000, 1),
  });
  printScenario('restore', RESTORE_DESCRIPTION, formatTable(RESTORE_COLUMNS, rows.map((r) => ({ ...r, ratioWall: `${round(r.ratioWall, 2)}x`, ratioCpu: `${round(r.ratioCpu, 2)}x` }))), checks, file);
  allChecks.push(...checks.map((c) => ({ ...c, scenario: 'restore' })));
}

if (only.has('restart')) {
  const t0 = performance.now();
  const results: RestartCaseResult[] = [];
  for (const [i, size] of sizes.entries()) results.push(await runInChild<RestartCaseResult>('restart', { size, runs: runsFor(size), chains: i === 0 }, { ...(profileDir ? { profileDir } : {}) }));
  const { rows, chains, checks } = summarizeRestart(results);
  const file = writeResults('restart', {
    mode,
    sizes,
    description: RESTART_DESCRIPTION,
    units: { ms: 'milliseconds, median of the runs', ratio: 'median of per-run restore/floor ratios (each pair measured back to back)', heap: 'bytes per kept shape' },
    targets: checks,
    rows,
    chains,
    cases: results,
    seconds: round((performance.now() - t0) / 1000, 1),
  });
  const chainTable = formatTable(
    [{ key: 'dependencies', title: 'chain' }, { key: 'ms', title: 'wake ms', digits: 1 }, { key: 'msPerShape', title: 'ms per shape', digits: 2 }, { key: 'started', title: 'actors started' }],
    chains,
  );
  printScenario('restart', RESTART_DESCRIPTION, `${formatTable(RESTART_COLUMNS, rows.map((r) => ({ ...r, ratioCpu: `${round(r.ratioCpu, 1)}x`, ratioWall: `${round(r.ratioWall, 1)}x` })))}\n\n${chainTable}`, checks, file);
  allChecks.push(...checks.map((c) => ({ ...c, scenario: 'restart' })));
}

if (only.has('runtime')) {
  const t0 = performance.now();
  const results: RuntimeCaseResult[] = [];
  for (const size of sizes) {
    const runs = runsFor(size);
    results.push(await runInChild<RuntimeCaseResult>('runtime', { size, runs, fileStore: fileStore && size <= (quick ? 1_000 : 10_000) }, { ...(profileDir ? { profileDir } : {}) }));
  }
  const { rows, checks } = summarizeRuntime(results);
  const file = writeResults('runtime', {
    mode,
    sizes,
    description: RUNTIME_DESCRIPTION,
    transactionsPerRun: Object.fromEntries(sizes.map((s) => [s, transactionCount(s)])),
    units: { ms: 'milliseconds, median of the runs', ratio: 'median of per-run ratios to the floor measured in the same process', heap: 'bytes' },
    targets: checks,
    rows,
    cases: results,
    seconds: round((performance.now() - t0) / 1000, 1),
  });
  const table = formatTable(
    RUNTIME_COLUMNS,
    rows.map((r) => ({ ...r, txFloorRatio: `${round(r.txFloorRatio, 1)}x`, shutdownRatio: `${round(r.shutdownRatio, 2)}x`, cascadeRatio: `${round(r.cascadeRatio, 2)}x` })),
  );
  printScenario('runtime', RUNTIME_DESCRIPTION, table, checks, file);
  allChecks.push(...checks.map((c) => ({ ...c, scenario: 'runtime' })));
}

if (only.has('routing')) {
  const t0 = performance.now();
  const results: RoutingCaseResult[] = [];
  const kinds = option('kinds')?.split(',') ?? ROUTING_KINDS;
  for (const kind of ROUTING_KINDS.filter((k) => kinds.includes(k))) {
    // The LIKE mix is linear by design: up to 10k shapes.
    for (const size of kind === 'like' ? sizes.filter((s) => s <= 10_000) : sizes) {
      results.push(await runInChild<RoutingCaseResult>('routing', { kind, size, runs: runsFor(size), budgetMs: quick ? 600 : 1_500 }, { ...(profileDir ? { profileDir } : {}) }));
    }
  }
  const { rows, checks } = summarizeRouting(results);
  const file = writeResults(option('routing-results') ?? 'routing', {
    mode,
    sizes,
    description: ROUTING_DESCRIPTION,
    units: { us: 'CPU microseconds, median of the runs', changesPerSec: 'wall clock', ratio: 'median of per-run ratios' },
    targets: checks,
    rows,
    cases: results,
    seconds: round((performance.now() - t0) / 1000, 1),
  });
  const table = formatTable(
    ROUTING_COLUMNS,
    rows.map((r) => ({ ...r, routerFloorRatio: r.routerFloorRatio === null ? null : `${round(r.routerFloorRatio, 1)}x`, speedup: r.speedup === null ? null : `${round(r.speedup, 1)}x` })),
  );
  printScenario('runtime: routing', ROUTING_DESCRIPTION, table, checks, file);
  allChecks.push(...checks.map((c) => ({ ...c, scenario: 'routing' })));
}

if (only.has('cli')) {
  const t0 = performance.now();
  const runs = Number(runsOption ?? (quick ? 3 : 7));
  const { rows, checks } = await runCliStartup({ runs, log: (line) => console.error(line) });
  const file = writeResults('cli-startup', {
    mode,
    runs,
    description: CLI_STARTUP_DESCRIPTION,
    units: { ms: 'milliseconds, median of the runs', ratio: 'built / tsx, medians' },
    targets: checks,
    rows,
    seconds: round((performance.now() - t0) / 1000, 1),
  });
  printScenario('cli start-up', CLI_STARTUP_DESCRIPTION, formatTable(CLI_STARTUP_COLUMNS, rows.map(({ raw: _raw, ...r }) => r)), checks, file);
  allChecks.push(...checks.map((c) => ({ ...c, scenario: 'cli' })));
}

if (only.has('rows')) {
  const t0 = performance.now();
  // Full: 1M updates to 100k rows, adds on 1k and 1M rows; --quick: 100k updates to 10k rows, adds on 1k and 100k.
  const history = [await runInChild<HistoryCaseResult>('rows-history', quick ? { live: 10_000, updates: 100_000, runs: 3 } : { live: 100_000, updates: 1_000_000, runs: 3 })];
  const adds: AddCaseResult[] = [];
  for (const rows of quick ? [1_000, 100_000] : [1_000, 1_000_000]) adds.push(await runInChild<AddCaseResult>('rows-add', { rows, adds: quick ? 20 : 40 }));
  const { historyRows, addRows, checks } = summarizeRows(history, adds);
  const file = writeResults('rows', {
    mode,
    description: ROWS_DESCRIPTION,
    units: { ms: 'milliseconds, median of the runs', ratio: 'of medians, CPU time unless said (wall clock beside it)', bytes: 'bytes of tables/' },
    targets: checks,
    historyRows,
    addRows,
    history,
    adds,
    seconds: round((performance.now() - t0) / 1000, 1),
  });
  printScenario('row store', ROWS_DESCRIPTION, `${formatTable(HISTORY_COLUMNS, historyRows)}\n\n${formatTable(ADD_COLUMNS, addRows)}`, checks, file, false);
  allChecks.push(...checks.map((c) => ({ ...c, scenario: 'rows' })));
}

if (only.has('serving')) {
  const t0 = performance.now();
  const results: (InitialSyncResult | LiveResult)[] = [];
  // Rows and clients are the issue's (100k rows; 1k and 10k clients), whatever --sizes says.
  results.push(await runInChild<InitialSyncResult>('serving', { kind: 'initial-sync', rows: quick ? 20_000 : 100_000, runs: quick ? 2 : 3 }));
  for (const clients of quick ? [1_000] : [1_000, 10_000]) {
    results.push(await runInChild<LiveResult>('serving', { kind: 'live', clients, changes: quick ? 8 : 20, spread: true }));
  }
  const { rows, checks } = summarizeServing(results);
  const file = writeResults('serving', {
    mode,
    description: SERVING_DESCRIPTION,
    units: { ms: 'milliseconds (latency: wall clock, from the batch durable to the last byte received)', ratio: 'median of per-run ratios', memory: 'bytes' },
    targets: checks,
    rows,
    cases: results,
    seconds: round((performance.now() - t0) / 1000, 1),
  });
  printScenario('serving', SERVING_DESCRIPTION, formatTable(SERVING_COLUMNS, rows), checks, file, false);
  allChecks.push(...checks.map((c) => ({ ...c, scenario: 'serving' })));
}

if (only.has('postgres')) {
  const t0 = performance.now();
  const acquired = await acquireServer();
  if (!acquired.server) console.log(`\n== postgres: skipped: ${acquired.skip} ==`);
  else {
    try {
      const url = acquired.server.url;
      // Full: tables of 1k and 1M rows, 1M row changes; --quick: 1k and 100k rows, 100k changes.
      const follow: FollowCaseResult[] = [];
      for (const rows of quick ? [1_000, 100_000] : [1_000, 1_000_000]) follow.push(await runInChild<FollowCaseResult>('postgres-follow', { url, rows, shapes: 100, adds: quick ? 20 : 40 }));
      const soak = [await runInChild<SoakCaseResult>('postgres-soak', { url, rows: quick ? 10_000 : 100_000, shapes: 100, liveClients: 10, changes: quick ? 100_000 : 1_000_000, perTransaction: 1_000, workload: 'updates' })];
      const { followRows, soakRows, checks } = summarizePostgres(follow, soak);
      const file = writeResults('postgres', {
        mode,
        description: POSTGRES_DESCRIPTION,
        units: { ms: 'milliseconds', memory: 'bytes (heap: used after GC; rss: resident set)', ratio: 'CPU time unless said (wall clock beside it)' },
        targets: checks,
        followRows,
        soakRows,
        follow,
        soak,
        seconds: round((performance.now() - t0) / 1000, 1),
      });
      printScenario('postgres', POSTGRES_DESCRIPTION, `${formatTable(FOLLOW_COLUMNS, followRows)}\n\n${formatTable(SOAK_COLUMNS, soakRows)}`, checks, file, false);
      allChecks.push(...checks.map((c) => ({ ...c, scenario: 'postgres' })));
    } finally {
      await acquired.server.stop();
    }
  }
}

console.log(`\n== targets (${mode}, ${round((performance.now() - started) / 1000, 1)} s) ==`);
console.log(formatChecks(allChecks));
if (profileDir) console.log(`\nCPU profiles: ${profileDir} (summarize one: node --import tsx bench/profile-top.ts <file>)`);
