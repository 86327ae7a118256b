/**
 * Part of the runtime scenario (issue 12): changes through many shapes on one
 * table (bench/lib/routing-dataset.ts: `user_id = k`, the same with 20%
 * subquery shapes and membership move-ins/outs, a non-indexable `LIKE` mix),
 * memory store, one-change transactions submitted together (the runtime
 * batches them). Each run measures three passes: one `applyTransaction`
 * request per change (the path "before" was measured on), the typed
 * `applyTransactions` (256 per call), and the router alone
 * (bench/lib/router-pass.ts); per pass changes/s (wall clock), CPU per
 * change and per routed change (per log entry written: each is one shape a
 * change reached and affected); and the floor of one routed change, one bare
 * `actor.send` plus appending the entry to an array, in the same process.
 * The table and targets: routing-summary.ts.
 */
import { semiSpaceMiB } from '../../src/cli/young-generation.ts';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import type { LogEntry } from '../../src/storage/storage.ts';
import { startTrivialActors, stopTrivialActors } from '../lib/floor.ts';
import { GcClock } from '../lib/gc-clock.ts';
import { profiled, profilingEnabled, type ProfileSummary } from '../lib/profile.ts';
import { ROUTER_WARM, routerPass, settle, type RouterPass } from '../lib/router-pass.ts';
import { mapConcurrently } from '../../src/restore/map-concurrently.ts';
import { applyTyped, storageOf } from '../lib/routing-runtime.ts';
import { buildRoutingDataset, expectedEntries, makeRoutingTransactions, makeWarmTransactions, type RoutingDataset, type RoutingKind, type RoutingTransaction } from '../lib/routing-dataset.ts';
import { fullGc, round, timed, timedSync, type Timing } from '../lib/stats.ts';
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
  /** The collector's main-thread pauses within the pass (bench/lib/gc-clock.ts). */
  readonly gcMs?: number;
}

export interface RoutingRun {
  /** Through `applyTransaction`, one request per transaction (the path "before" was measured on). */
  readonly changes: number;
  readonly entries: number;
  readonly timing: Timing;
  /** Through `applyTransactions`, the typed entry point for in-process sources (chunks of 256). */
  readonly typed: RoutingPass | null;
  /** The router alone (bench/lib/router-pass.ts), over the same number of transactions, with the collector's pauses in it; null before the index. */
  readonly router: RouterPass | null;
  /** Floor: CPU µs of one `actor.send` to a bare actor plus one array push. */
  readonly floorUsPerRoutedChange: number;
  /** Before the passes, a read of each shape woke every shape (restored asleep): CPU µs per shape woken, and how many woke. */
  readonly wakeUsPerShape?: number;
  readonly woken?: number;
  /** Then one change per user in the shapes' creation order (typed, 256 per call), each a shape's first since it woke: CPU µs per change (none for `like`). */
  readonly firstChangeUsPerChange?: number;
  readonly restoreMs: number;
}

