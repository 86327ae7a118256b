/**
 * The router alone: `routeTransactions` over the runtime's own parts (its RuntimeShapes: the
 * registry with its where-clause index, every shape woken, the embedded row store in memory), without the runtime's request queue,
 * journal and log store; only the `routeTransactions` calls are timed (the row store is
 * flushed after each, as the runtime does, untimed). What it costs per routed change is what routing costs: the index
 * lookup, the residual check, the consumer's `send` and its entries.
 */
import { routeTransactions } from '../../src/live/route-transactions.ts';
import { MemoryTableFiles } from '../../src/storage/rows/table-files.ts';
import { TableStore } from '../../src/storage/rows/table-store.ts';
import { registeredShapes, wakeAll } from './awake-shapes.ts';
import type { RoutingDataset, RoutingTransaction } from './routing-dataset.ts';
import { GcClock } from './gc-clock.ts';
import { addTimings, fullGc, timed, type Timing } from './stats.ts';

export interface RouterPass {
  readonly changes: number;
  /** Log entries the consumers produced (each a change that reached a shape and changed it). */
  readonly entries: number;
  readonly timing: Timing;
  /** The collector's main-thread pauses within the timed calls (bench/lib/gc-clock.ts). */
  readonly gcMs: number;
}

const CHUNK = 256;
export const ROUTER_WARM = 16;

/**
 * After a full collection of a large heap V8 sweeps on background threads, which CPU time counts:
 * let it finish first. At least 200 ms, then until a 50 ms window of this process's CPU time is
 * under 1 ms (the sweepers are done; at 100k shapes they took 150-190 ms of CPU after a collection
 * on a quiet machine and longer on a loaded one), at most 5 s.
 */
export async function settle(): Promise<void> {
  await sleep(200);
  for (let waited = 200; waited < 5_000; waited += IDLE_WINDOW_MS) {
    const start = process.cpuUsage();
    await sleep(IDLE_WINDOW_MS);
    const used = process.cpuUsage(start);
    if (used.user + used.system < 1_000) return;
  }
}

const IDLE_WINDOW_MS = 50;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Routes `transactions` (the first `warm` untimed); entries and changes count the timed ones. */
export async function routerPass(
  dataset: RoutingDataset,
  transactions: readonly RoutingTransaction[],
  warmCount = ROUTER_WARM,
  /** Wraps the measured calls (a profiler: bench/experiments/routing-subquery.ts). */
  around: (measure: () => Promise<void>) => Promise<void> = (measure) => measure(),
): Promise<RouterPass> {
  const rows = await TableStore.open(new MemoryTableFiles());
  const owned = await registeredShapes(dataset.shapes, rows);
  const { shapes } = owned;
  const { registry } = shapes;
  await wakeAll(shapes, 1);
  const directory = shapes;
  let entries = 0;
  const timings: Timing[] = [];
  try {
    // The first transactions untimed: they seed the index and take the cold paths (as the runtime passes' first ones do).
    const warm = Math.min(warmCount, transactions.length - 1);
    for (let i = 0; i < warm; i += CHUNK) await routeTransactions(transactions.slice(i, Math.min(i + CHUNK, warm)), registry, directory, rows);
    await rows.flush();
    const measured = transactions.slice(warm);
    fullGc();
    await settle();
    const gc = new GcClock();
    await around(async () => {
      for (let i = 0; i < measured.length; i += CHUNK) {
        const chunk = measured.slice(i, i + CHUNK);
        gc.start();
        const { timing, value: batch } = await timed(() => routeTransactions(chunk, registry, directory, rows));
        gc.stop();
        timings.push(timing);
        if (batch.failures.length > 0) throw new Error(`router pass: ${batch.failures[0]!.handle} failed: ${batch.failures[0]!.detail}`);
        for (const list of batch.entries.values()) entries += list.length;
        // As the runtime does after each batch (not timed: writing the row store is not routing).
        await rows.flush();
      }
    });
    return { changes: measured.reduce((n, tx) => n + tx.changes.length, 0), entries, timing: addTimings(...timings), gcMs: await gc.pausedMs() };
  } finally {
    owned.stop();
  }
}
