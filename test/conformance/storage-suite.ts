import { describe, expect, it } from 'vitest';
import { StorageError, type ShapeStorage, type StoredShape } from '../../src/storage/index.ts';

const shape = (handle: string, extra: Partial<StoredShape> = {}): StoredShape => ({
  handle,
  definition: { table: 'public.users', where: 'id = 1', replica: 'default' },
  dependencyHandles: [],
  requested: true,
  ...extra,
});

async function storageError(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('expected a StorageError');
}

/** The behaviour every storage backend must have. */
export function storageConformance(name: string, open: () => Promise<ShapeStorage>): void {
  describe(`${name} conformance`, () => {
    it('starts empty, with no backup', async () => {
      const s = await open();
      expect((await s.listShapes()).handles).toEqual([]);
      expect(await s.readBackup()).toEqual({ status: 'missing' });
    });

    it('creates, lists, reads, updates and deletes a shape', async () => {
      const s = await open();
      const a = shape('111-1', { dependencyHandles: ['222-2'], definition: { table: 'public.t', columns: ['a', 'b'], replica: 'full' } });
      await s.createShape(a);
      await s.createShape(shape('222-2'));
      expect([...(await s.listShapes()).handles].sort()).toEqual(['111-1', '222-2']);
      expect(await s.readShape('111-1')).toEqual(a);
      await s.updateShape({ ...a, requested: false });
      expect((await s.readShape('111-1')).requested).toBe(false);
      await s.deleteShape('111-1');
      expect((await s.listShapes()).handles).toEqual(['222-2']);
      expect((await storageError(s.readShape('111-1'))).code).toBe('not-found');
      await s.deleteShape('111-1'); // deleting twice is fine
    });

    it('keeps a metadata record per stored shape: created, updated (with its parsed where clause), deleted; rewritten whole', async () => {
      const s = await open();
      const parsed = { version: 1, where: { kind: 'const' as const, value: true }, dependencies: [] };
      await s.createShape(shape('111-1'), [], parsed);
      await s.createShape(shape('222-2'));
      await s.updateShape(shape('222-2', { requested: false }), parsed);
      await s.deleteShape('111-1');
      const read = await s.readMetadata((m) => m);
      expect(read.status).toBe('ok');
      if (read.status !== 'ok') return;
      expect([...read.shapes.values()]).toEqual([{ shape: shape('222-2', { requested: false }), parsed }]);
      expect(s.metadataRecords()).toBeGreaterThanOrEqual(1);
      await s.writeMetadata([{ shape: shape('333-3') }]);
      const again = await s.readMetadata((m) => m);
      expect(again.status === 'ok' && [...again.shapes.keys()]).toEqual(['333-3']);
      expect(s.metadataRecords()).toBe(1);
    });

    it('refuses to create a handle twice and keeps the first', async () => {
      const s = await open();
      await s.createShape(shape('111-1'));
      const err = await storageError(s.createShape(shape('111-1', { requested: false })));
      expect(err.code).toBe('exists');
      expect(err.handle).toBe('111-1');
      expect((await s.readShape('111-1')).requested).toBe(true);
    });

    it('names the shape in errors for unknown handles', async () => {
      const s = await open();
      const calls = [() => s.readShape('9-9'), () => s.readLog('9-9'), () => s.appendLog('9-9', [{ xid: 1, op: 'insert', key: '1', row: {} }]), () => s.updateShape(shape('9-9'))];
      for (const call of calls) {
        const err = await storageError(call());
        expect(err.code).toBe('not-found');
        expect(err.message).toContain('9-9');
      }
    });

    it('refuses handles that could escape the store', async () => {
      const s = await open();
      for (const bad of ['../x', '1-2/../../etc', '', 'a-b']) {
        expect((await storageError(s.readShape(bad))).code).toBe('not-found');
        expect((await storageError(s.appendLog(bad, []))).code).toBe('not-found');
        await expect(s.createShape(shape(bad))).rejects.toBeInstanceOf(StorageError);
      }
    });

    it('appends log entries in order and reads them back', async () => {
      const s = await open();
      await s.createShape(shape('111-1'));
      expect((await s.readLog('111-1')).entries).toEqual([]);
      await s.appendLog('111-1', [
        { xid: 1, op: 'insert', key: '"1"', row: { id: 1, name: 'tab\there' } },
        { xid: 1, op: 'insert', key: '"2"', row: { id: 2, note: 'line\nbreak' } },
      ]);
      await s.appendLog('111-1', []);
      await s.appendLog('111-1', [{ xid: 2, op: 'delete', key: '"1"', row: { id: 1 } }]);
      const log = await s.readLog('111-1');
      expect(log.damage).toBeUndefined();
      expect(log.entries.map((e) => [e.xid, e.op, e.key])).toEqual([
        [1, 'insert', '"1"'],
        [1, 'insert', '"2"'],
        [2, 'delete', '"1"'],
      ]);
      expect(log.entries[1]!.row).toEqual({ id: 2, note: 'line\nbreak' });
    });

    it('creates a shape with its initial log in one step', async () => {
      const s = await open();
      const initial = [{ xid: 4, op: 'insert' as const, key: '[1]', row: { id: 1 } }];
      await s.createShape(shape('111-1'), initial);
      expect((await s.readLog('111-1')).entries).toEqual(initial);
    });

    it('records the xids of committed batches (not of one left in doubt), through a journal reset', async () => {
      const s = await open();
      const tx = (xid: number) => ({ xid, changes: [{ op: 'insert', table: 'public.t', row: { id: xid } }] });
      (await s.appliedXids()).startAt(0);
      await s.prepareBatch({ position: 0, transactions: [tx(1), tx(2), tx(5)], handles: [] });
      await s.commitBatch(5);
      await s.prepareBatch({ position: 5, transactions: [tx(9)], handles: [] });
      const applied = await s.appliedXids();
      expect([1, 2, 3, 5, 9].map((x) => applied.judge(x, 9))).toEqual(['applied', 'applied', 'never-applied', 'applied', 'never-applied']);
      await s.commitBatch(9);
      await s.resetJournal();
      expect((await s.appliedXids()).toRecord()).toEqual({ horizon: 0, runs: [[1, 2], [5, 5], [9, 9]] });
      expect(await s.readInDoubtBatch()).toBeNull();
    });

    it('writes, reads and retires a backup', async () => {
      const s = await open();
      const shapes = [shape('111-1'), shape('222-2', { dependencyHandles: ['111-1'] })];
      await s.writeBackup({ shapes, position: '0/16B3748' });
      const read = await s.readBackup();
      expect(read.status).toBe('ok');
      if (read.status !== 'ok') return;
      expect(read.shapes).toEqual(shapes);
      expect(read.position).toBe('0/16B3748');
      expect(Number.isNaN(Date.parse(read.createdAt))).toBe(false);
      await s.writeBackup({ shapes: [], position: null });
      const second = await s.readBackup();
      expect(second.status === 'ok' && second.shapes).toEqual([]);
      await s.retireBackup('used');
      expect(await s.readBackup()).toEqual({ status: 'missing' });
      await s.retireBackup('unusable');
    });
  });
}
