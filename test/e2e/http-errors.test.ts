/**
 * Every bad request gets a status and a JSON reason naming the parameter, and changes no shape;
 * the secret, the bound on concurrent requests, DELETE behind its flag; an internal failure is a
 * 500 that says nothing more.
 */
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { dataDirLayout } from '../../src/storage/file-store.ts';
import { items, serve, until } from '../helpers/http-fixture.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();

describe('bad requests', () => {
  it('each gets its status and a JSON reason naming the parameter, and changes nothing', async () => {
    const s = await serve({ longPollMs: 200 });
    await s.runtime.applyTransaction({ xid: 3, changes: items({ id: 1, v: 1 }) });
    const handle = (await s.request('/v1/shape', { table: 'items', offset: '-1' })).headers.get('electric-handle')!;
    const before = await s.state();
    const cases: [Record<string, string>, number, Record<string, unknown>][] = [
      [{ table: 'items', where: 'v = = 1', offset: '-1' }, 400, { where: [expect.stringMatching(/^invalid-where: syntax error/)] }],
      [{ table: 'items', where: 'v IN (SELECT x FROM', offset: '-1' }, 400, { where: [expect.stringMatching(/invalid-where/)] }],
      [{ table: 'items', where: 'random() > 0.5', offset: '-1' }, 400, { where: [expect.stringMatching(/unsupported-where/)] }],
      [{ table: 'a.b.c', offset: '-1' }, 400, { table: [expect.stringMatching(/^invalid-table/)] }],
      [{ table: 'items', offset: '1_2_3', handle }, 400, { offset: ['has invalid format'] }],
      [{ table: 'items', offset: 'x' }, 400, { offset: ['has invalid format'] }],
      [{ table: 'items' }, 400, { offset: ["can't be blank"] }],
      [{ offset: '-1' }, 400, { table: ["can't be blank"] }],
      [{ table: 'items', offset: '0_inf' }, 400, { handle: ["can't be blank when offset != -1"] }],
      [{ table: 'items', offset: '-1', live: 'true' }, 400, { live: ["can't be true when offset == -1"] }],
      [{ table: 'items', offset: 'now', live: '' }, 400, { live: ["can't be true when offset is 'now'"] }],
      [{ table: 'items', offset: '0_inf', handle, live: 'true', live_sse: 'true' }, 400, { live_sse: [expect.stringMatching(/not supported/)] }],
      [{ table: 'items', offset: '-1', log: 'changes_only' }, 400, { log: [expect.stringMatching(/changes_only is not supported/)] }],
      [{ table: 'items', offset: '-1', replica: 'half' }, 400, { replica: ['is invalid'] }],
      [{ table: 'items', offset: '-1', columns: 'v' }, 400, { columns: ['The list of columns must include all primary key columns, missing: id'] }],
      [{ table: 'items', offset: '-1', columns: 'id,,v' }, 400, { columns: ['Invalid zero-length identifier'] }],
      [{ table: 'items', offset: '-1', where: 'v = $1' }, 400, { where: [expect.stringMatching(/parameter/)] }],
      [{ table: 'items', offset: '-1', where: 'v = $2', 'params[1]': '1' }, 400, { params: ['$2 has no value: give params[2]'] }],
      [{ table: 'items', offset: '-1', 'subset__where': 'v = 1' }, 400, { subset: ['subset snapshots are not supported by this server'] }],
      [{ table: 'items', offset: '99_0', handle }, 400, { offset: ['out of bounds for this shape'] }],
    ];
    for (const [query, status, errors] of cases) {
      const reply = await s.request('/v1/shape', query);
      expect([reply.status, reply.json], JSON.stringify(query)).toEqual([status, { message: 'Invalid request', errors }]);
      expect(reply.headers.get('cache-control')).toBe('no-store');
      expect(reply.text).not.toMatch(/\bat .*\.ts:\d+/); // never a stack trace
    }
    const other = await Promise.all([
      s.request('/v1/shape/', { table: 'items', offset: '-1' }),
      s.request('/v1/%73hape', { table: 'items', offset: '-1' }),
      s.request('/v2/shape'),
    ]);
    for (const reply of other) expect([reply.status, reply.json]).toEqual([404, { message: 'Not found' }]);
    const post = await s.request('/v1/shape', { table: 'items' }, { method: 'POST', body: '{}' });
    expect([post.status, post.json]).toEqual([400, { message: 'Invalid request', errors: { subset: [expect.stringMatching(/not supported/)] } }]);
    const put = await s.request('/v1/shape', {}, { method: 'PUT' });
    expect(put.status).toBe(405);
    const del = await s.request('/v1/shape', { handle }, { method: 'DELETE' });
    expect([del.status, del.json]).toEqual([405, { message: 'DELETE not allowed' }]);
    expect(await s.state()).toBe(before);
  });

  it('needs the secret when one is set (401), but not for OPTIONS or health', async () => {
    const s = await serve({ secret: 'hunter2' });
    for (const query of [{}, { secret: 'wrong' }, { api_secret: 'hunter' }] as Record<string, string>[]) {
      const reply = await s.request('/v1/shape', { table: 'items', offset: '-1', ...query });
      expect([reply.status, reply.json]).toEqual([401, { message: 'Unauthorized - Invalid API secret' }]);
    }
    expect(s.runtime.list()).toEqual([]);
    expect((await s.request('/v1/shape', { table: 'items', offset: '-1', api_secret: 'hunter2' })).status).toBe(200);
    expect((await s.request('/v1/shape', {}, { method: 'OPTIONS' })).status).toBe(204);
    expect((await s.request('/v1/health')).status).toBe(200);
  });

  it('refuses past its bound on concurrent requests with a 503 and retry-after', async () => {
    const s = await serve({ longPollMs: 5_000, maxConcurrent: { existing: 2 } });
    await s.runtime.applyTransaction({ xid: 1, changes: items({ id: 1 }) });
    const handle = (await s.request('/v1/shape', { table: 'items', offset: '-1' })).headers.get('electric-handle')!;
    const live = { table: 'items', offset: '0_inf', handle, live: 'true' };
    const held = [s.request('/v1/shape', live), s.request('/v1/shape', live)];
    await until(() => s.server.handler.inFlight.waiting === 2);
    const refused = await s.request('/v1/shape', live);
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ code: 'concurrent_request_limit_exceeded' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(5);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    await s.runtime.applyTransaction({ xid: 2, changes: items({ id: 2 }) });
    for (const reply of await Promise.all(held)) expect(reply.status).toBe(200);
  });

  it('answers a shape whose log is damaged with a 500 that says nothing more', async () => {
    const dataDir = await tempDir();
    const runtime = await createShapeRuntime({ dataDir });
    await runtime.applyTransaction({ xid: 1, changes: items({ id: 1 }) });
    const { handle } = await runtime.add({ table: 'public.items' });
    const s = await serve({}, runtime);
    await writeFile(dataDirLayout(dataDir).log(handle), 'not a log line\nnor this\n');
    const reply = await s.request('/v1/shape', { table: 'items', offset: '-1' });
    expect([reply.status, reply.json]).toEqual([500, { error: 'Internal server error' }]);
  });
});

