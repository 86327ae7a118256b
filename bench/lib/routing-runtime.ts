/**
 * Runtimes for the routing cases (bench/scenarios/routing.ts) and experiments
 * (bench/experiments/routing-*.ts): a memory store holding a routing data set, the typed entry
 * point as an in-process source calls it, and, for the experiments, a runtime over N shapes
 * `user_id = k` with every shape woken by a read.
 */
import { mapConcurrently } from '../../src/restore/map-concurrently.ts';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';
import { buildRoutingDataset, makeRoutingTransactions, type RoutingDataset, type RoutingTransaction } from './routing-dataset.ts';

/** A memory store holding the data set's shapes and their logs. */
export async function storageOf(dataset: RoutingDataset): Promise<MemoryStorage> {
  const storage = new MemoryStorage();
  for (const shape of dataset.shapes) await storage.createShape(shape.stored, shape.log);
  return storage;
}

const TYPED_CHUNK = 256;

/** The typed entry point, as an in-process source would call it: chunks of 256, all submitted at once; every transaction must be applied. */
export async function applyTyped(runtime: ShapeRuntime, transactions: readonly RoutingTransaction[]): Promise<void> {
  const chunks: RoutingTransaction[][] = [];
  for (let i = 0; i < transactions.length; i += TYPED_CHUNK) chunks.push(transactions.slice(i, i + TYPED_CHUNK));
  const results = (await Promise.all(chunks.map((chunk) => runtime.applyTransactions(chunk)))).flat();
  const notApplied = results.filter((r) => r.status !== 'applied').length;
  if (notApplied > 0) throw new Error(`${notApplied} of ${transactions.length} transactions were not applied`);
}

export interface AwakeEqRuntime {
  readonly runtime: ShapeRuntime;
  readonly dataset: RoutingDataset;
  /** `count` transactions, from xid 2 on. */
  readonly transactions: readonly RoutingTransaction[];
}

/** N shapes `user_id = k`, every shape woken by a read, and `count` one-change transactions for them. */
export async function awakeEqRuntime(size: number, count: number): Promise<AwakeEqRuntime> {
  const dataset = await buildRoutingDataset('eq', size);
  const runtime = await createShapeRuntime({ storage: await storageOf(dataset) });
  await mapConcurrently(dataset.shapes.map((s) => s.stored.handle), 64, (handle) => runtime.reads.lastOffset(handle));
  return { runtime, dataset, transactions: makeRoutingTransactions(dataset, count, 2, 1) };
}
