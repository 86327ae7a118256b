/**
 * A backup records the digest (length, CRC-32) of the metadata log it was written beside. When
 * the log is still that one and names exactly the backup's handles, restore does not parse the
 * backup's records nor reconcile them shape by shape (they are the log's): it must then find
 * what the shape-by-shape reconciliation finds. Any other backup (the log changed since, other
 * handles, an older backup without a digest) is read whole and reconciled as before.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadFromBackup, type BackupLoad } from '../../../src/restore/load-shapes.ts';
import { decodeBackup, encodeBackup } from '../../../src/storage/backup-codec.ts';
import { encodeDefinitionFile, FileStorage } from '../../../src/storage/file-store.ts';
import { encodeLogEntries } from '../../../src/storage/log-codec.ts';
import type { BackupReadResult, ShapeStorage, StoredShape } from '../../../src/storage/storage.ts';
import { buildGraphDataDir, type ShapeGraph } from '../../helpers/shape-graph.ts';
import { useTempDirs } from '../../helpers/temp-dir.ts';

const tempDir = useTempDirs();

/** 0 <- 1 <- 2, 3 <- 4, 5, 6. */
const GRAPH: ShapeGraph = {
  nodes: [
    { deps: [], requested: false, logEntries: 1 },
    { deps: [0], requested: false, logEntries: 1 },
    { deps: [1], requested: true, logEntries: 1 },
    { deps: [], requested: false, logEntries: 1 },
    { deps: [3], requested: true, logEntries: 1 },
    { deps: [], requested: true, logEntries: 1 },
    { deps: [], requested: true, logEntries: 0 },
  ],
};

const shape = (handle: string): StoredShape => ({ handle, definition: { table: 'public.t', where: `k = ${handle.length}`, replica: 'default' }, dependencyHandles: [], requested: true });

/** The store, with the status of each backup read recorded; `digest: false` hides the log's digest (so the backup is always reconciled shape by shape). */
function watched(storage: FileStorage, options: { digest: boolean }): { storage: ShapeStorage; reads: string[] } {
  const reads: string[] = [];
  const proxy = new Proxy(storage, {
    get(target, property, receiver) {
      if (property === 'metadataDigest' && !options.digest) return () => null;
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== 'readBackup' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        const read = (await (value as (...a: unknown[]) => Promise<BackupReadResult>).apply(target, args)) as BackupReadResult;
        reads.push(read.status);
        return read;
      };
    },
  });
  return { storage: proxy, reads };
}

/** What a load decided, order aside. */
function outcome(load: BackupLoad) {
  if (!load.usable) throw new Error(load.reason);
  const r = load.result;
  const sorted = <T>(xs: readonly T[]) => [...xs].map((x) => JSON.stringify(x)).sort();
  return { mode: r.mode, position: r.position, records: sorted(r.records.map((x) => x.stored)), removed: sorted(r.removedWhileLoading), problems: sorted(r.problems), tables: r.tables, rewrite: r.rewriteMetadata };
}

async function bothWays(dir: string) {
  const fast = watched(new FileStorage(dir), { digest: true });
  const full = watched(new FileStorage(dir), { digest: false });
  const viaDigest = outcome(await loadFromBackup(fast.storage));
  const shapeByShape = outcome(await loadFromBackup(full.storage));
  return { viaDigest, shapeByShape, fastReads: fast.reads, fullReads: full.reads };
}

describe('backup codec: the metadata log it was written beside', () => {
  it('names the handles, unparsed, when asked with the digest it records; the records otherwise, and from a backup without one', () => {
    const shapes = [shape('1-1'), shape('22-2')];
    const text = encodeBackup({ createdAt: 'now', position: '7', shapes, metadata: { bytes: 100, crc32: 5 } });
    expect(decodeBackup(text, { bytes: 100, crc32: 5 })).toEqual({ ok: true, sameAsMetadata: { createdAt: 'now', position: '7', handles: ['1-1', '22-2'] } });
    expect(decodeBackup(text, { bytes: 100, crc32: 6 })).toEqual({ ok: true, contents: { createdAt: 'now', position: '7', shapes, metadata: { bytes: 100, crc32: 5 } } });
    expect(decodeBackup(text)).toMatchObject({ ok: true, contents: { shapes } });
    expect(decodeBackup(encodeBackup({ createdAt: 'now', position: null, shapes: [], metadata: { bytes: 0, crc32: 0 } }), { bytes: 0, crc32: 0 })).toMatchObject({ ok: true, sameAsMetadata: { handles: [] } });
    const old = encodeBackup({ createdAt: 'then', position: null, shapes });
    expect(old).not.toContain('"metadata"');
    expect(decodeBackup(old, { bytes: 100, crc32: 5 })).toEqual({ ok: true, contents: { createdAt: 'then', position: null, shapes } });
  });

  it('a line of another form has its handle read by parsing it, and a bad one makes the backup unusable', () => {
    const reordered = { requested: true, handle: '3-3', definition: { table: 'public.t', replica: 'default' }, dependencyHandles: [] } as unknown as StoredShape;
    const text = encodeBackup({ createdAt: 'now', position: null, shapes: [shape('1-1'), reordered], metadata: { bytes: 1, crc32: 1 } });
    expect(decodeBackup(text, { bytes: 1, crc32: 1 })).toMatchObject({ ok: true, sameAsMetadata: { handles: ['1-1', '3-3'] } });
    const bad = encodeBackup({ createdAt: 'now', position: null, shapes: [shape('1-1'), { handle: 'x' } as unknown as StoredShape], metadata: { bytes: 1, crc32: 1 } });
    expect(decodeBackup(bad, { bytes: 1, crc32: 1 })).toMatchObject({ ok: false, reason: expect.stringMatching(/^shape line 2: /) });
  });

  it('the file store records the log as it is on disk, and follows it through appends and rewrites', async () => {
    const dir = join(await tempDir(), 'd');
    await buildGraphDataDir(dir, GRAPH);
    const storage = new FileStorage(dir);
    const onDisk = async () => {
      const buffer = await readFile(storage.layout.metadata);
      return { bytes: buffer.length, crc32: crc32(buffer) };
    };
    await storage.writeBackup({ shapes: [], position: null });
    expect(JSON.parse((await readFile(storage.layout.backup, 'utf8')).split('\n')[0]!).metadata).toEqual(await onDisk());
    await storage.readMetadata((m) => m);
    await storage.createShape(shape('9-9'));
    expect(storage.metadataDigest()).toEqual(await onDisk());
    await storage.deleteShape('9-9');
    expect(storage.metadataDigest()).toEqual(await onDisk());
    await storage.writeMetadata([]);
    expect(storage.metadataDigest()).toEqual(await onDisk());
  });
});

