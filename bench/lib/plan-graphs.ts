/**
 * Synthetic restore inputs for the validation scenario: `PlanNode`s as the
 * restore machine hands them to `planRestore`, for three graph kinds, with 1%
 * of the shapes damaged (their storage gone: they are not loaded, and their
 * dependents' handles dangle, as in the incident).
 */
import type { PlanNode } from '../../src/graph/restore-plan.ts';
import { randomInt, rng, shuffle } from './stats.ts';

export type GraphKind = 'random-dag' | 'chains' | 'fans';

export const GRAPH_KINDS: readonly GraphKind[] = ['random-dag', 'chains', 'fans'];

export const GRAPH_DESCRIPTIONS: Record<GraphKind, string> = {
  'random-dag': 'random DAG: 30% of shapes have 1-3 dependencies among older shapes',
  chains: 'chains of depth 1,000 (shape i depends on shape i-1)',
  fans: 'wide fans: one dependency with up to 10,000 dependents',
};

export const CHAIN_DEPTH = 1_000;
export const FAN_WIDTH = 10_000;
export const DAMAGE = 0.01;

export interface PlanGraph {
  readonly kind: GraphKind;
  /** Shapes that existed before the damage. */
  readonly size: number;
  /** What the planner is given: the surviving stored shapes, in listing (shuffled) order. */
  readonly nodes: readonly PlanNode[];
  /** Shapes whose storage was deleted. */
  readonly damaged: number;
  /** Dependency edges among `nodes` (dangling ones included). */
  readonly edges: number;
}

const BASE_MICROS = 1_765_808_264_000_000n;

/** Dependencies (as indexes of older shapes) for each of `n` shapes. */
function dependencies(kind: GraphKind, n: number, random: () => number): number[][] {
  const deps: number[][] = [];
  for (let i = 0; i < n; i++) {
    if (kind === 'random-dag') {
      const d: number[] = [];
      if (i > 0 && random() < 0.3) {
        const want = Math.min(i, 1 + randomInt(random, 3));
        while (d.length < want) {
          const j = randomInt(random, i);
          if (!d.includes(j)) d.push(j);
        }
      }
      deps.push(d);
    } else if (kind === 'chains') {
      deps.push(i % CHAIN_DEPTH === 0 ? [] : [i - 1]);
    } else {
      const root = i - (i % (FAN_WIDTH + 1));
      deps.push(i === root ? [] : [root]);
    }
  }
  return deps;
}

/** A definition key of realistic length: what `definitionKey()` produces for a subquery shape. */
function keyOf(i: number, deps: readonly number[]): string {
  const sub = deps.map((j) => ` AND c IN (SELECT c FROM public.t${j % 100} WHERE g = ${j})`).join('');
  return JSON.stringify({ table: `public.t${i % 100}`, where: `k = ${i}${sub}`, columns: ['c'], replica: 'default' });
}

export function planGraph(kind: GraphKind, size: number, seed = 1): PlanGraph {
  const random = rng(seed * 7919 + size);
  const deps = dependencies(kind, size, random);
  const keys = deps.map((d, i) => keyOf(i, d));
  const handles = keys.map((_, i) => `${(i * 2654435761) >>> 0}-${BASE_MICROS + BigInt(i)}`);
  const damagedSet = new Set<number>();
  const damaged = Math.round(size * DAMAGE);
  while (damagedSet.size < damaged) damagedSet.add(randomInt(random, size));
  const nodes: PlanNode[] = [];
  let edges = 0;
  for (let i = 0; i < size; i++) {
    if (damagedSet.has(i)) continue;
    const d = deps[i]!;
    edges += d.length;
    nodes.push({
      handle: handles[i]!,
      key: keys[i]!,
      dependencyHandles: d.map((j) => handles[j]!),
      dependencyKeys: d.map((j) => keys[j]!),
      createdAt: BASE_MICROS + BigInt(i),
      requested: d.length > 0 || random() < 0.5,
    });
  }
  // A storage listing comes in directory order, not creation order.
  shuffle(random, nodes);
  return { kind, size, nodes, damaged, edges };
}
