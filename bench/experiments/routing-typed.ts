/**
 * Experiment (issue 12, the eq flatness target): the typed `applyTransactions` path alone, a
 * longer pass than the bench's quick one. N shapes `user_id = k` (bench/lib/routing-runtime.ts),
 * memory store, every shape woken by a read first, `warm` one-change transactions in chunks of 256
 * untimed (default: as many as measured), then `changes` more timed (CPU time of the process, after
 * a full collection). Run it for 1k and 100k, back to back, and compare: the ratio moves a lot
 * between runs on a shared machine (two runs at once, one per tree, compare two versions best).
 *
 * Run: node --expose-gc --import tsx bench/experiments/routing-typed.ts <N> [changes] [warm]
 */
import { applyTyped, awakeEqRuntime } from '../lib/routing-runtime.ts';
import { fullGc } from '../lib/stats.ts';

const size = Number(process.argv[2]);
const changes = Number(process.argv[3] ?? 8_000);
const warm = Number(process.argv[4] ?? changes);
const { runtime, transactions } = await awakeEqRuntime(size, warm + changes);
await applyTyped(runtime, transactions.slice(0, warm));
fullGc();
await new Promise((resolve) => setTimeout(resolve, 300));
const start = process.cpuUsage();
await applyTyped(runtime, transactions.slice(warm));
const used = process.cpuUsage(start);
console.log(`typed eq ${size}: ${((used.user + used.system) / changes).toFixed(1)} us/change cpu`);
await runtime.shutdown();
