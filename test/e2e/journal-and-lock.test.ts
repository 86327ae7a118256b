import { hostname } from 'node:os';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { FileStorage, StorageError } from '../../src/storage/index.ts';
import { openFileStorage } from '../../src/storage/file-store.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const MEMBERS = 'id IN (SELECT user_id FROM public.memberships WHERE org_id = 1)';
const tx1 = { xid: 1, changes: [{ op: 'insert', table: 'public.memberships', row: { id: 1, user_id: 5, org_id: 1 } }, { op: 'insert', table: 'public.users', row: { id: 5 } }] };
const tx2 = { xid: 2, changes: [{ op: 'insert', table: 'public.memberships', row: { id: 2, user_id: 6, org_id: 1 } }, { op: 'insert', table: 'public.users', row: { id: 6 } }] };

async function logOf(dir: string, handle: string) {
  return (await new FileStorage(dir).readLog(handle)).entries;
}

describe('journal', () => {
  it('undoes a batch a crash interrupted and applies it again, exactly once', async () => {
    // Reference: both transactions applied normally.
    const refDir = await tempDir();
    const ref = await createShapeRuntime({ dataDir: refDir });
    const refOuter = await ref.add({ table: 'public.users', where: MEMBERS });
    await ref.applyTransaction(tx1);
    await ref.applyTransaction(tx2);
    await ref.shutdown();

    const dir = await tempDir();
    const runtime = await createShapeRuntime({ dataDir: dir });
    const outer = await runtime.add({ table: 'public.users', where: MEMBERS });
    const inner = outer.dependencyHandles[0]!;
    await runtime.applyTransaction(tx1);
    await runtime.shutdown();
    // The crash: tx2 prepared, the inner shape's entry written, the outer's and the row store's not.
    const store = new FileStorage(dir);
    await store.prepareBatch({ position: 1, transactions: [tx2], handles: [inner, outer.handle] });
    await store.appendLog(inner, [{ xid: 2, op: 'insert', key: '[2]', row: { id: 2, user_id: 6 } }]);

    const restarted = await createShapeRuntime({ dataDir: dir });
    expect(restarted.report.problems.map((p) => p.reason)).toContain('1 transaction(s) interrupted mid-write: undone, applied again');
    // the redo is applied before createShapeRuntime resolves
    expect(restarted.position()).toBe(2);
    expect((await logOf(dir, outer.handle)).map((e) => [e.xid, e.op, e.key])).toEqual((await logOf(refDir, refOuter.handle)).map((e) => [e.xid, e.op, e.key]));
    expect((await logOf(dir, inner)).map((e) => [e.xid, e.key])).toEqual([
      [1, '[1]'],
      [2, '[2]'],
    ]);
    // tx2 is now applied: sending it again is recognised.
    expect(await restarted.applyTransaction(tx2)).toEqual({ xid: 2, status: 'skipped' });
    await restarted.shutdown();
    expect(await store.readInDoubtBatch()).toBeNull();
  });
});

describe('data dir lock', () => {
  it('refuses a second opener while the first holds the dir, naming the owner', async () => {
    const dir = await tempDir();
    const runtime = await createShapeRuntime({ dataDir: dir });
    const error = await createShapeRuntime({ dataDir: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('locked');
    expect((error as StorageError).message).toContain(`process ${process.pid}`);
    await runtime.shutdown();
    const again = await createShapeRuntime({ dataDir: dir });
    await again.shutdown();
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const dir = await tempDir();
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max default range
    await writeFile(join(dir, 'lock'), `${JSON.stringify({ pid: deadPid, hostname: hostname(), acquiredAt: '2026-01-01T00:00:00Z' })}\n`);
    const storage = await openFileStorage(dir);
    expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8')).pid).toBe(process.pid);
    await storage.close();
  });

  it('takes over a torn (unreadable) lock file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'lock'), '{"pid": 12');
    const storage = await openFileStorage(dir);
    await storage.close();
    await expect(readFile(join(dir, 'lock'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
