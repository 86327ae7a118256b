/**
 * The restore oracle: which shapes must survive a restore of a (possibly
 * damaged) data dir, computed from the spec, independently of src/graph and
 * src/restore. It reads the dir with plain fs and JSON.parse and knows the
 * shape graph the dir was built from (test/helpers/shape-graph.ts), so it can
 * say what each subquery's dependency definition is without the SQL parser.
 *
 * SPEC, restore step 4, as a fixpoint: a shape survives iff
 * - its storage exists and its definition file is intact (readable, the
 *   on-disk format, naming its own handle, a definition we know);
 * - it has one dependency handle per subquery, and each names a surviving
 *   shape whose definition is the one that subquery asks for (so dangling
 *   handles, handles of removed shapes and cycles all fail);
 * - of two such shapes with the same definition, it is the oldest (handle
 *   creation time, then the smaller handle): the fixed rule.
 * Definitions are nested, so a shape's dependencies sit at a lower nesting
 * depth: evaluating depth by depth reaches the fixpoint in one pass.
 * Policy `dropDependent` (issue 2): afterwards, every survivor with
 * subqueries goes, and so do dependency shapes no caller asked for whose
 * every dependent is gone, one of them dropped by the policy.
 *
 * Restore decides from the metadata log (issue 13) and checks the definition
 * files after `running`, so a shape whose file is damaged but whose metadata
 * record is intact may be removed for what its record says (a missing
 * dependency, say) rather than as `corrupt-definition`: each shape's `view`
 * is what restore sees of it (the record, else the file), and reasons are
 * judged against it. The survivors are the same either way.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { nodeDefinition, nodeDepth, ownDefinitionKey, type ShapeGraph } from './shape-graph.ts';

export type Policy = 'validate' | 'dropDependent';

const HANDLE = /^\d{1,20}-\d{1,20}$/;
const DEFINITION_KEYS = new Set(['table', 'where', 'columns', 'replica']);

/** What the oracle found for one handle-named shape dir. */
export interface OracleShape {
  readonly handle: string;
  readonly createdAt: bigint;
  /** The definition file is intact and holds the definition of this graph node. */
  readonly node: number | null;
  /** Why it is not intact (null when it is). */
  readonly corrupt: string | null;
  readonly dependencyHandles: readonly string[];
  readonly requested: boolean;
  /** What restore sees of it: its metadata record when the file is damaged and the record is there, else the file. */
  readonly view: { readonly node: number | null; readonly dependencyHandles: readonly string[]; readonly requested: boolean };
}

export interface Oracle {
  readonly policy: Policy;
  /** Handle-named shape dirs in the damaged data dir. */
  readonly stored: ReadonlyMap<string, OracleShape>;
  readonly survivors: ReadonlySet<string>;
  /** Intact shapes removed by the policy (not by validation). */
  readonly droppedByPolicy: ReadonlySet<string>;
  /** The dependency definition (graph node) each subquery of node i asks for. */
  readonly requiredDeps: (node: number) => readonly number[];
  /** True when `handle` is on a cycle of dependency handles among intact shapes. */
  onCycle(handle: string): boolean;
}

export function createdAtOf(handle: string): bigint {
  return BigInt(handle.slice(handle.indexOf('-') + 1));
}

function older(a: OracleShape, b: OracleShape): boolean {
  return a.createdAt !== b.createdAt ? a.createdAt < b.createdAt : a.handle < b.handle;
}