export interface RoutingCaseResult {
  readonly kind: RoutingKind;
  readonly size: number;
  /** V8's semi-space the case ran with (MiB, bench/lib/child.ts), or null: Node's default. */
  readonly semiSpaceMiB: number | null;
  readonly shapes: number;
  readonly runs: readonly RoutingRun[];
  readonly profiles: Record<string, ProfileSummary>;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const MIN_TRANSACTIONS = 8;
/** At least this many in a measured pass of eq and subquery (the router's: 4x): a short pass at 100k shapes is mostly its cold first misses. (like: its budget; a change costs N checks.) */
const MIN_MEASURED = 2_000;
const MAX_TRANSACTIONS = 40_000;
/** Typed transactions whose CPU time sizes the typed pass (after the request probe's; like: 32, each costs N checks). */
const TYPED_PROBE = 1_024;
const ROUTER_SCALE = 4;

/** Runs in a child process (bench/worker.ts). */
export async function routingCase(args: RoutingCaseArgs): Promise<RoutingCaseResult> {
  const dataset = await buildRoutingDataset(args.kind, args.size);
  await warmUp(args.kind);
  const profiles: Record<string, ProfileSummary> = {};
  const runs: RoutingRun[] = [];
  const semiSpace = semiSpaceMiB(process.execArgv, process.env.NODE_OPTIONS);
  for (let r = 0; r < args.runs; r++) {
    const profileName = profilingEnabled() && r === args.runs - 1 ? `routing-${args.kind}-${fmtSize(args.size)}` : null;
    const run = await routingRun(dataset, args.budgetMs, r, profileName, profiles);
    runs.push(run);
    const typed = run.typed ? `; typed: ${round((run.typed.changes * 1000) / run.typed.timing.wallMs, 0)} changes/s, ${round((run.typed.timing.cpuMs * 1000) / run.typed.changes, 1)} µs cpu/change` : '';
    log(
      `  routing ${args.kind} ${fmtSize(args.size)}${semiSpace === null ? " (Node's default semi-space)" : ''} run ${r + 1}/${args.runs}: ${round((run.changes * 1000) / run.timing.wallMs, 0)} changes/s, ` +
        `${round((run.timing.cpuMs * 1000) / run.changes, 1)} µs cpu/change (${run.changes} changes, ${run.entries} entries)${typed}`,
    );
  }
  return { kind: args.kind, size: args.size, semiSpaceMiB: semiSpace, shapes: dataset.shapes.length, runs, profiles };
}

/** The passes through the runtime (every shape woken first), and how many transactions each took. */
async function runtimePasses(
  dataset: RoutingDataset,
  budgetMs: number,
  r: number,
  profileName: string | null,
  profiles: Record<string, ProfileSummary>,
): Promise<Omit<RoutingRun, 'router' | 'floorUsPerRoutedChange'> & { readonly count: number }> {
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
    // Every shape woken first, by a client's read of it (restore leaves them asleep; a change to a
    // sleeping shape wakes it, which reads its files): the passes measure routing to awake shapes,
    // the steady state of shapes in use, which the targets are about. A read, not a change: it
    // adds no rows to the table.
    const requested = dataset.shapes.filter((s) => s.stored.requested).map((s) => s.stored.handle);
    const { timing: wakeTiming } = await timed(() => mapConcurrently(requested, 64, (handle) => runtime.reads.lastOffset(handle)));
    const woken = runtime.activity().awake;
    // Then every shape its first change, in creation order (one per user, timed on its own): the passes
    // measure shapes that have taken changes before, as every shape at 1k has (makeWarmTransactions).
    const warm = makeWarmTransactions(dataset, 2);
    const { timing: warmTiming } = await timed(() => applyTyped(runtime, warm));
    const first = 2 + warm.length;
    // A few transactions untimed (the first ones seed the index and take the cold paths), a few
    // more to size the measured run to the budget.
    const probe = makeRoutingTransactions(dataset, 2 * MIN_TRANSACTIONS, first, 1_000 + r);
    await applyAll(runtime, probe.slice(0, MIN_TRANSACTIONS));
    const { timing: probeTiming } = await timed(() => applyAll(runtime, probe.slice(MIN_TRANSACTIONS)));
    const count = passLength(dataset, budgetMs, probeTiming.cpuMs / MIN_TRANSACTIONS);
    // The typed pass sized to the same budget by its own probe: it costs a tenth of a request per
    // change, and a pass of the requests' length (a few thousand changes, 60-150 ms) is mostly
    // whether a collection fell in it (1k: 28.9-41.5 µs per change between runs on an idle machine).
    let typedCount = 0;
    let next = first + probe.length;
    if ('applyTransactions' in runtime) {
      const typedProbe = makeRoutingTransactions(dataset, dataset.kind === 'like' ? 4 * MIN_TRANSACTIONS : TYPED_PROBE, next, 2_000 + r);
      const { timing: typedProbeTiming } = await timed(() => applyTyped(runtime, typedProbe));
      typedCount = passLength(dataset, budgetMs, typedProbeTiming.cpuMs / typedProbe.length);
      next += typedProbe.length;
    }
    // Both passes draw from one list (the second continues where the first ended), each measured alone.
    const all = makeRoutingTransactions(dataset, count + typedCount, next, r + 1);
    const pass = async (transactions: readonly RoutingTransaction[], apply: Apply, name: string): Promise<RoutingPass> => {
      entries = 0;
      fullGc();
      // (the collection's background sweeping, which grows with the heap, is not the pass's)
      await settle();
      const gc = new GcClock();
      const measured = async (): Promise<void> => {
        gc.start();
        await apply(runtime, transactions);
        gc.stop();
      };
      const { timing, profile } = await profiled(profileName && `${profileName}-${name}`, measured);
      const gcMs = await gc.pausedMs();
      if (profile) profiles[`${dataset.kind}-${fmtSize(dataset.size)}-${name}`] = profile;
      const expected = expectedEntries(dataset, transactions);
      if (expected !== null && entries !== expected) throw new Error(`routing ${dataset.kind} ${dataset.size} (${name}): ${entries} entries written, expected ${expected}`);
      return { changes: transactions.reduce((n, tx) => n + tx.changes.length, 0), entries, timing, gcMs };
    };
    const single = await pass(all.slice(0, count), applyAll, 'requests');
    const typed = typedCount > 0 ? await pass(all.slice(count), applyTyped, 'typed') : null;
    const firstChange = warm.length > 0 ? { firstChangeUsPerChange: (warmTiming.cpuMs * 1000) / warm.length } : {};
    return { ...single, typed, count, restoreMs, wakeUsPerShape: (wakeTiming.cpuMs * 1000) / Math.max(1, woken), woken, ...firstChange };
  } finally {
    await runtime.shutdown();
  }
}

