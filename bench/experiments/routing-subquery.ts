/**
 * Experiment (issue 12, the subquery flatness target): one data set (bench/lib/routing-dataset.ts),
 * N shapes, two passes of the same length, each profiled alone when BENCH_PROFILE_DIR is set
 * (bench/lib/profile.ts; the profile's stop is not timed): the typed `applyTransactions` path
 * (every shape woken by a read first, a pass as long untimed first) and the router alone
 * (bench/lib/router-pass.ts). CPU µs per change of each, and the router's collector pauses.
 * Run 1k and 100k back to back and compare. `HOT=k`: every change concerns one of k users' (and
 * k/4 orgs') shapes: the heap of N shapes with the working set of k (HOT=800 at 100k is the 1k
 * case's working set), to tell what grows with the heap from what grows with the shapes touched.
 *
 * Run: node --expose-gc --import tsx bench/experiments/routing-subquery.ts <N> [changes] [eq|subquery] [typed|router|both]
 */
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';
import { mapConcurrently } from '../../src/restore/map-concurrently.ts';
import { routerPass, settle } from '../lib/router-pass.ts';
import { profiled } from '../lib/profile.ts';
import { buildRoutingDataset, makeRoutingTransactions, type RoutingKind, type RoutingTransaction } from '../lib/routing-dataset.ts';
import { fullGc } from '../lib/stats.ts';

const size = Number(process.argv[2]);
const n = Number(process.argv[3] ?? 4000);
const kind = (process.argv[4] ?? 'subquery') as RoutingKind;
const which = process.argv[5] ?? 'both';
const hot = Number(process.env.HOT ?? 0);
const dataset = await buildRoutingDataset(kind, size);

const hotten = (transactions: RoutingTransaction[]): RoutingTransaction[] =>
  hot === 0
    ? transactions
    : transactions.map((tx) => ({
        ...tx,
        changes: tx.changes.map((c) => ({
          ...c,
          row: {
            ...c.row,
            ...(typeof c.row.user_id === 'number' ? { user_id: c.row.user_id % hot } : {}),
            ...(typeof c.row.org_id === 'number' ? { org_id: c.row.org_id % Math.max(1, hot / 4) } : {}),
          },
        })),
      }));

if (which !== 'router') {
  const storage = new MemoryStorage();
  for (const s of dataset.shapes) await storage.createShape(s.stored, s.log);
  const runtime = await createShapeRuntime({ storage });
  const requested = dataset.shapes.filter((s) => s.stored.requested).map((s) => s.stored.handle);
  await mapConcurrently(requested, 64, (handle) => runtime.reads.lastOffset(handle));
  const transactions = hotten(makeRoutingTransactions(dataset, 2 * n, 2, 1));
  const run = async (list: readonly RoutingTransaction[]): Promise<void> => {
    const chunks: RoutingTransaction[][] = [];
    for (let i = 0; i < list.length; i += 256) chunks.push(list.slice(i, i + 256));
    await Promise.all(chunks.map((chunk) => runtime.applyTransactions(chunk)));
  };
  await run(transactions.slice(0, n));
  fullGc();
  await settle();
  const { timing } = await profiled(`typed-${kind}-${size}`, () => run(transactions.slice(n)));
  console.log(`typed ${kind} ${size}${hot ? ` hot ${hot}` : ''}: ${((timing.cpuMs * 1000) / n).toFixed(1)} µs cpu/change`);
  await runtime.shutdown();
}
if (which !== 'typed') {
  const transactions = hotten(makeRoutingTransactions(dataset, n + 16, 2, 1));
  const pass = await routerPass(dataset, transactions, 16, async (measure) => void (await profiled(`router-${kind}-${size}`, measure)));
  const perChange = (ms: number): string => ((ms * 1000) / pass.changes).toFixed(1);
  console.log(`router ${kind} ${size}${hot ? ` hot ${hot}` : ''}: ${perChange(pass.timing.cpuMs)} µs cpu/change, collector pauses ${perChange(pass.gcMs)} µs/change (${pass.entries} entries)`);
}
