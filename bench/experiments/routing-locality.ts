/**
 * Experiment (issue 12, why the eq flatness target is missed): is the cost per change at 100k
 * shapes the work of routing among more shapes, or the price of reaching state that is not in the
 * caches? N shapes `user_id = k` (bench/lib/routing-runtime.ts), memory store, every shape woken
 * by a read, `warm` one-change transactions untimed, then `changes` timed (CPU time of the
 * process), once over all N users and once over only the first `hot` users (the same index, maps
 * and actors of N shapes; only the shapes reached are fewer, so their state stays in the caches).
 * If the hot pass through N shapes costs what a pass through `hot` shapes costs, the growth with N
 * is memory, not work.
 *
 * Run: node --expose-gc --max-semi-space-size=64 --import tsx bench/experiments/routing-locality.ts <N> [hot] [changes] [warm]
 */
import { applyTyped, awakeEqRuntime } from '../lib/routing-runtime.ts';
import { makeRoutingTransactions } from '../lib/routing-dataset.ts';
import { fullGc } from '../lib/stats.ts';

const size = Number(process.argv[2]);
const hot = Number(process.argv[3] ?? 1_000);
const changes = Number(process.argv[4] ?? 30_000);
const warm = Number(process.argv[5] ?? 20_000);
const { runtime, dataset, transactions } = await awakeEqRuntime(size, warm + changes);

async function pass(label: string, timed: Parameters<typeof applyTyped>[1]): Promise<void> {
  fullGc();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const start = process.cpuUsage();
  await applyTyped(runtime, timed);
  const used = process.cpuUsage(start);
  console.log(`eq ${size} shapes, ${label}: ${((used.user + used.system) / timed.length).toFixed(1)} µs CPU per change`);
}

await applyTyped(runtime, transactions.slice(0, warm));
await pass(`changes to all ${size} users`, transactions.slice(warm));
// Then the same number of changes to the first `hot` users only (warmed first, untimed), from the next xid on.
const next = 2 + warm + changes;
const hotOnes = makeRoutingTransactions({ ...dataset, users: Math.min(hot, dataset.users) }, warm + changes, next, 2);
await applyTyped(runtime, hotOnes.slice(0, warm));
await pass(`changes to the first ${Math.min(hot, dataset.users)} users only`, hotOnes.slice(warm));
await runtime.shutdown();
