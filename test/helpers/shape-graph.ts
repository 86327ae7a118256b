/**
 * Builds real data dirs from an abstract shape graph, for the property, model
 * and e2e restore tests.
 *
 * Node i of a graph is the shape on table `public.t<i>` whose where clause is
 * `k = i` AND one `c IN (SELECT c FROM public.t<j> WHERE <where of j>)` per
 * dependency j, every shape selecting column `c`. So the dependency definition
 * that shape i's subquery asks for is exactly node j's definition: the stored
 * dependency shapes really match, as they would after `runtime.add(...)`.
 *
 * Shapes are written with the real FileStorage (createShape, appendLog,
 * writeBackup); damage is written with plain fs, as a crash or an operator
 * would leave it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { definitionKey, normalizeShape, type ShapeDefinition } from '../../src/shapes/definition.ts';
import { createHandle } from '../../src/shapes/handle.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { parsedDefinitionOf } from '../../src/registry/shape-record.ts';
import { FileStorage } from '../../src/storage/file-store.ts';
import type { LogEntry, StoredShape } from '../../src/storage/storage.ts';

/** One shape of an abstract graph: its dependencies are lower-numbered nodes. */
export interface GraphNode {
  readonly deps: readonly number[];
  /** Created by a caller (true) or only as another shape's dependency (false). */
  readonly requested: boolean;
  /** How many log entries to write into the shape (so "log unchanged" can be checked). */
  readonly logEntries: number;
}

/** A second stored shape with node `of`'s definition and a later handle. */
export interface DuplicateSpec {
  readonly of: number;
  /** Dependents of `of` whose dependency handle names the duplicate instead of the original. */
  readonly usedBy: readonly number[];
}

export interface ShapeGraph {
  readonly nodes: readonly GraphNode[];
  readonly duplicates?: readonly DuplicateSpec[];
}

/** Where clause of node i (raw, in the canonical form normalizeShape prints). */
export function nodeWhere(graph: ShapeGraph, i: number): string {
  const node = graph.nodes[i]!;
  let where = `k = ${i}`;
  for (const j of node.deps) where += ` AND c IN (SELECT c FROM public.t${j} WHERE ${nodeWhere(graph, j)})`;
  return where;
}

/** Node i's definition as written (not yet normalized). */
export function nodeDefinition(graph: ShapeGraph, i: number): ShapeDefinition {
  return { table: `public.t${i}`, where: nodeWhere(graph, i), columns: ['c'], replica: 'default' };
}

/** Nesting depth of node i's where clause (0: no subquery). */
export function nodeDepth(graph: ShapeGraph, i: number): number {
  const deps = graph.nodes[i]!.deps;
  return deps.length === 0 ? 0 : 1 + Math.max(...deps.map((j) => nodeDepth(graph, j)));
}

/** A key for definition equality that does not go through src/ (the oracle's own). */
export function ownDefinitionKey(def: { readonly table?: unknown; readonly where?: unknown; readonly columns?: unknown; readonly replica?: unknown }): string {
  return JSON.stringify([def.table ?? null, def.where ?? null, def.columns ?? null, def.replica ?? null]);
}

/** Micros of the first handle; each later shape gets +1000. */
export const BASE_MICROS = 1_765_808_264_000_000n;

export interface BuiltShape {
  readonly handle: string;
  /** The graph node whose definition this shape has. */
  readonly node: number;
  /** Set for a duplicate: the original's handle. */
  readonly duplicateOf?: string;
  readonly stored: StoredShape;
  readonly log: readonly LogEntry[];
  /** Position in creation order (0-based). */
  readonly createdIndex: number;
}

export interface BuildOptions {
  /**
   * Write a backup (the registry as it then is) after this many shapes were
   * created (nodes first, then duplicates); `'end'`: after all of them (and
   * before `removedAfterBackup`). Absent: no backup.
   */
  readonly backupAfter?: number | 'end';
  /**
   * Shapes (node indexes, modulo the node count) removed, with everything that depends on them, after the
   * backup was written, as a running runtime would: their storage is deleted,
   * the backup still names them (a stale backup).
   */
  readonly removedAfterBackup?: readonly number[];
  /** Micros of the first handle (default BASE_MICROS). */
  readonly baseMicros?: bigint;
}

export interface BuiltDataDir {
  readonly dir: string;
  readonly storage: FileStorage;
  readonly graph: ShapeGraph;
  /** Every shape ever created, in creation order (including the ones removed after the backup). */
  readonly shapes: readonly BuiltShape[];
  /** Handle of each node's (original) shape. */
  readonly handleOf: readonly string[];
  /** Handles whose storage was deleted after the backup (cascade of removedAfterBackup). */
  readonly removedAfterBackup: ReadonlySet<string>;
  /** The handles the backup names (empty when none was written). */
  readonly backupHandles: ReadonlySet<string>;
  readonly wroteBackup: boolean;
}

