/**
 * Experiment (issue 12): what a pass of routed changes leaves alive, by allocation site. N shapes
 * `user_id = k` (bench/lib/routing-dataset.ts), memory store, every shape woken by a read, then
 * `changes` one-change transactions untimed and as many more under V8's sampling heap profiler;
 * after a full collection, the bytes still alive per change, by the last three frames that
 * allocated them. What survives at 100k shapes and not at 1k is what a change makes per shape
 * and keeps (the young generation's collector copies it, and the old one traces it): found with
 * it, a cache Map per where-clause constant made on each shape's first evaluation (200 B per
 * change; castConst in src/shapes/where/constants.ts).
 *
 * Run: node --expose-gc --import tsx bench/experiments/routing-survivors.ts <N> [changes]
 */
import { Session } from 'node:inspector/promises';
import { applyTyped, awakeEqRuntime } from '../lib/routing-runtime.ts';
import { fullGc } from '../lib/stats.ts';

interface SamplingNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly SamplingNode[];
}

const size = Number(process.argv[2]);
const changes = Number(process.argv[3] ?? 8_000);
const { runtime, transactions } = await awakeEqRuntime(size, 2 * changes);
await applyTyped(runtime, transactions.slice(0, changes));
fullGc();
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', { samplingInterval: 256 });
await applyTyped(runtime, transactions.slice(changes));
fullGc();
const { profile } = (await session.post('HeapProfiler.getSamplingProfile')) as { profile: { head: SamplingNode } };
await session.post('HeapProfiler.stopSampling');
session.disconnect();

// Live bytes by the last three frames that allocated them.
const sites = new Map<string, number>();
const frame = ({ callFrame: f }: SamplingNode): string => `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
const walk = (node: SamplingNode, stack: readonly string[]): void => {
  const frames = [...stack, frame(node)];
  if (node.selfSize > 0) {
    const site = frames.slice(-3).join(' < ');
    sites.set(site, (sites.get(site) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, frames);
};
walk(profile.head, []);
const total = [...sites.values()].reduce((a, b) => a + b, 0);
console.log(`alive after ${changes} changes through ${size} shapes: ${total} B sampled, ${(total / changes).toFixed(0)} B per change`);
for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${(bytes / changes).toFixed(1).padStart(8)}  ${site}`);
await runtime.shutdown();