describe('restore from a backup written beside the metadata log', () => {
  it('finds what the shape-by-shape reconciliation finds: a shape named but not stored, a shape stored but not named', async () => {
    const dir = join(await tempDir(), 'd');
    const built = await buildGraphDataDir(dir, GRAPH, { backupAfter: 'end' });
    // Lost storage (the backup and the log still name it), and a shape a crash left unnamed (directory renamed into place, its record never appended).
    await rm(join(dir, 'shapes', built.handleOf[6]!), { recursive: true });
    const unnamed: StoredShape = { handle: '123-1765808264999999', definition: { table: 'public.extra', replica: 'default' }, dependencyHandles: [], requested: true };
    await mkdir(join(dir, 'shapes', unnamed.handle));
    await writeFile(join(dir, 'shapes', unnamed.handle, 'definition.json'), encodeDefinitionFile(unnamed));
    await writeFile(join(dir, 'shapes', unnamed.handle, 'log.jsonl'), encodeLogEntries([], { snapshot: true }));

    const { viaDigest, shapeByShape, fastReads, fullReads } = await bothWays(dir);
    expect(fastReads).toEqual(['same-as-metadata']);
    expect(fullReads).toEqual(['ok']);
    expect(viaDigest).toEqual(shapeByShape);
    expect(viaDigest.removed).toEqual([JSON.stringify({ handle: built.handleOf[6], reason: 'no-storage', cause: null, detail: `named by ${join(dir, 'backup', 'registry.jsonl')}, not stored` })]);
    expect(viaDigest.problems.some((p) => p.includes(unnamed.handle) && p.includes('stored but not in the backup'))).toBe(true);
    expect(viaDigest.records).toHaveLength(7);
  });

  it('a metadata log changed after the backup: the backup is read whole and reconciled shape by shape (storage wins)', async () => {
    const dir = join(await tempDir(), 'd');
    const built = await buildGraphDataDir(dir, GRAPH, { backupAfter: 'end' });
    const storage = new FileStorage(dir);
    const five = await storage.readShape(built.handleOf[5]!);
    await storage.updateShape({ ...five, requested: false });
    const { viaDigest, shapeByShape, fastReads } = await bothWays(dir);
    expect(fastReads).toEqual(['ok']);
    expect(viaDigest).toEqual(shapeByShape);
    expect(viaDigest.problems.some((p) => p.includes(built.handleOf[5]!) && p.includes('backup entry differs from the stored definition: storage wins'))).toBe(true);
    expect(viaDigest.records.some((r) => r.includes(built.handleOf[5]!) && r.includes('"requested":false'))).toBe(true);
  });

  it('a backup with the log digest but other handles is read whole, and one without a digest (an older backup) too', async () => {
    const dir = join(await tempDir(), 'd');
    const built = await buildGraphDataDir(dir, GRAPH, { backupAfter: 'end' });
    const storage = new FileStorage(dir);
    await storage.readMetadata((m) => m);
    const digest = storage.metadataDigest()!;
    const all = (await Promise.all(built.handleOf.map((h) => storage.readShape(h)))) as StoredShape[];
    await writeFile(storage.layout.backup, encodeBackup({ createdAt: 'now', position: null, shapes: all.slice(0, 6), metadata: digest }));
    const lying = await bothWays(dir);
    expect(lying.fastReads).toEqual(['same-as-metadata', 'ok']);
    expect(lying.viaDigest).toEqual(lying.shapeByShape);
    expect(lying.viaDigest.problems.some((p) => p.includes(built.handleOf[6]!) && p.includes('stored but not in the backup'))).toBe(true);

    await writeFile(storage.layout.backup, encodeBackup({ createdAt: 'now', position: null, shapes: all }));
    const old = await bothWays(dir);
    expect(old.fastReads).toEqual(['ok']);
    expect(old.viaDigest).toEqual(old.shapeByShape);
    expect(old.viaDigest.problems).toEqual([]);
  });
});