/** Reads one definition file the way the on-disk format (docs, file-store) describes it. */
async function readDefinition(
  dir: string,
  handle: string,
  nodeByKey: ReadonlyMap<string, number>,
): Promise<{ node: number | null; corrupt: string | null; dependencyHandles: string[]; requested: boolean }> {
  const bad = (corrupt: string) => ({ node: null, corrupt, dependencyHandles: [], requested: false });
  let text: string;
  try {
    text = await readFile(join(dir, 'shapes', handle, 'definition.json'), 'utf8');
  } catch {
    return bad('no definition file');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('not an object');
  const record = value as Record<string, unknown>;
  if (Object.keys(record).sort().join() !== 'format,shape' || record.format !== 'shape-actors/definition@1') return bad('wrong format');
  const shape = record.shape as Record<string, unknown> | null;
  if (typeof shape !== 'object' || shape === null || Array.isArray(shape)) return bad('shape not an object');
  if (Object.keys(shape).sort().join() !== 'definition,dependencyHandles,handle,requested') return bad('shape has other fields');
  if (shape.handle !== handle) return bad('names another handle');
  if (typeof shape.requested !== 'boolean') return bad('requested not boolean');
  const deps = shape.dependencyHandles;
  if (!Array.isArray(deps) || !deps.every((d) => typeof d === 'string' && HANDLE.test(d))) return bad('bad dependency handles');
  const def = shape.definition as Record<string, unknown> | null;
  if (typeof def !== 'object' || def === null || Array.isArray(def)) return bad('definition not an object');
  if (!Object.keys(def).every((k) => DEFINITION_KEYS.has(k))) return bad('definition has other fields');
  const node = nodeByKey.get(ownDefinitionKey(def));
  if (node === undefined) return bad('not a definition of this graph');
  return { node, corrupt: null, dependencyHandles: deps as string[], requested: shape.requested };
}

/** The metadata log's latest record per handle (framed lines, checksums checked; reading stops at a bad line; versions 1 and 2). */
type MetadataRecord = { definition: Record<string, unknown>; dependencyHandles: string[]; requested: boolean };
async function readMetadataRecords(dir: string): Promise<Map<string, MetadataRecord>> {
  const out = new Map<string, MetadataRecord>();
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, 'metadata.jsonl'));
  } catch {
    return out;
  }
  for (const line of bytes.toString('utf8').split('\n').slice(0, -1)) {
    const json = line.slice(9);
    if (crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) break;
    const r = JSON.parse(json) as unknown;
    if (Array.isArray(r)) {
      // Version 2: ["put", handle, table, where|null, columns|null, replica, dependencyHandles, requested, parsed] / ["delete", handle].
      if (r[0] === 'put') {
        const [, handle, table, where, columns, replica, dependencyHandles, requested] = r as [string, string, unknown, unknown, unknown, unknown, string[], boolean];
        const definition: Record<string, unknown> = { table, replica };
        if (where !== null) definition.where = where;
        if (columns !== null) definition.columns = columns;
        out.set(handle, { definition, dependencyHandles, requested });
      }
      if (r[0] === 'delete') out.delete(r[1] as string);
      continue;
    }
    const v1 = r as { op: string; handle?: string; shape?: MetadataRecord & { handle: string } };
    if (v1.op === 'put' && v1.shape) out.set(v1.shape.handle, v1.shape);
    if (v1.op === 'delete' && v1.handle) out.delete(v1.handle);
  }
  return out;
}

