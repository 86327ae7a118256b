/**
 * Issue 13, item 1: restore reads the metadata log and one listing, and nothing per shape
 * (only shapes that share a definition have their files read, before the fixed rule deletes
 * one: none here). An old data dir (definition files, no metadata log) is migrated on its first
 * restore: every definition is read once and the log written; from then on restore reads no
 * definition file.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRuntimeActor } from '../../../src/runtime/index.ts';
import { readStorageIndex } from '../../../src/restore/storage-index.ts';
import { FileStorage } from '../../../src/storage/file-store.ts';
import { encodeMetadataHeader, encodeMetadataLog, encodeMetadataPut } from '../../../src/storage/metadata-codec.ts';
import type { ShapeStorage } from '../../../src/storage/storage.ts';
import { WHERE_AST_VERSION } from '../../../src/shapes/where/ast.ts';
import { buildGraphDataDir, type ShapeGraph } from '../../helpers/shape-graph.ts';
import { useTempDirs } from '../../helpers/temp-dir.ts';

const tempDir = useTempDirs();

/** 0 <- 1 <- 2, 3 <- 4, 5, 6: two dependency shapes (0, 1 and 3 are depended on). */
const GRAPH: ShapeGraph = {
  nodes: [
    { deps: [], requested: false, logEntries: 2 },
    { deps: [0], requested: false, logEntries: 1 },
    { deps: [1], requested: true, logEntries: 1 },
    { deps: [], requested: false, logEntries: 1 },
    { deps: [3], requested: true, logEntries: 1 },
    { deps: [], requested: true, logEntries: 3 },
    { deps: [], requested: true, logEntries: 0 },
  ],
};