function logFor(handle: string, node: number, count: number): LogEntry[] {
  const entries: LogEntry[] = [];
  for (let x = 1; x <= count; x++) {
    entries.push({ xid: 100 + x, op: 'insert', key: `"${node}-${x}"`, row: { id: `${node}-${x}`, c: (node * 7 + x) % 5, k: node, src: handle } });
  }
  return entries;
}

/**
 * Writes `graph` into `dir` with the real FileStorage: one shape per node (in
 * node order, so dependencies first), then the duplicates, a log per shape,
 * and optionally a backup (fresh or stale).
 */
export async function buildGraphDataDir(dir: string, graph: ShapeGraph, options: BuildOptions = {}): Promise<BuiltDataDir> {
  await loadSqlParser();
  const storage = new FileStorage(dir);
  const base = options.baseMicros ?? BASE_MICROS;
  const handleOf: string[] = [];
  const shapes: BuiltShape[] = [];
  const alive = new Map<string, BuiltShape>();
  let backupHandles = new Set<string>();
  let wroteBackup = false;

  const usedDuplicate = new Map<string, string>(); // `${dependent}:${dep}` -> duplicate handle
  const duplicates = graph.duplicates ?? [];
  // Duplicate handles are fixed up front (they are the latest), so dependents can name them.
  const total = graph.nodes.length + duplicates.length;
  const handleAt = (createdIndex: number, node: number): string => {
    const key = definitionKey(normalizeShape(nodeDefinition(graph, node)).definition);
    return createHandle(key, base + BigInt(createdIndex) * 1000n);
  };
  const duplicateHandles = duplicates.map((d, k) => handleAt(graph.nodes.length + k, d.of));
  duplicates.forEach((d, k) => {
    for (const user of d.usedBy) usedDuplicate.set(`${user}:${d.of}`, duplicateHandles[k]!);
  });

  const writeBackupNow = async (): Promise<void> => {
    const stored = [...alive.values()].map((s) => s.stored);
    await storage.writeBackup({ shapes: stored, position: null });
    backupHandles = new Set(stored.map((s) => s.handle));
    wroteBackup = true;
  };

  for (let createdIndex = 0; createdIndex < total; createdIndex++) {
    if (options.backupAfter === createdIndex) await writeBackupNow();
    const isDuplicate = createdIndex >= graph.nodes.length;
    const node = isDuplicate ? duplicates[createdIndex - graph.nodes.length]!.of : createdIndex;
    const normalized = normalizeShape(nodeDefinition(graph, node));
    const handle = isDuplicate ? duplicateHandles[createdIndex - graph.nodes.length]! : handleAt(createdIndex, node);
    const dependencyHandles = graph.nodes[node]!.deps.map((j) => usedDuplicate.get(`${node}:${j}`) ?? handleOf[j]!);
    const stored: StoredShape = { handle, definition: normalized.definition, dependencyHandles, requested: graph.nodes[node]!.requested };
    // With its parsed where clause, as the runtime writes it (so restore parses no SQL).
    await storage.createShape(stored, [], parsedDefinitionOf(normalized));
    const log = logFor(handle, node, graph.nodes[node]!.logEntries);
    if (log.length > 0) await storage.appendLog(handle, log);
    const built: BuiltShape = isDuplicate
      ? { handle, node, duplicateOf: handleOf[node]!, stored, log, createdIndex }
      : { handle, node, stored, log, createdIndex };
    if (!isDuplicate) handleOf[node] = handle;
    shapes.push(built);
    alive.set(handle, built);
  }
  if (options.backupAfter === 'end' || (typeof options.backupAfter === 'number' && options.backupAfter >= total)) await writeBackupNow();

  const removed = new Set<string>();
  if (wroteBackup) {
    for (const node of options.removedAfterBackup ?? []) {
      const start = handleOf[node % graph.nodes.length];
      if (start === undefined) continue;
      // The closure over dependents, as a runtime's remove() would take it.
      const queue = [start];
      while (queue.length > 0) {
        const h = queue.shift()!;
        if (removed.has(h)) continue;
        removed.add(h);
        for (const s of alive.values()) if (s.stored.dependencyHandles.includes(h)) queue.push(s.handle);
      }
    }
    for (const h of removed) {
      await storage.deleteShape(h);
      alive.delete(h);
    }
  }
  return { dir, storage, graph, shapes, handleOf, removedAfterBackup: removed, backupHandles, wroteBackup };
}

/** Every regular file under `dir`, relative path -> bytes (not the lock, which belongs to a live process). */
export async function snapshotDir(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && !(d === dir && e.name === 'lock')) out.set(relative(dir, p), await readFile(p));
    }
  };
  await walk(dir);
  return out;
}

/** Names of the shape directories (handle-shaped or not) under `<dir>/shapes`. */
export async function shapeDirs(dir: string): Promise<Set<string>> {
  try {
    const entries = await readdir(join(dir, 'shapes'), { withFileTypes: true });
    return new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name));
  } catch {
    return new Set();
  }
}