/** Computes the expected survivors of restoring `dir` (built from `graph`, then damaged). */
export async function restoreOracle(dir: string, graph: ShapeGraph, policy: Policy = 'validate'): Promise<Oracle> {
  const nodeByKey = new Map<string, number>();
  graph.nodes.forEach((_n, i) => nodeByKey.set(ownDefinitionKey(nodeDefinition(graph, i)), i));
  const requiredDeps = (node: number): readonly number[] => graph.nodes[node]!.deps;

  let names: string[] = [];
  try {
    names = (await readdir(join(dir, 'shapes'), { withFileTypes: true })).filter((e) => e.isDirectory() && HANDLE.test(e.name)).map((e) => e.name);
  } catch {
    names = [];
  }
  const records = await readMetadataRecords(dir);
  const stored = new Map<string, OracleShape>();
  for (const handle of names) {
    const read = await readDefinition(dir, handle, nodeByKey);
    const record = records.get(handle);
    const view =
      read.corrupt !== null && record
        ? { node: nodeByKey.get(ownDefinitionKey(record.definition)) ?? null, dependencyHandles: record.dependencyHandles, requested: record.requested }
        : { node: read.node, dependencyHandles: read.dependencyHandles, requested: read.requested };
    stored.set(handle, { handle, createdAt: createdAtOf(handle), ...read, view });
  }

  // What restore decides on: each shape's view, except that restore reads the files of the shapes
  // that share a definition (the fixed rule deletes all but one), and what they depend on, before it plans.
  const perNode = new Map<number, number>();
  for (const s of stored.values()) if (s.view.node !== null) perNode.set(s.view.node, (perNode.get(s.view.node) ?? 0) + 1);
  const readEarly = new Set<string>();
  const visit = (h: string): void => {
    const s = stored.get(h);
    if (!s || readEarly.has(h)) return;
    readEarly.add(h);
    for (const d of s.view.dependencyHandles) visit(d);
  };
  for (const s of stored.values()) if (s.view.node !== null && perNode.get(s.view.node)! > 1) visit(s.handle);
  const trusted = (s: OracleShape): boolean => s.view.node !== null && (s.corrupt === null || !readEarly.has(s.handle));

  // Depth by depth: a shape's dependencies (when they match) are one level down.
  const byDepth = new Map<number, OracleShape[]>();
  for (const s of stored.values()) {
    if (!trusted(s)) continue;
    const d = nodeDepth(graph, s.view.node!);
    byDepth.set(d, [...(byDepth.get(d) ?? []), s]);
  }
  const survivors = new Set<string>();
  const maxDepth = Math.max(-1, ...byDepth.keys());
  for (let depth = 0; depth <= maxDepth; depth++) {
    const eligible = (byDepth.get(depth) ?? []).filter((s) => {
      const want = requiredDeps(s.view.node!);
      if (s.view.dependencyHandles.length !== want.length) return false;
      return s.view.dependencyHandles.every((h, k) => survivors.has(h) && stored.get(h)!.view.node === want[k]);
    });
    const oldest = new Map<number, OracleShape>();
    for (const s of eligible) {
      const best = oldest.get(s.view.node!);
      if (!best || older(s, best)) oldest.set(s.view.node!, s);
    }
    for (const s of oldest.values()) survivors.add(s.handle);
  }

  const droppedByPolicy = new Set<string>();
  if (policy === 'dropDependent') {
    const dependentsOf = (h: string): OracleShape[] => [...stored.values()].filter((s) => trusted(s) && s.view.dependencyHandles.includes(h));
    for (const h of [...survivors]) {
      if (stored.get(h)!.view.dependencyHandles.length > 0) {
        survivors.delete(h);
        droppedByPolicy.add(h);
      }
    }
    for (const h of [...survivors]) {
      const s = stored.get(h)!;
      const dependents = dependentsOf(h);
      if (s.view.requested || dependents.length === 0) continue;
      if (dependents.every((d) => !survivors.has(d.handle)) && dependents.some((d) => droppedByPolicy.has(d.handle))) {
        survivors.delete(h);
        droppedByPolicy.add(h);
      }
    }
  }

  // The check after restore: a survivor whose own file is damaged goes, with what depends on it.
  for (const h of [...survivors]) {
    if (stored.get(h)!.corrupt === null || !survivors.has(h)) continue;
    const queue = [h];
    while (queue.length > 0) {
      const x = queue.pop()!;
      if (!survivors.delete(x)) continue;
      for (const s of stored.values()) if (survivors.has(s.handle) && s.view.dependencyHandles.includes(x)) queue.push(s.handle);
    }
  }

  const onCycle = (handle: string): boolean => {
    const seen = new Set<string>();
    const stack = [...(stored.get(handle)?.dependencyHandles ?? [])];
    while (stack.length > 0) {
      const h = stack.pop()!;
      if (h === handle) return true;
      if (seen.has(h)) continue;
      seen.add(h);
      const s = stored.get(h);
      if (s && s.view.node !== null) stack.push(...s.view.dependencyHandles);
    }
    return false;
  };

  return { policy, stored, survivors, droppedByPolicy, requiredDeps, onCycle };
}
