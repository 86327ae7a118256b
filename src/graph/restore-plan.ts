import { stronglyConnectedComponents } from './cycles.ts';
import type { Removal, RemovalReason } from './removal.ts';

/** One loaded shape, as the planner sees it: identities and edges, nothing else. */
export interface PlanNode {
  readonly handle: string;
  /** Definition key (equal definitions <=> equal keys). */
  readonly key: string;
  /** Resolved dependency handles, in order of appearance in the where clause. */
  readonly dependencyHandles: readonly string[];
  /** Definition keys the where clause's subqueries require, same order. */
  readonly dependencyKeys: readonly string[];
  /** Creation time (the handle's microseconds): the fixed rule keeps the oldest duplicate. */
  readonly createdAt: bigint;
  /** Created directly by a caller, not only as some shape's dependency. */
  readonly requested: boolean;
}

export type RestorePolicy = 'validate' | 'dropDependent';

export interface RestorePlanOptions {
  readonly policy?: RestorePolicy;
  /**
   * Shapes already removed while loading (no storage, corrupt definition):
   * a dependent of one of these is `dependency-removed`, not `missing-dependency`.
   */
  readonly removedWhileLoading?: readonly Removal[];
  /**
   * The caller found that no two nodes share a definition key (restore's load groups them before
   * it plans): the duplicate rule has nothing to decide, so no node's key is asked for but those
   * a dependency is checked against.
   */
  readonly keysUnique?: boolean;
}

export interface RestorePlan {
  /** Surviving handles in topological order: every dependency before its dependents. */
  readonly keep: readonly string[];
  /** The same survivors as indices into the nodes planned (`keep[i] === nodes[keptNodes[i]].handle`). */
  readonly keptNodes: readonly number[];
  /** Every removal, causes before their effects (removedWhileLoading first). */
  readonly removals: readonly Removal[];
  /** The survivors some survivor depends on (each runs a materializer), in `keep`'s order. */
  readonly dependedOn: readonly string[];
}

const NONE = -1;

/**
 * Decides which loaded shapes survive a restore, in one pass linear in
 * shapes + edges. A shape survives only when every dependency handle names a
 * surviving shape whose definition is the one its subquery asks for; removal
 * is transitive; a shape on a cycle is removed; of two shapes with the same
 * definition the oldest (then the smaller handle) is kept.
 *
 * Every dependency handle is checked against the survivors, not against a list
 * of "removed in this pass": a handle that already dangled when the backup
 * was written is caught the same way.
 */
