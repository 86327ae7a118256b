import { appendFile, mkdir, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStorage, openFileStorage, StorageError, type StoredShape } from '../../../src/storage/index.ts';
import { useTempDirs } from '../../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const shape: StoredShape = { handle: '111-1', definition: { table: 'public.users', replica: 'default' }, dependencyHandles: [], requested: true };

async function storeWithShape() {
  const dir = await tempDir();
  const s = new FileStorage(dir);
  await s.createShape(shape);
  return s;
}

describe('openFileStorage', () => {
  it('refuses a missing dir unless asked to create it', async () => {
    const dir = join(await tempDir(), 'nope');
    await expect(openFileStorage(dir)).rejects.toMatchObject({ code: 'not-found', file: dir });
    const s = await openFileStorage(dir, { create: true });
    expect((await stat(dir)).isDirectory()).toBe(true);
    expect(s.dataDir).toBe(dir);
  });

  it('refuses a file where the data dir should be', async () => {
    const file = join(await tempDir(), 'file');
    await writeFile(file, 'x');
    await expect(openFileStorage(file, { create: true })).rejects.toThrow(/not a directory/);
  });
});

describe('FileStorage definitions', () => {
  it.each([
    ['empty', '', /empty/],
    ['not JSON', '{"format":', /not JSON/],
    ['wrong format tag', JSON.stringify({ format: 'other', shape }), /invalid/],
    ['another handle', JSON.stringify({ format: 'shape-actors/definition@1', shape: { ...shape, handle: '222-2' } }), /names handle 222-2/],
    ['bad replica', JSON.stringify({ format: 'shape-actors/definition@1', shape: { ...shape, definition: { table: 't', replica: 'x' } } }), /replica/],
  ])('reports a %s definition file as corrupt, naming shape and file', async (_label, content, reason) => {
    const s = await storeWithShape();
    await writeFile(s.layout.definition('111-1'), content);
    const err = (await s.readShape('111-1').catch((e: unknown) => e)) as StorageError;
    expect(err).toBeInstanceOf(StorageError);
    expect(err.code).toBe('corrupt');
    expect(err.handle).toBe('111-1');
    expect(err.file).toBe(s.layout.definition('111-1'));
    expect(err.reason).toMatch(reason);
  });

  it('reports a shape dir without definition file as corrupt, not missing', async () => {
    const s = await storeWithShape();
    await mkdir(s.layout.shapeDir('333-3'));
    await expect(s.readShape('333-3')).rejects.toMatchObject({ code: 'corrupt', reason: 'definition file is missing' });
  });
});

describe('FileStorage logs', () => {
  const entry = (xid: number) => ({ xid, op: 'insert' as const, key: String(xid), row: { id: xid } });

  it('cuts a torn last line back to the last whole entry when repairing', async () => {
    const s = await storeWithShape();
    await s.appendLog('111-1', [entry(1), entry(2)]);
    const file = s.layout.log('111-1');
    const whole = (await stat(file)).size;
    await appendFile(file, '0badc0de\t{"xid":3,"op":"ins');
    const dry = await s.readLog('111-1');
    expect(dry.damage?.kind).toBe('torn-tail');
    expect(dry.entries.map((e) => e.xid)).toEqual([1, 2]);
    expect(dry.repaired).toBe(false);
    expect((await stat(file)).size).toBeGreaterThan(whole);
    const fixed = await s.readLog('111-1', { repair: true });
    expect(fixed.repaired).toBe(true);
    expect((await stat(file)).size).toBe(whole);
    expect((await s.readLog('111-1')).damage).toBeUndefined();
    await s.appendLog('111-1', [entry(3)]);
    expect((await s.readLog('111-1')).entries.map((e) => e.xid)).toEqual([1, 2, 3]);
  });

  it('reports a flipped bit in the middle as a corrupt entry and never truncates it', async () => {
    const s = await storeWithShape();
    await s.appendLog('111-1', [entry(1), entry(2), entry(3)]);
    const file = s.layout.log('111-1');
    const text = await readFile(file, 'utf8');
    const flipped = text.replace('"id":2', '"id":3');
    await writeFile(file, flipped);
    const read = await s.readLog('111-1', { repair: true });
    expect(read.damage).toEqual({ kind: 'corrupt-entry', line: 2, reason: 'checksum mismatch' });
    expect(read.repaired).toBe(false);
    expect(await readFile(file, 'utf8')).toBe(flipped);
  });
});

