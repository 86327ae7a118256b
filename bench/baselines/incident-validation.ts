/**
 * Baseline for the validation scenario: the approach of the incident's code
 * path (Electric's restore, and the draft fix that was closed unmerged),
 * written plainly:
 *
 * 1. order the shapes by repeated passes over the list: each pass takes every
 *    shape whose dependencies are already placed (or not loaded at all);
 * 2. one level of validation: a shape whose dependency handle is not loaded
 *    is removed;
 * 3. then one removal pass over the whole list per removed shape, removing
 *    the shapes that depend on it (which are then removed in turn).
 *
 * Quadratic in the worst case: passes x shapes for the order, removed shapes
 * x shapes for the cascade. It handles only missing dependencies (no
 * duplicates, mismatches or cycles), which is all the damage the scenario has,
 * so its survivors must equal `planRestore`'s: the benchmark checks that.
 */
import type { PlanNode } from '../../src/graph/restore-plan.ts';

export interface BaselineResult {
  /** Surviving handles in dependency order. */
  readonly keep: readonly string[];
  readonly removed: readonly string[];
  /** Passes over the list: ordering passes + removal passes. */
  readonly passes: number;
  /** Set when the deadline passed before the work was done (the result is then incomplete). */
  readonly aborted: boolean;
}

export function incidentValidation(nodes: readonly PlanNode[], deadline = Infinity): BaselineResult {
  let passes = 0;
  const loaded = new Set<string>();
  for (const node of nodes) loaded.add(node.handle);

  // 1. Order by repeated passes.
  const placed = new Set<string>();
  const order: PlanNode[] = [];
  let remaining: readonly PlanNode[] = nodes;
  while (remaining.length > 0) {
    passes++;
    if (performance.now() > deadline) return { keep: [], removed: [], passes, aborted: true };
    const next: PlanNode[] = [];
    for (const node of remaining) {
      if (node.dependencyHandles.every((h) => placed.has(h) || !loaded.has(h))) {
        order.push(node);
        placed.add(node.handle);
      } else {
        next.push(node);
      }
    }
    if (next.length === remaining.length) break; // a cycle: never placed
    remaining = next;
  }

  // 2. One level of validation.
  const removed = new Set<string>();
  const queue: string[] = [];
  for (const node of order) {
    if (node.dependencyHandles.some((h) => !loaded.has(h))) {
      removed.add(node.handle);
      queue.push(node.handle);
    }
  }

  // 3. A removal pass over the whole list per removed shape.
  for (let head = 0; head < queue.length; head++) {
    passes++;
    if ((head & 63) === 0 && performance.now() > deadline) return { keep: [], removed: [], passes, aborted: true };
    const gone = queue[head]!;
    for (const node of order) {
      if (removed.has(node.handle)) continue;
      if (node.dependencyHandles.includes(gone)) {
        removed.add(node.handle);
        queue.push(node.handle);
      }
    }
  }

  const keep = order.filter((n) => !removed.has(n.handle)).map((n) => n.handle);
  return { keep, removed: queue, passes, aborted: false };
}
