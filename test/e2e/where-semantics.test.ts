/**
 * Regression tests of issue 18's classes, through the public API: a shape
 * holds exactly what Postgres selects (the expected rows were checked with
 * psql on a C-locale database).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';

beforeAll(loadSqlParser);

type Row = Record<string, unknown>;

/** The rows a shape's log holds now (replayed), by key. */
async function rowsOf(runtime: ShapeRuntime, handle: string): Promise<string[]> {
  const rows = new Map<string, Row>();
  for (const e of await runtime.readLog(handle)) {
    if (e.op === 'delete') rows.delete(e.key);
    else rows.set(e.key, { ...(e.op === 'update' ? rows.get(e.key) : {}), ...e.row });
  }
  return [...rows.keys()].sort();
}

let xid = 0;
async function tx(runtime: ShapeRuntime, ...changes: [op: 'insert' | 'update' | 'delete', table: string, row: Row][]): Promise<void> {
  await runtime.applyTransaction({ xid: ++xid, changes: changes.map(([op, table, row]) => ({ op, table: `public.${table}`, row })) });
}

describe('class 1: a row changed several times in one transaction while its links move', () => {
  it.each([
    ['IN', 'a IN (SELECT ox FROM public.other)'],
    ['a subquery on its own table', 'a IN (SELECT b FROM public.items WHERE t IS NULL)'],
  ])('%s: insert then update gives one insert', async (_, where) => {
    const runtime = await createShapeRuntime({ storage: new MemoryStorage() });
    const shape = await runtime.add({ table: 'public.items', where });
    await tx(runtime, ['insert', 'other', { id: 1, ox: 7 }], ['insert', 'items', { id: 9, b: 7 }], ['insert', 'items', { id: 2, a: 7 }], ['update', 'items', { id: 2, a: 7, t: 'x' }]);
    const log = await runtime.readLog(shape.handle);
    expect(log.filter((e) => e.key === '[2]').map((e) => e.op)).toEqual(['insert']);
    expect(await rowsOf(runtime, shape.handle)).toContain('[2]');
    await runtime.shutdown();
  });

  it('insert then delete in one transaction leaves nothing', async () => {
    const runtime = await createShapeRuntime({ storage: new MemoryStorage() });
    const shape = await runtime.add({ table: 'public.items', where: 'a IN (SELECT ox FROM public.other)' });
    await tx(runtime, ['insert', 'other', { id: 1, ox: 7 }], ['insert', 'items', { id: 2, a: 7 }], ['delete', 'items', { id: 2 }]);
    expect(await rowsOf(runtime, shape.handle)).toEqual([]);
    expect(await runtime.readLog(shape.handle)).toEqual([]);
    await runtime.shutdown();
  });

  it('NOT IN: a row updated twice while its value moves into the subquery leaves once', async () => {
    const runtime = await createShapeRuntime({ storage: new MemoryStorage() });
    const shape = await runtime.add({ table: 'public.items', where: 'a NOT IN (SELECT ox FROM public.other)' });
    await tx(runtime, ['insert', 'items', { id: 2, a: 5 }]);
    await tx(runtime, ['update', 'items', { id: 2, a: 7 }], ['insert', 'other', { id: 1, ox: 7 }], ['update', 'items', { id: 2, a: 7, t: 'x' }]);
    expect((await runtime.readLog(shape.handle)).map((e) => e.op)).toEqual(['insert', 'delete']);
    expect(await rowsOf(runtime, shape.handle)).toEqual([]);
    await runtime.shutdown();
  });

  it('a dependency row changed twice feeds its materializer once', async () => {
    const runtime = await createShapeRuntime({ storage: new MemoryStorage() });
    const shape = await runtime.add({ table: 'public.items', where: 'a IN (SELECT ox FROM public.other WHERE oy = 1)' });
    await tx(runtime, ['insert', 'items', { id: 2, a: 7 }]);
    await tx(runtime, ['insert', 'other', { id: 1, ox: 7, oy: 1 }], ['update', 'other', { id: 1, ox: 7, oy: 1, z: 1 }]);
    expect(await rowsOf(runtime, shape.handle)).toEqual(['[2]']);
    await tx(runtime, ['update', 'other', { id: 1, ox: 7, oy: 2 }], ['update', 'other', { id: 1, ox: 8, oy: 1 }], ['delete', 'other', { id: 1 }]);
    expect(await rowsOf(runtime, shape.handle)).toEqual([]);
    expect(await runtime.linkValues(shape.dependencyHandles[0]!)).toEqual([]);
    await runtime.shutdown();
  });
});