describe('FileStorage backup', () => {
  async function withBackup() {
    const s = await storeWithShape();
    await s.writeBackup({ shapes: [shape], position: null });
    return s;
  }

  it('refuses a truncated backup', async () => {
    const s = await withBackup();
    const size = (await stat(s.layout.backup)).size;
    await truncate(s.layout.backup, size - 5);
    expect(await s.readBackup()).toMatchObject({ status: 'unusable', reason: expect.stringMatching(/truncated/) });
  });

  it('refuses a backup whose body was altered', async () => {
    const s = await withBackup();
    const text = await readFile(s.layout.backup, 'utf8');
    await writeFile(s.layout.backup, text.replace('"requested":true', '"requested":fals'));
    expect(await s.readBackup()).toMatchObject({ status: 'unusable', reason: 'checksum mismatch' });
  });

  it('refuses a backup whose header position was altered (a resumed stream trusts it)', async () => {
    const s = await storeWithShape();
    await s.writeBackup({ shapes: [shape], position: '100' });
    const text = await readFile(s.layout.backup, 'utf8');
    await writeFile(s.layout.backup, text.replace('"position":"100"', '"position":"900"'));
    expect(await s.readBackup()).toMatchObject({ status: 'unusable', reason: 'checksum mismatch' });
  });

  it('refuses a backup of another version, saying which', async () => {
    const s = await withBackup();
    const text = await readFile(s.layout.backup, 'utf8');
    await writeFile(s.layout.backup, text.replace('"version":1', '"version":7'));
    expect(await s.readBackup()).toMatchObject({ status: 'unusable', reason: 'backup version 7, this runtime reads version 1' });
  });

  it('refuses garbage', async () => {
    const s = await withBackup();
    await writeFile(s.layout.backup, 'hello\nworld\n');
    expect(await s.readBackup()).toMatchObject({ status: 'unusable', reason: 'header is not JSON' });
  });

  it('keeps every unusable backup under its own name, never overwritten', async () => {
    const s = await withBackup();
    await writeFile(s.layout.backup, 'not a backup\n');
    await s.retireBackup('unusable');
    await s.writeBackup({ shapes: [], position: null });
    await writeFile(s.layout.backup, 'another bad one\n');
    await s.retireBackup('unusable');
    const kept = (await readdir(s.layout.backupDir)).filter((n) => n.startsWith('registry.unusable-'));
    expect(kept).toHaveLength(2);
    const contents = await Promise.all(kept.map((n) => readFile(join(s.layout.backupDir, n), 'utf8')));
    expect(contents.sort()).toEqual(['another bad one\n', 'not a backup\n']);
  });

  it('keeps the retired backup aside instead of deleting it', async () => {
    const s = await withBackup();
    await s.retireBackup('used');
    expect(await s.readBackup()).toEqual({ status: 'missing' });
    expect((await readFile(s.layout.retiredBackup, 'utf8')).length).toBeGreaterThan(0);
  });
});

describe('FileStorage strays', () => {
  it('lists temp files an interrupted atomic write left beside the backup, journal and row-store index', async () => {
    const s = await storeWithShape();
    await s.writeBackup({ shapes: [shape], position: null });
    await writeFile(`${s.layout.backup}.3141592653`, 'half a backup');
    await writeFile(`${s.layout.journal}.42`, '');
    await mkdir(join(s.dataDir, 'tables'));
    await writeFile(join(s.dataDir, 'tables', 'tables.json.7'), '{');
    await writeFile(join(s.dataDir, 'tables', 'tables.json.bak'), 'not ours');
    const temps = (await s.listShapes()).strays.filter((e) => e.kind === 'temp').map((e) => e.name).sort();
    expect(temps).toEqual(['journal.jsonl.42', 'registry.jsonl.3141592653', 'tables.json.7']);
    expect((await s.readBackup()).status).toBe('ok');
  });

  it('lists unfinished creates and deletes, and unknown entries, apart from shapes', async () => {
    const s = await storeWithShape();
    await mkdir(join(s.layout.shapes, '.tmp-222-2-abcd'));
    await mkdir(join(s.layout.shapes, '.trash-333-3-abcd'));
    await writeFile(join(s.layout.shapes, 'notes.txt'), 'x');
    const listing = await s.listShapes();
    expect(listing.handles).toEqual(['111-1']);
    expect(listing.strays.map((e) => [e.name, e.kind]).sort()).toEqual([
      ['.tmp-222-2-abcd', 'temp'],
      ['.trash-333-3-abcd', 'trash'],
      ['notes.txt', 'unknown'],
    ]);
    for (const stray of listing.strays.filter((e) => e.kind !== 'unknown')) await s.removeStray(stray);
    await expect(s.removeStray(listing.strays.find((e) => e.kind === 'unknown')!)).rejects.toThrow(/did not create/);
    expect((await s.listShapes()).strays.map((e) => e.name)).toEqual(['notes.txt']);
  });
});