/** Counts each storage method's calls (a Proxy over the real store). */
function counting(storage: ShapeStorage): { storage: ShapeStorage; calls: Map<string, string[]> } {
  const calls = new Map<string, string[]>();
  const proxy = new Proxy(storage, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const list = calls.get(String(property)) ?? [];
        list.push(typeof args[0] === 'string' ? args[0] : '');
        calls.set(String(property), list);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { storage: proxy, calls };
}

/** Restores with a counting store; returns the calls made up to RESTORE.COMPLETED, then stops. */
async function restoreCalls(dir: string): Promise<{ calls: Map<string, string[]>; loaded: number; problems: string[] }> {
  const { storage, calls } = counting(new FileStorage(dir));
  const { actor, done } = startRuntimeActor(storage, {});
  const seen = await new Promise<{ calls: Map<string, string[]>; loaded: number; problems: string[] }>((resolve) =>
    actor.on('RESTORE.COMPLETED', (e) => resolve({ calls: new Map([...calls].map(([k, v]) => [k, [...v]])), loaded: e.report.loaded.length, problems: e.report.problems.map((p) => p.reason) })),
  );
  actor.send({ type: 'SHUTDOWN.REQUESTED', requestId: 'stop' });
  await done;
  return seen;
}

describe('restore reads metadata, not data', () => {
  it('by scan and from the backup: one listing, one metadata log, no definition file, no log', async () => {
    const dir = join(await tempDir(), 'd');
    await buildGraphDataDir(dir, GRAPH, { backupAfter: 'end' });
    for (const mode of ['backup', 'scan']) {
      if (mode === 'scan') await rm(join(dir, 'backup'), { recursive: true, force: true });
      const { calls, loaded } = await restoreCalls(dir);
      expect(loaded).toBe(7);
      expect(calls.get('listShapes')).toHaveLength(1);
      expect(calls.get('readMetadata')).toHaveLength(1);
      expect(calls.get('readShape'), `${mode}: definitions read`).toBeUndefined();
      expect(calls.get('readLog'), `${mode}: logs read`).toBeUndefined();
      expect(calls.get('writeMetadata'), `${mode}: the log was an exact index, nothing to rewrite`).toBeUndefined();
    }
  });

  it('an old data dir (definition files, no metadata log) is migrated on its first restore, crash-safely: then read from the log', async () => {
    const dir = join(await tempDir(), 'old');
    const built = await buildGraphDataDir(dir, GRAPH);
    await rm(join(dir, 'metadata.jsonl'));
    const first = await restoreCalls(dir);
    expect(first.loaded).toBe(7);
    expect(new Set(first.calls.get('readShape'))).toEqual(new Set(built.handleOf));
    expect(first.calls.get('writeMetadata')).toHaveLength(1);
    expect(first.problems.some((p) => /no metadata log/.test(p))).toBe(true);
    const index = await readStorageIndex(new FileStorage(dir));
    expect(index.readFromFiles).toEqual([]);
    expect(index.rewriteMetadata).toBe(false);
    expect(index.records.map((r) => r.stored.handle).sort()).toEqual([...built.handleOf].sort());
    const second = await restoreCalls(dir);
    expect(second.loaded).toBe(7);
    expect(second.calls.get('writeMetadata')).toBeUndefined();
    expect(second.calls.get('readShape')).toBeUndefined();
  });

  it('a metadata log of version 1 (objects per record) is read as it is, appended to in its version, and rewritten in version 2 by the restore that commits', async () => {
    const dir = join(await tempDir(), 'v1');
    const built = await buildGraphDataDir(dir, GRAPH);
    const storage = new FileStorage(dir);
    const v2 = await storage.readMetadata((m) => m);
    if (v2.status !== 'ok') throw new Error(v2.status);
    const records = [...v2.shapes.values()];
    const v1 = encodeMetadataHeader(1) + records.map((m) => encodeMetadataPut(m, 1)).join('');
    await writeFile(storage.layout.metadata, v1);
    // A process that appends before any restore (it never read the log) appends in the log's version.
    const [, , , , , h5] = built.handleOf as string[];
    const updated = { ...records[5]!.shape, requested: false };
    expect(updated.handle).toBe(h5);
    await new FileStorage(dir).updateShape(updated, records[5]!.parsed);
    const appended = await readFile(storage.layout.metadata, 'utf8');
    expect(appended.startsWith(v1)).toBe(true);
    expect(appended.slice(v1.length)).toMatch(/^[0-9a-f]{8}\t\{"op":"put","shape":\{/);
    const index = await readStorageIndex(new FileStorage(dir));
    expect(index.readFromFiles).toEqual([]);
    expect(index.rewriteMetadata).toBe(true);
    expect(index.records.find((r) => r.stored.handle === h5)!.stored.requested).toBe(false);

    const first = await restoreCalls(dir);
    expect(first.loaded).toBe(7);
    expect(first.calls.get('readShape')).toBeUndefined();
    expect(first.calls.get('writeMetadata')).toHaveLength(1);
    const rewritten = await readFile(storage.layout.metadata, 'utf8');
    expect(rewritten.split('\n')[0]).toMatch(/"version":2\}$/);
    expect(rewritten.split('\n')[1]).toMatch(/^[0-9a-f]{8}\t\["put",/);
    const again = await new FileStorage(dir).readMetadata((m) => m);
    expect(again.status === 'ok' && [...again.shapes.values()].sort((a, b) => a.shape.handle.localeCompare(b.shape.handle))).toEqual(
      records.map((m) => (m.shape.handle === h5 ? { ...m, shape: updated } : m)).sort((a, b) => a.shape.handle.localeCompare(b.shape.handle)),
    );
    expect(again.status === 'ok' && again.outdated).toBeUndefined();
    const second = await restoreCalls(dir);
    expect(second.calls.get('writeMetadata')).toBeUndefined();
  });
});

describe('readStorageIndex', () => {
  it('reads what the log lacks from the definition file, drops records without a directory, parses again a record of another parser version', async () => {
    const dir = join(await tempDir(), 'd');
    const built = await buildGraphDataDir(dir, GRAPH);
    const storage = new FileStorage(dir);
    const read = await storage.readMetadata((m) => m);
    if (read.status !== 'ok') throw new Error(read.status);
    const [h0, , , , , h5, h6] = built.handleOf as [string, string, string, string, string, string, string];
    const records = [...read.shapes.values()].filter((m) => m.shape.handle !== h6);
    const stale = records.map((m) => (m.shape.handle === h5 ? { ...m, parsed: { ...m.parsed!, version: WHERE_AST_VERSION + 1, where: { kind: 'const' as const, value: true } } } : m));
    const ghost = { shape: { ...records[0]!.shape, handle: '1-1' } };
    await writeFile(storage.layout.metadata, encodeMetadataLog([...stale, ghost]));
    const index = await readStorageIndex(storage);
    expect(index.readFromFiles).toEqual([h6]);
    expect(index.rewriteMetadata).toBe(true);
    expect(index.records.map((r) => r.stored.handle).sort()).toEqual([...built.handleOf].sort());
    const fresh = index.records.find((r) => r.stored.handle === h5)!;
    expect(fresh.shape.where).toEqual({ kind: 'compare', op: '=', left: { kind: 'column', name: 'k' }, right: { kind: 'const', value: 5 } });
    expect(index.records.find((r) => r.stored.handle === h0)!.shape.where).toEqual(read.shapes.get(h0)!.parsed!.where);
  });
});