describe('DELETE /v1/shape (allowDeletion)', () => {
  it('deletes by handle or definition (202), with cascade; its clients then get a 409', async () => {
    const s = await serve({ allowDeletion: true });
    await s.runtime.applyTransaction({ xid: 1, changes: [...items({ id: 1 }), { op: 'insert', table: 'public.tags', row: { id: 1, item_id: 1 } }] });
    const where = 'id IN (SELECT item_id FROM public.tags)';
    const outer = (await s.request('/v1/shape', { table: 'items', where, offset: '-1' })).headers.get('electric-handle')!;
    const plain = (await s.request('/v1/shape', { table: 'items', offset: '-1' })).headers.get('electric-handle')!;
    const inner = s.runtime.reads.shape(outer)!.dependencyHandles[0]!;
    expect((await s.request('/v1/shape', { handle: '1-1' }, { method: 'DELETE' })).json).toEqual({ message: 'No existing shape found' });
    expect((await s.request('/v1/shape', {}, { method: 'DELETE' })).json).toEqual({ message: 'Invalid request', errors: { handle: ["can't be blank when shape definition is missing"] } });
    const mismatch = await s.request('/v1/shape', { table: 'items', handle: outer }, { method: 'DELETE' });
    expect(mismatch.status).toBe(400);
    expect(s.runtime.list()).toHaveLength(3);
    const deleted = await s.request('/v1/shape', { handle: inner }, { method: 'DELETE' });
    expect([deleted.status, deleted.text]).toEqual([202, '']);
    expect(s.runtime.list().map((x) => x.handle)).toEqual([plain]);
    const refetch = await s.request('/v1/shape', { table: 'items', where, offset: '0_inf', handle: outer });
    expect(refetch.status).toBe(409);
    expect(refetch.headers.get('electric-handle')).not.toBe(outer);
    expect((await s.request('/v1/shape', { table: 'items' }, { method: 'DELETE' })).status).toBe(202);
    expect(s.runtime.reads.shape(plain)).toBeNull();
  });
});