async function routingRun(dataset: RoutingDataset, budgetMs: number, r: number, profileName: string | null, profiles: Record<string, ProfileSummary>): Promise<RoutingRun> {
  const { count, ...passes } = await runtimePasses(dataset, budgetMs, r, profileName, profiles);
  // The router alone, over its own parts and an empty row store, once the runtime is gone (its heap would be
  // the router's collector's work too): the same kind of transactions from the start, 4x as many (it costs a
  // fifth of a request per change: about the same time, and a short pass is mostly noise).
  // (every shape its first change first, as in the runtime passes)
  const warm = makeWarmTransactions(dataset, 2);
  const routed = [...warm, ...makeRoutingTransactions(dataset, Math.min(MAX_TRANSACTIONS, ROUTER_SCALE * count) + ROUTER_WARM, 2 + warm.length, r + 1)];
  const router = passes.typed ? await routerPass(dataset, routed, warm.length + ROUTER_WARM) : null;
  const expected = expectedEntries(dataset, routed.slice(warm.length + ROUTER_WARM));
  if (router && expected !== null && router.entries !== expected) throw new Error(`routing ${dataset.kind} ${dataset.size} (router): ${router.entries} entries, expected ${expected}`);
  return { ...passes, router, floorUsPerRoutedChange: routedChangeFloor(dataset.size), };
}

/** Transactions in a measured pass: as many as `budgetMs` of CPU at `perTxMs` each, within the bounds. */
function passLength(dataset: RoutingDataset, budgetMs: number, perTxMs: number): number {
  return Math.max(dataset.kind === 'like' ? MIN_TRANSACTIONS : MIN_MEASURED, Math.min(MAX_TRANSACTIONS, Math.round(budgetMs / Math.max(perTxMs, 0.001))));
}

type Apply = (runtime: ShapeRuntime, transactions: readonly RoutingTransaction[]) => Promise<void>;

/** One `applyTransaction` request per transaction, all submitted at once (the runtime batches them). */
async function applyAll(runtime: ShapeRuntime, transactions: readonly RoutingTransaction[]): Promise<void> {
  const results = await Promise.all(transactions.map((tx) => runtime.applyTransaction(tx)));
  const notApplied = results.filter((r) => r.status !== 'applied').length;
  if (notApplied > 0) throw new Error(`${notApplied} of ${transactions.length} transactions were not applied`);
}

/**
 * CPU µs of one bare `actor.send` plus pushing the entry onto that shape's array, over as many
 * actors as shapes (reaching one of 100k actors costs more than one of 1k: the caches miss).
 */
function routedChangeFloor(size: number): number {
  const { actors } = startTrivialActors(size);
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

/** Every path on a small set first, long enough for the JIT's optimizing tier (a few thousand changes). */
async function warmUp(kind: RoutingKind): Promise<void> {
  const small = await buildRoutingDataset(kind, 500, 9);
  const runtime = await createShapeRuntime({ storage: await storageOf(small) });
  const transactions = makeRoutingTransactions(small, 4_000, 2, 9);
  await applyAll(runtime, transactions.slice(0, 1_000));
  if ('applyTransactions' in runtime) await applyTyped(runtime, transactions.slice(1_000));
  await runtime.shutdown();
  if ('applyTransactions' in runtime) await routerPass(small, makeRoutingTransactions(small, 4_000, 2, 10));
}
