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

/** After a full collection of a large heap V8 sweeps on background threads, which CPU time counts: let it finish first. */
export async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200));
}

/** Routes `transactions` (the first `warm` untimed); entries and changes count the timed ones. */
export async function routerPass(dataset: RoutingDataset, transactions: readonly RoutingTransaction[], warmCount = ROUTER_WARM): Promise<RouterPass> {
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
    return { changes: measured.reduce((n, tx) => n + tx.changes.length, 0), entries, timing: addTimings(...timings), gcMs: await gc.pausedMs() };
  } finally {
    owned.stop();
  }
}
