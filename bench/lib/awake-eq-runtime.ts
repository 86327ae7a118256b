/**
 * For the routing experiments (bench/experiments/routing-*.ts): a runtime over N shapes
 * `user_id = k` in a memory store, every shape woken by a read, and one-change transactions for
 * it, applied through the typed entry point in chunks of 256 submitted together (as the bench's
 * typed pass does).
 */
import { mapConcurrently } from '../../src/restore/map-concurrently.ts';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';
import { buildRoutingDataset, makeRoutingTransactions, type RoutingTransaction } from './routing-dataset.ts';

export interface AwakeEqRuntime {
  readonly runtime: ShapeRuntime;
  /** `count` transactions, from xid 2 on. */
  readonly transactions: readonly RoutingTransaction[];
  apply(transactions: readonly RoutingTransaction[]): Promise<void>;
}

export async function awakeEqRuntime(size: number, count: number): Promise<AwakeEqRuntime> {
  const dataset = await buildRoutingDataset('eq', size);
  const storage = new MemoryStorage();
  for (const shape of dataset.shapes) await storage.createShape(shape.stored, shape.log);
  const runtime = await createShapeRuntime({ storage });
  await mapConcurrently(dataset.shapes.map((s) => s.stored.handle), 64, (handle) => runtime.reads.lastOffset(handle));
  const apply = async (transactions: readonly RoutingTransaction[]): Promise<void> => {
    const chunks: RoutingTransaction[][] = [];
    for (let i = 0; i < transactions.length; i += CHUNK) chunks.push(transactions.slice(i, i + CHUNK));
    await Promise.all(chunks.map((chunk) => runtime.applyTransactions(chunk)));
  };
  return { runtime, transactions: makeRoutingTransactions(dataset, count, 2, 1), apply };
}

const CHUNK = 256;
