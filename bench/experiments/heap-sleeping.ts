/**
 * The heap a restored runtime holds per kept, sleeping shape (as bench/scenarios/restart.ts
 * measures it), on the restart data set or its distinct-where variant, with an optional heap
 * snapshot of the restored runtime to take apart by object kind.
 *   node --expose-gc --import tsx bench/experiments/heap-sleeping.ts [size] [--distinct] [--scan] [--snapshot=file]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { openFileStorage } from '../../src/storage/file-store.ts';
import { buildDataset, writeDataDir } from '../lib/shape-dataset.ts';
import { fullGc, heapAfterGc, round } from '../lib/stats.ts';
import { prepare } from '../scenarios/restore.ts';
import { readFile } from 'node:fs/promises';

const args = process.argv.slice(2);
const size = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
const distinct = args.includes('--distinct');
const scan = args.includes('--scan');
const snapshot = args.find((a) => a.startsWith('--snapshot='))?.slice('--snapshot='.length);

const root = await mkdtemp(join(tmpdir(), 'shape-actors-heap-'));
try {
  const dir = join(root, 'data');
  // The data set is not kept: the snapshot then holds only the runtime's objects.
  const shapes = await writeData(dir);
  const backupText = await readFile(join(dir, 'backup', 'registry.jsonl'), 'utf8');
  await prepare(dir, scan ? 'scan' : 'backup', backupText);
  fullGc();
  const before = heapAfterGc();
  const storage = await openFileStorage(dir);
  const runtime = await createShapeRuntime({ storage });
  if (runtime.report.loaded.length !== shapes || runtime.activity().awake !== 0) throw new Error('unexpected restore');
  const perShape = (heapAfterGc() - before) / shapes;
  process.stdout.write(`${size} shapes, ${distinct ? 'distinct' : 'repeated'} wheres, ${scan ? 'scan' : 'backup'}: ${round(perShape, 1)} B/shape asleep\n`);
  if (snapshot) writeHeapSnapshot(snapshot);
  await runtime.shutdown();
  await storage.close();
} finally {
  await rm(root, { recursive: true, force: true });
}

async function writeData(dir: string): Promise<number> {
  const dataset = await buildDataset({ size, distinctWheres: distinct });
  await writeDataDir(dir, dataset);
  return dataset.size;
}
