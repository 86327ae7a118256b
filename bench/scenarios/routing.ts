/**
 * Part of the runtime scenario (issue 12): changes through many shapes on one
 * table (bench/lib/routing-dataset.ts: `user_id = k`, the same with 20%
 * subquery shapes and membership move-ins/outs, a non-indexable `LIKE` mix),
 * memory store, one-change transactions submitted together (the runtime
 * batches them). Per case: changes/s (wall clock), CPU per change, CPU per
 * routed change (per log entry written: each is one shape a change reached
 * and affected), and the floor of one routed change, one bare `actor.send`
 * plus appending the entry to an array, measured in the same process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';
import type { LogEntry } from '../../src/storage/storage.ts';
import { startTrivialActors, stopTrivialActors } from '../lib/floor.ts';
import { profiled, profilingEnabled, type ProfileSummary } from '../lib/profile.ts';
import { check, RESULTS_DIR, type Column, type TargetCheck } from '../lib/report.ts';
import { buildRoutingDataset, expectedEntries, makeRoutingTransactions, type RoutingDataset, type RoutingKind, type RoutingTransaction } from '../lib/routing-dataset.ts';
import { fullGc, median, round, timed, timedSync, type Timing } from '../lib/stats.ts';
import { fmtSize } from './validation.ts';

export interface RoutingCaseArgs {
  readonly kind: RoutingKind;
  readonly size: number;
  readonly runs: number;
  /** CPU time to spend on the measured transactions of one run. */
  readonly budgetMs: number;
}

/** One pass of transactions through one entry point. */
export interface RoutingPass {
  readonly changes: number;
  readonly entries: number;
  readonly timing: Timing;
}

export interface RoutingRun {
  /** Through `applyTransaction`, one request per transaction (the path "before" was measured on). */
  readonly changes: number;
  readonly entries: number;
  readonly timing: Timing;
  /** Through `applyTransactions`, the typed entry point for in-process sources (chunks of 256). */
  readonly typed: RoutingPass | null;
  /** Floor: CPU µs of one `actor.send` to a bare actor plus one array push. */
  readonly floorUsPerRoutedChange: number;
  readonly restoreMs: number;
}

