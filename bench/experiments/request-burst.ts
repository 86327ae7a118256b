/**
 * Experiment: N transactions submitted at once through `applyTransaction` (one request each, as
 * the CLI's `apply` sends a file's lines ahead and an HTTP or in-process source may under load),
 * 1k shapes `user_id = k` (bench/lib/routing-runtime.ts), memory store. CPU µs per change for a
 * burst of each size: flat or falling (the runtime batches what waits) when the request queue
 * costs O(1) per request; growing with N when each request copies the queue (the queue was an
 * array copied on each add and take: 160 / 120 / 151 / 321 µs at 1k / 4k / 16k / 32k; with
 * src/machines/request-queue.ts 124 / 113 / 70 / 56).
 *
 * Run: node --expose-gc --max-semi-space-size=64 --import tsx bench/experiments/request-burst.ts [sizes, default 1000,4000,16000,32000]
 */
import { awakeEqRuntime } from '../lib/routing-runtime.ts';
import { fullGc } from '../lib/stats.ts';

const sizes = (process.argv[2] ?? '1000,4000,16000,32000').split(',').map(Number);
const WARM = 2_000;
for (const n of sizes) {
  const { runtime, transactions } = await awakeEqRuntime(1_000, WARM + n);
  const all = (txs: typeof transactions) => Promise.all(txs.map((tx) => runtime.applyTransaction(tx)));
  await all(transactions.slice(0, WARM));
  fullGc();
  const start = process.cpuUsage();
  const results = await all(transactions.slice(WARM));
  const used = process.cpuUsage(start);
  if (results.some((r) => r.status !== 'applied')) throw new Error('a transaction was not applied');
  console.log(`${n} requests at once: ${((used.user + used.system) / n).toFixed(1)} µs CPU per change`);
  await runtime.shutdown();
}