export function planRestore(nodes: readonly PlanNode[], options: RestorePlanOptions = {}): RestorePlan {
  const policy = options.policy ?? 'validate';
  const preRemoved = options.removedWhileLoading ?? [];
  const n = nodes.length;

  // Only the handles some node names as a dependency are looked up: a map of those alone (a few
  // percent of the nodes), not of every node (at 100k shapes that map was most of a plan's memory).
  const named = new Set<string>();
  for (let i = 0; i < n; i++) for (const h of nodes[i]!.dependencyHandles) named.add(h);
  const indexOf = new Map<string, number>();
  if (named.size > 0) for (let i = 0; i < n; i++) if (named.has(nodes[i]!.handle)) indexOf.set(nodes[i]!.handle, i);
  const removedBeforePlan = new Set(preRemoved.map((r) => r.handle));

  // Direct faults: the node's own dependency list is wrong, whatever else happens.
  const fault: (Removal | undefined)[] = new Array(n);
  // Edges are kept as offsets into flat Int32Arrays, both ways (deps, dependents), not
  // an array per shape: at 100k shapes the arrays were most of the fresh memory a
  // plan touched, and fresh memory (page faults) is what a plan's time goes to.
  let stored = 0;
  for (let i = 0; i < n; i++) stored += nodes[i]!.dependencyHandles.length;
  const depStart = new Int32Array(n + 1);
  const depList = new Int32Array(stored);
  const dependentStart = new Int32Array(n + 1);
  let edges = 0;
  // A dependency's key, once per dependency (a node's key may be built when asked for).
  const keyOf = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    depStart[i] = edges;
    const node = nodes[i]!;
    const dependencyKeys = node.dependencyKeys;
    if (node.dependencyHandles.length !== dependencyKeys.length) {
      fault[i] = {
        handle: node.handle,
        reason: 'missing-dependency',
        cause: null,
        detail: `where clause has ${dependencyKeys.length} subqueries but ${node.dependencyHandles.length} dependency handles are stored`,
      };
    }
    for (let d = 0; d < node.dependencyHandles.length; d++) {
      const depHandle = node.dependencyHandles[d]!;
      const j = indexOf.get(depHandle);
      if (j === undefined) {
        fault[i] ??= removedBeforePlan.has(depHandle)
          ? { handle: node.handle, reason: 'dependency-removed', cause: depHandle }
          : { handle: node.handle, reason: 'missing-dependency', cause: depHandle, detail: `dependency ${d} is not stored` };
        continue;
      }
      let key = keyOf.get(j);
      if (key === undefined) keyOf.set(j, (key = nodes[j]!.key));
      if (d < dependencyKeys.length && key !== dependencyKeys[d]) {
        fault[i] ??= {
          handle: node.handle,
          reason: 'dependency-mismatch',
          cause: depHandle,
          detail: `dependency ${d} names a shape with another definition`,
        };
      }
      depList[edges++] = j;
      dependentStart[j + 1]!++;
    }
  }
  depStart[n] = edges;
  for (let i = 0; i < n; i++) dependentStart[i + 1]! += dependentStart[i]!;
  const dependentList = new Int32Array(edges);
  const fillAt = dependentStart.slice(0, n);
  for (let i = 0; i < n; i++) for (let k = depStart[i]!; k < depStart[i + 1]!; k++) dependentList[fillAt[depList[k]!]!++] = i;
  const deps = new Adjacency(depStart, depList);
  const dependents = new Adjacency(dependentStart, dependentList);

  // Kahn's algorithm: topological order and depth (longest path from a root).
  const pending = new Int32Array(n);
  const depth = new Int32Array(n);
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    pending[i] = deps.count(i);
    if (pending[i] === 0) order.push(i);
  }
  for (let head = 0; head < order.length; head++) {
    const v = order[head]!;
    for (let k = dependentStart[v]!; k < dependentStart[v + 1]!; k++) {
      const w = dependentList[k]!;
      if (depth[w]! < depth[v]! + 1) depth[w] = depth[v]! + 1;
      if (--pending[w]! === 0) order.push(w);
    }
  }

  const removal: (Removal | undefined)[] = new Array(n);
  const removals: Removal[] = [...preRemoved];
  const remove = (i: number, reason: RemovalReason, cause: string | null, detail?: string): void => {
    const r: Removal = detail === undefined ? { handle: nodes[i]!.handle, reason, cause } : { handle: nodes[i]!.handle, reason, cause, detail };
    removal[i] = r;
    removals.push(r);
  };
  const removeWith = (i: number, r: Removal): void => {
    removal[i] = r;
    removals.push(r);
  };

  // Walk the acyclic part by depth. All candidates for one definition have the
  // same depth (their dependencies have the same definitions), so a depth level
  // holds every rival a duplicate can have, and its dependents come later.
  let maxDepth = 0;
  for (const v of order) if (depth[v]! > maxDepth) maxDepth = depth[v]!;
  const levelStart = new Int32Array(maxDepth + 2);
  for (const v of order) levelStart[depth[v]! + 1]!++;
  for (let d = 1; d < levelStart.length; d++) levelStart[d]! += levelStart[d - 1]!;
  const byLevel = new Int32Array(order.length);
  const fill = levelStart.slice();
  for (const v of order) byLevel[fill[depth[v]!]!++] = v;

  const winnerOfKey = new Map<string, number>();
  for (let d = 0; d <= maxDepth; d++) {
    winnerOfKey.clear();
    const candidates: number[] = [];
    for (let k = levelStart[d]!; k < levelStart[d + 1]!; k++) {
      const v = byLevel[k]!;
      const own = fault[v];
      if (own) {
        removeWith(v, own);
        continue;
      }
      const removedDep = firstRemoved(depStart, depList, v, removal);
      if (removedDep !== NONE) {
        remove(v, 'dependency-removed', nodes[removedDep]!.handle);
        continue;
      }
      if (options.keysUnique) continue;
      candidates.push(v);
      const best = winnerOfKey.get(nodes[v]!.key);
      if (best === undefined || older(nodes[v]!, nodes[best]!)) winnerOfKey.set(nodes[v]!.key, v);
    }
    for (const v of candidates) {
      const best = winnerOfKey.get(nodes[v]!.key)!;
      if (best !== v) remove(v, 'duplicate', nodes[best]!.handle, 'another stored shape has the same definition');
    }
  }

  // Whatever Kahn could not order sits on a cycle or behind one.
  if (order.length < n) {
    const inCycleArea = (i: number): boolean => pending[i]! > 0;
    const components = stronglyConnectedComponents(n, (i) => deps.of(i), inCycleArea);
    // Component of each node, so "is w on v's cycle" is O(1) (a search of the
    // component made a cycle of k shapes cost k^2).
    const componentOf = new Int32Array(n).fill(NONE);
    components.forEach((component, c) => {
      for (const v of component) componentOf[v] = c;
    });
    const queue: number[] = [];
    for (const [c, component] of components.entries()) {
      const onCycle = component.length > 1 || deps.of(component[0]!).includes(component[0]!);
      if (!onCycle) continue;
      for (const v of component) {
        const next = deps.of(v).find((w) => componentOf[w] === c) ?? v;
        if (fault[v]) removeWith(v, fault[v]!);
        else remove(v, 'cycle', nodes[next]!.handle);
        queue.push(v);
      }
    }
    // Everything downstream of a cycle: breadth first, so each cause precedes its effects.
    for (let head = 0; head < queue.length; head++) {
      const v = queue[head]!;
      for (const w of dependents.of(v)) {
        if (removal[w]) continue;
        if (fault[w]) removeWith(w, fault[w]!);
        else remove(w, 'dependency-removed', nodes[v]!.handle);
        queue.push(w);
      }
    }
  }

  if (policy === 'dropDependent') dropDependentShapes(nodes, order, deps, dependents, removal, remove);

  const keep: string[] = [];
  const keptNodes: number[] = [];
  const dependedOn: string[] = [];
  for (const v of order) {
    if (removal[v]) continue;
    const handle = nodes[v]!.handle;
    keep.push(handle);
    keptNodes.push(v);
    for (let k = dependentStart[v]!; k < dependentStart[v + 1]!; k++) {
      if (removal[dependentList[k]!]) continue;
      dependedOn.push(handle);
      break;
    }
  }
  return { keep, keptNodes, removals, dependedOn };
}