export interface RoutingCaseResult {
  readonly kind: RoutingKind;
  readonly size: number;
  readonly shapes: number;
  readonly runs: readonly RoutingRun[];
  readonly profiles: Record<string, ProfileSummary>;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const MIN_TRANSACTIONS = 8;
const MAX_TRANSACTIONS = 40_000;

/** Runs in a child process (bench/worker.ts). */
export async function routingCase(args: RoutingCaseArgs): Promise<RoutingCaseResult> {
  const dataset = await buildRoutingDataset(args.kind, args.size);
  await warmUp(args.kind);
  const profiles: Record<string, ProfileSummary> = {};
  const runs: RoutingRun[] = [];
  for (let r = 0; r < args.runs; r++) {
    const profileName = profilingEnabled() && r === args.runs - 1 ? `routing-${args.kind}-${fmtSize(args.size)}` : null;
    const run = await routingRun(dataset, args.budgetMs, r, profileName, profiles);
    runs.push(run);
    const typed = run.typed ? `; typed: ${round((run.typed.changes * 1000) / run.typed.timing.wallMs, 0)} changes/s, ${round((run.typed.timing.cpuMs * 1000) / run.typed.changes, 1)} µs cpu/change` : '';
    log(
      `  routing ${args.kind} ${fmtSize(args.size)} run ${r + 1}/${args.runs}: ${round((run.changes * 1000) / run.timing.wallMs, 0)} changes/s, ` +
        `${round((run.timing.cpuMs * 1000) / run.changes, 1)} µs cpu/change (${run.changes} changes, ${run.entries} entries)${typed}`,
    );
  }
  return { kind: args.kind, size: args.size, shapes: dataset.shapes.length, runs, profiles };
}

async function routingRun(dataset: RoutingDataset, budgetMs: number, r: number, profileName: string | null, profiles: Record<string, ProfileSummary>): Promise<RoutingRun> {
  const storage = await storageOf(dataset);
  let entries = 0;
  const append = storage.appendLog.bind(storage);
  storage.appendLog = (handle: string, logged: readonly LogEntry[]) => {
    entries += logged.length;
    return append(handle, logged);
  };
  const t0 = performance.now();
  const runtime = await createShapeRuntime({ storage });
  const restoreMs = performance.now() - t0;
  try {
    // A few transactions to size the measured run to the budget.
    const probe = makeRoutingTransactions(dataset, MIN_TRANSACTIONS, 2, 1_000 + r);
    const { timing: probeTiming } = await timed(() => applyAll(runtime, probe));
    const perTx = probeTiming.cpuMs / probe.length;
    const count = Math.max(MIN_TRANSACTIONS, Math.min(MAX_TRANSACTIONS, Math.round(budgetMs / Math.max(perTx, 0.001))));
    // Both passes draw from one list (the second continues where the first ended), each measured alone.
    const all = makeRoutingTransactions(dataset, 2 * count, 2 + probe.length, r + 1);
    const pass = async (transactions: readonly RoutingTransaction[], apply: Apply, name: string): Promise<RoutingPass> => {
      entries = 0;
      fullGc();
      const measured = async (): Promise<void> => apply(runtime, transactions);
      const { timing } = await timed(async () => {
        if (!profileName) return measured();
        const { profile } = await profiled(`${profileName}-${name}`, measured);
        if (profile) profiles[`${dataset.kind}-${fmtSize(dataset.size)}-${name}`] = profile;
      });
      const expected = expectedEntries(dataset, transactions);
      if (expected !== null && entries !== expected) throw new Error(`routing ${dataset.kind} ${dataset.size} (${name}): ${entries} entries written, expected ${expected}`);
      return { changes: transactions.reduce((n, tx) => n + tx.changes.length, 0), entries, timing };
    };
    const single = await pass(all.slice(0, count), applyAll, 'requests');
    const typed = 'applyTransactions' in runtime ? await pass(all.slice(count), applyTyped, 'typed') : null;
    return { ...single, typed, floorUsPerRoutedChange: routedChangeFloor(dataset.size), restoreMs };
  } finally {
    await runtime.shutdown();
  }
}

async function storageOf(dataset: RoutingDataset): Promise<MemoryStorage> {
  const storage = new MemoryStorage();
  for (const shape of dataset.shapes) await storage.createShape(shape.stored, shape.log);
  return storage;
}

type Apply = (runtime: ShapeRuntime, transactions: readonly RoutingTransaction[]) => Promise<void>;

/** One `applyTransaction` request per transaction, all submitted at once (the runtime batches them). */
async function applyAll(runtime: ShapeRuntime, transactions: readonly RoutingTransaction[]): Promise<void> {
  const results = await Promise.all(transactions.map((tx) => runtime.applyTransaction(tx)));
  const notApplied = results.filter((r) => r.status !== 'applied').length;
  if (notApplied > 0) throw new Error(`${notApplied} of ${transactions.length} transactions were not applied`);
}

const TYPED_CHUNK = 256;

/** The typed entry point, as an in-process source would call it: chunks of 256, all submitted at once. */
async function applyTyped(runtime: ShapeRuntime, transactions: readonly RoutingTransaction[]): Promise<void> {
  const chunks: RoutingTransaction[][] = [];
  for (let i = 0; i < transactions.length; i += TYPED_CHUNK) chunks.push(transactions.slice(i, i + TYPED_CHUNK));
  const results = (await Promise.all(chunks.map((chunk) => runtime.applyTransactions(chunk)))).flat();
  const notApplied = results.filter((r) => r.status !== 'applied').length;
  if (notApplied > 0) throw new Error(`${notApplied} of ${transactions.length} transactions were not applied`);
}

/** CPU µs of one bare `actor.send` plus pushing the entry onto that shape's array, over many actors. */
function routedChangeFloor(size: number): number {
  const { actors } = startTrivialActors(Math.min(size, 10_000));
  const logs = actors.map((): LogEntry[] => []);
  const ops = 200_000;
  const entry: LogEntry = { xid: 1, op: 'insert', key: '["x"]', row: { id: 'x' } };
  fullGc();
  const { timing } = timedSync(() => {
    for (let i = 0; i < ops; i++) {
      const a = (i * 7_919) % actors.length;
      actors[a]!.send({ type: 'ping' });
      logs[a]!.push(entry);
    }
  });
  stopTrivialActors(actors);
  return (timing.cpuMs * 1000) / ops;
}

async function warmUp(kind: RoutingKind): Promise<void> {
  const small = await buildRoutingDataset(kind, 500, 9);
  const runtime = await createShapeRuntime({ storage: await storageOf(small) });
  await applyAll(runtime, makeRoutingTransactions(small, 300, 2, 9));
  await runtime.shutdown();
}

// ---------------------------------------------------------------- summary (parent process)

export const ROUTING_COLUMNS: readonly Column[] = [
  { key: 'kind', title: 'shapes on one table' },
  { key: 'size', title: 'N' },
  { key: 'changesPerSec', title: 'changes/s', digits: 0 },
  { key: 'usPerChange', title: 'µs cpu/change', digits: 1 },
  { key: 'typedChangesPerSec', title: 'typed changes/s', digits: 0 },
  { key: 'typedUsPerChange', title: 'typed µs/change', digits: 1 },
  { key: 'usPerRoutedChange', title: 'typed µs/routed', digits: 2 },
  { key: 'floorRatio', title: 'routed/floor' },
  { key: 'beforeChangesPerSec', title: 'before changes/s', digits: 0 },
  { key: 'speedup', title: 'cpu before/now' },
  { key: 'changes', title: 'changes' },
  { key: 'runs', title: 'runs' },
];

export interface RoutingSummaryRow {
  readonly kind: RoutingKind;
  readonly size: number;
  readonly shapes: number;
  readonly changes: number;
  /** Through `applyTransaction` (a request per transaction): wall clock, and CPU per change. */
  readonly changesPerSec: number;
  readonly usPerChange: number;
  /** Through `applyTransactions` (typed, chunks of 256); null before it existed. */
  readonly typedChangesPerSec: number | null;
  readonly typedUsPerChange: number | null;
  /** CPU per log entry written (a change that reached a shape and changed it), typed path (else the request path). */
  readonly usPerRoutedChange: number;
  readonly floorUsPerRoutedChange: number;
  readonly floorRatio: number;
  readonly entriesPerChange: number;
  /** From bench/results/routing-before.json (the router before the where-clause index), when it has this case. */
  readonly beforeChangesPerSec: number | null;
  readonly beforeUsPerChange: number | null;
  /** Before / now, CPU per change through the same entry point (`applyTransaction`). */
  readonly speedup: number | null;
  readonly runs: number;
}

export const BEFORE_FILE = join(RESULTS_DIR, 'routing-before.json');

function beforeRows(): readonly RoutingSummaryRow[] {
  if (!existsSync(BEFORE_FILE)) return [];
  return (JSON.parse(readFileSync(BEFORE_FILE, 'utf8')) as { rows?: RoutingSummaryRow[] }).rows ?? [];
}

export function summarizeRouting(results: readonly RoutingCaseResult[]): { rows: RoutingSummaryRow[]; checks: TargetCheck[] } {
  const before = beforeRows();
  const rows = results.map((result): RoutingSummaryRow => {
    const m = (f: (r: RoutingRun) => number): number => median(result.runs.map(f));
    const typed = result.runs.every((r) => r.typed !== null);
    const best = (r: RoutingRun): RoutingPass => r.typed ?? r;
    const usPerChange = m((r) => (r.timing.cpuMs * 1000) / r.changes);
    const was = before.find((b) => b.kind === result.kind && b.size === result.size);
    return {
      kind: result.kind,
      size: result.size,
      shapes: result.shapes,
      changes: m((r) => r.changes),
      changesPerSec: m((r) => (r.changes * 1000) / r.timing.wallMs),
      usPerChange,
      typedChangesPerSec: typed ? m((r) => (r.typed!.changes * 1000) / r.typed!.timing.wallMs) : null,
      typedUsPerChange: typed ? m((r) => (r.typed!.timing.cpuMs * 1000) / r.typed!.changes) : null,
      usPerRoutedChange: m((r) => (best(r).timing.cpuMs * 1000) / Math.max(1, best(r).entries)),
      floorUsPerRoutedChange: m((r) => r.floorUsPerRoutedChange),
      floorRatio: m((r) => (best(r).timing.cpuMs * 1000) / Math.max(1, best(r).entries) / r.floorUsPerRoutedChange),
      entriesPerChange: m((r) => best(r).entries / best(r).changes),
      beforeChangesPerSec: was?.changesPerSec ?? null,
      beforeUsPerChange: was?.usPerChange ?? null,
      speedup: was ? was.usPerChange / usPerChange : null,
      runs: result.runs.length,
    };
  });
  const checks: TargetCheck[] = [];
  const perChange = (r: RoutingSummaryRow): number => r.typedUsPerChange ?? r.usPerChange;
  const path = (r: RoutingSummaryRow): string => (r.typedUsPerChange === null ? 'applyTransaction' : 'typed applyTransactions');
  for (const kind of ['eq', 'subquery'] as const) {
    const of = rows.filter((r) => r.kind === kind).sort((a, b) => a.size - b.size);
    const small = of[0];
    const large = of.at(-1);
    if (!small || !large || small === large) continue;
    checks.push(
      check(
        `${kind}: CPU per change at ${fmtSize(large.size)} shapes within 1.5x of at ${fmtSize(small.size)}`,
        `${round(perChange(large), 1)} vs ${round(perChange(small), 1)} µs = ${round(perChange(large) / perChange(small), 2)}x (${path(large)}; one request per change: ${round(large.usPerChange / small.usPerChange, 2)}x)`,
        perChange(large) / perChange(small),
        1.5,
        (v, l) => v <= l,
      ),
    );
  }
  for (const row of rows.filter((r) => r.kind === 'eq')) {
    checks.push(
      check(
        `eq ${fmtSize(row.size)}: CPU per routed change within 3x of one actor.send + append`,
        `${round(row.usPerRoutedChange, 2)} µs vs floor ${round(row.floorUsPerRoutedChange, 2)} µs = ${round(row.floorRatio, 2)}x (${path(row)})`,
        row.floorRatio,
        3,
        (v, l) => v <= l,
      ),
    );
  }
  for (const row of rows.filter((r) => r.kind === 'like' && r.beforeUsPerChange !== null)) {
    checks.push(
      check(
        `like ${fmtSize(row.size)} (linear): CPU per change no more than before the index`,
        `${round(row.usPerChange, 1)} µs now, ${round(row.beforeUsPerChange!, 1)} µs before (applyTransaction both; ${BEFORE_FILE.replace(/^.*bench\//, 'bench/')})`,
        row.usPerChange / row.beforeUsPerChange!,
        1,
        (v, l) => v <= l,
      ),
    );
  }
  const best = rows.filter((r) => r.kind === 'eq').sort((a, b) => b.size - a.size)[0];
  if (best) {
    checks.push({
      target: "context: Electric's published 4,000-6,000 changes/s (0.17-0.27 ms per change, 4 cores, another machine)",
      measured: `ours: ${round(best.typedChangesPerSec ?? best.changesPerSec, 0).toLocaleString('en-US')} changes/s through ${fmtSize(best.size)} shapes (${round(perChange(best), 1)} µs CPU per change, ${path(best)}), 2 shared cores`,
      value: null,
      limit: null,
      status: 'INFO',
    });
  }
  return { rows, checks };
}

export const ROUTING_DESCRIPTION = [
  'Routing: N shapes on one table (public.items), memory store, one-change transactions submitted together (batched by the runtime).',
  '  eq: `user_id = k`; subquery: 80% `user_id = k`, 20% `user_id IN (SELECT user_id FROM public.memberships WHERE org_id = j)`,',
  '  one change in five a membership insert or delete (move-ins, move-outs); like: `title LIKE \'t<k>-%\'` (no index: linear).',
  'changes/s, µs cpu/change: through applyTransaction, one request per change (as before); typed: applyTransactions, the entry point for in-process sources, 256 per call.',
  'µs/routed: CPU per log entry written (one shape a change reached and changed); floor: one bare actor.send + an array push.',
  'before: bench/results/routing-before.json, the same cases through the router before the where-clause index (every change to every shape of its table).',
].join('\n');
