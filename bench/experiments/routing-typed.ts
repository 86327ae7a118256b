/**
 * Experiment (issue 12, the eq flatness target): the typed `applyTransactions` path alone, a
 * longer pass than the bench's quick one. N shapes `user_id = k` (bench/lib/routing-dataset.ts),
 * memory store, every shape woken by a read first, 8,000 one-change transactions in chunks of 256
 * untimed, then 8,000 more timed (CPU time of the process, after a full collection). Run it for
 * 1k and 100k, back to back, and compare: the ratio moves a lot between runs on a shared machine.
 *
 * Run: node --expose-gc --import tsx bench/experiments/routing-typed.ts <N> [changes]
 */
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';
import { mapConcurrently } from '../../src/restore/map-concurrently.ts';
import { buildRoutingDataset, makeRoutingTransactions } from '../lib/routing-dataset.ts';
import { fullGc } from '../lib/stats.ts';
const size = Number(process.argv[2]); const n = Number(process.argv[3] ?? 8000);
const ds = await buildRoutingDataset('eq', size);
const storage = new MemoryStorage();
for (const s of ds.shapes) await storage.createShape(s.stored, s.log);
const runtime = await createShapeRuntime({ storage });
await mapConcurrently(ds.shapes.map((s) => s.stored.handle), 64, (h) => runtime.reads.lastOffset(h));
const txs = makeRoutingTransactions(ds, 2 * n, 2, 1);
const run = async (list: typeof txs) => { const chunks = []; for (let i = 0; i < list.length; i += 256) chunks.push(list.slice(i, i + 256)); await Promise.all(chunks.map((c) => runtime.applyTransactions(c))); };
await run(txs.slice(0, n));
fullGc(); await new Promise((r) => setTimeout(r, 300));
const t = process.cpuUsage();
await run(txs.slice(n));
const u = process.cpuUsage(t);
console.log(`typed eq ${size}: ${((u.user + u.system) / n).toFixed(1)} us/change cpu`);
await runtime.shutdown();
