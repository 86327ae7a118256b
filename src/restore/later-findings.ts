import { DependencyGraph } from '../graph/dependency-graph.ts';
import type { Removal } from '../graph/removal.ts';
import type { RestorePlan } from '../graph/restore-plan.ts';
import type { ShapeRecord } from '../registry/shape-record.ts';
import type { ShapeFileCheck } from './check-shape-files.ts';

/**
 * What the check after restore will do to a plan: each kept shape whose own files are damaged
 * goes with everything depending on it, in the plan's order (dependencies first), as the
 * running runtime removes them (the same closure: DependencyGraph.removalClosure). The dry run
 * and doctor read everything up front and use this to predict the outcome. `records`: the
 * records the plan was made of (its keptNodes index them).
 */
export function applyLaterFindings(plan: RestorePlan, records: readonly ShapeRecord[], findings: readonly ShapeFileCheck[]): RestorePlan {
  const damaged = new Map<string, Removal>();
  for (const f of findings) if (f.removal) damaged.set(f.handle, f.removal);
  if (damaged.size === 0) return plan;
  const graph = new DependencyGraph();
  for (const i of plan.keptNodes) graph.add(records[i]!.stored.handle, records[i]!.stored.dependencyHandles);
  const removals: Removal[] = [...plan.removals];
  for (const handle of plan.keep) {
    const finding = damaged.get(handle);
    if (!finding || !graph.has(handle)) continue;
    const closure = graph.removalClosure(handle, finding.reason, null, finding.detail);
    for (let i = closure.length - 1; i >= 0; i--) graph.delete(closure[i]!.handle);
    removals.push(...closure);
  }
  const keptNodes = plan.keptNodes.filter((i) => graph.has(records[i]!.stored.handle));
  const keep = keptNodes.map((i) => records[i]!.stored.handle);
  return { keep, keptNodes, removals, dependedOn: keep.filter((h) => graph.dependentsOf(h).size > 0) };
}
