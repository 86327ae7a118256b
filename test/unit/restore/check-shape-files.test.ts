import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checkShapeFiles } from '../../../src/restore/check-shape-files.ts';
import { encodeDefinitionFile, FileStorage } from '../../../src/storage/file-store.ts';
import type { StoredShape } from '../../../src/storage/storage.ts';
import { useTempDirs } from '../../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const shape = (handle: string, extra: Partial<StoredShape> = {}): StoredShape => ({ handle, definition: { table: 'public.t', where: 'k = 1', replica: 'default' }, dependencyHandles: [], requested: true, ...extra });
const entry = { xid: 1, op: 'insert' as const, key: '[1]', row: { id: 1, k: 1 } };

async function store(...shapes: StoredShape[]): Promise<FileStorage> {
  const s = new FileStorage(await tempDir());
  for (const x of shapes) await s.createShape(x, [entry, { ...entry, xid: 2 }]);
  return s;
}

describe('checkShapeFiles: what restore takes on trust from the metadata log', () => {
  it('finds nothing in intact files, nor in a `requested` flag that lags (a crash inside an update)', async () => {
    const s = await store(shape('1-1'), shape('2-2'));
    expect(await checkShapeFiles(s, [shape('1-1'), shape('2-2', { requested: false })], { repair: false })).toEqual([]);
  });

  it('an unreadable definition file, or one that says something else than the log, removes the shape as corrupt-definition', async () => {
    const s = await store(shape('1-1'), shape('2-2'));
    await writeFile(s.layout.definition('1-1'), '{"format":');
    await writeFile(s.layout.definition('2-2'), encodeDefinitionFile(shape('2-2', { dependencyHandles: ['9-9'] })));
    const found = await checkShapeFiles(s, [shape('1-1'), shape('2-2')], { repair: false });
    expect(found.map((f) => [f.handle, f.removal?.reason])).toEqual([['1-1', 'corrupt-definition'], ['2-2', 'corrupt-definition']]);
    expect(found[0]!.problem).toMatchObject({ handle: '1-1', action: 'removed', reason: 'definition file is not JSON' });
    expect(found[1]!.removal!.detail).toMatch(/does not match the metadata log: dependency handles \[9-9\], the log has \[\]/);
  });

  it('a log damaged before its last line removes the shape as corrupt-log; a missing directory as no-storage', async () => {
    const s = await store(shape('1-1'), shape('2-2'));
    const log = await readFile(s.layout.log('1-1'), 'utf8');
    await writeFile(s.layout.log('1-1'), `x${log}`);
    await rm(s.layout.shapeDir('2-2'), { recursive: true });
    const found = await checkShapeFiles(s, [shape('1-1'), shape('2-2')], { repair: false });
    expect(found.map((f) => [f.handle, f.removal?.reason])).toEqual([['1-1', 'corrupt-log'], ['2-2', 'no-storage']]);
    expect(found[0]!.removal!.detail).toMatch(/log\.jsonl: line 1: /);
  });

  it('a torn last log line is kept and cut back only when asked to repair', async () => {
    const s = await store(shape('1-1'));
    const whole = await readFile(s.layout.log('1-1'));
    await appendFile(s.layout.log('1-1'), '0000');
    const [found] = await checkShapeFiles(s, [shape('1-1')], { repair: false });
    expect(found).toMatchObject({ handle: '1-1', tornLog: true, problem: { action: 'repaired' } });
    expect(found!.removal).toBeUndefined();
    expect((await readFile(s.layout.log('1-1'))).length).toBe(whole.length + 4);
    await checkShapeFiles(s, [shape('1-1')], { repair: true });
    expect((await readFile(s.layout.log('1-1'))).equals(whole)).toBe(true);
  });
});