/**
 * Electric's 2026 policy: every shape with subqueries goes (clients re-fetch),
 * and so do dependency shapes that only those shapes used and no caller asked
 * for directly. Runs after validation, over the survivors.
 */
function dropDependentShapes(
  nodes: readonly PlanNode[],
  order: readonly number[],
  deps: Adjacency,
  dependents: Adjacency,
  removal: (Removal | undefined)[],
  remove: (i: number, reason: RemovalReason, cause: string | null, detail?: string) => void,
): void {
  // Dependents first (reverse topological order), so a dependency sees its dependents' fate.
  for (let k = order.length - 1; k >= 0; k--) {
    const v = order[k]!;
    if (!removal[v] && deps.count(v) > 0) remove(v, 'policy-drop-dependent', null);
  }
  for (let k = order.length - 1; k >= 0; k--) {
    const v = order[k]!;
    if (removal[v] || nodes[v]!.requested || dependents.count(v) === 0) continue;
    const users = dependents.of(v);
    const droppedBy = users.find((w) => removal[w]?.reason === 'policy-drop-dependent');
    if (droppedBy !== undefined && users.every((w) => removal[w] !== undefined)) {
      remove(v, 'unused-dependency', nodes[droppedBy]!.handle);
    }
  }
}

function firstRemoved(depStart: Int32Array, depList: Int32Array, v: number, removal: readonly (Removal | undefined)[]): number {
  for (let k = depStart[v]!; k < depStart[v + 1]!; k++) if (removal[depList[k]!]) return depList[k]!;
  return NONE;
}

/** One direction of the edges: node i's neighbours are list[start[i]] .. list[start[i + 1] - 1]. */
class Adjacency {
  constructor(
    readonly start: Int32Array,
    readonly list: Int32Array,
  ) {}

  count(i: number): number {
    return this.start[i + 1]! - this.start[i]!;
  }

  /** A view, not a copy (for the cold paths: cycles, the dropDependent policy). */
  of(i: number): Int32Array {
    return this.list.subarray(this.start[i]!, this.start[i + 1]!);
  }
}

function older(a: PlanNode, b: PlanNode): boolean {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt;
  return a.handle < b.handle;
}
