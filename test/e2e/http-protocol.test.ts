/**
 * Electric's shape protocol, request by request: routes, parameters, headers, offsets, body
 * format, live mode, the 409 rules and cache headers, as Electric's api.ex and its router tests
 * have them.
 */
import { describe, expect, it } from 'vitest';
import { items, serve, until } from '../helpers/http-fixture.ts';

const H = (reply: { headers: Headers }, name: string) => reply.headers.get(name);

describe('GET /v1/shape', () => {
  it('serves the snapshot ended by snapshot-end, then up-to-date, then live changes (Electric\'s worked sequence)', async () => {
    const s = await serve();
    await s.runtime.applyTransaction({ xid: 7, changes: items({ id: 1, title: 'a/b', done: false, n: 2.5, doc: { x: [1] } }, { id: 2, title: null, done: true, n: 3, doc: null }) });
    const first = await s.request('/v1/shape', { table: 'items', offset: '-1' });
    expect(first.status).toBe(200);
    const handle = H(first, 'electric-handle')!;
    expect(handle).toMatch(/^\d+-\d+$/);
    expect(H(first, 'electric-offset')).toBe('0_inf');
    expect(H(first, 'electric-up-to-date')).toBeNull();
    expect(H(first, 'cache-control')).toBe('public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746');
    expect(H(first, 'content-type')).toBe('application/json; charset=utf-8');
    expect(H(first, 'etag')).toBe(`"${handle}:-1:0_inf"`);
    expect(JSON.parse(H(first, 'electric-schema')!)).toEqual({ id: { type: 'float8', pk_index: 0 }, title: { type: 'text' }, done: { type: 'bool' }, n: { type: 'float8' }, doc: { type: 'jsonb' } });
    expect(first.json).toEqual([
      { key: '"public"."items"/"1"', value: { id: '1', title: 'a/b', done: 'f', n: '2.5', doc: '{"x":[1]}' }, headers: { operation: 'insert', relation: ['public', 'items'] } },
      { key: '"public"."items"/"2"', value: { id: '2', title: null, done: 't', n: '3', doc: null }, headers: { operation: 'insert', relation: ['public', 'items'] } },
      { headers: { control: 'snapshot-end', xmin: '7', xmax: '7', xip_list: [] } },
    ]);

    const caughtUp = await s.request('/v1/shape', { table: 'items', offset: '0_inf', handle });
    expect(caughtUp.json).toEqual([{ headers: { control: 'up-to-date', global_last_seen_lsn: '7' } }]);
    expect(H(caughtUp, 'electric-up-to-date')).toBe('');
    expect(H(caughtUp, 'electric-offset')).toBe('0_inf');
    expect(H(caughtUp, 'cache-control')).toBe('public, max-age=60, stale-while-revalidate=300');

    // Live: held until the change is durable, then the change and up-to-date.
    const live = s.request('/v1/shape', { table: 'items', offset: '0_inf', handle, live: 'true', cursor: '0' });
    await until(() => s.server.handler.inFlight.waiting === 1);
    await s.runtime.applyTransaction({ xid: 9, changes: [{ op: 'update', table: 'public.items', row: { id: 1, title: 'c' } }, ...items({ id: 3, title: 'x/y.z' })] });
    const change = await live;
    expect(change.status).toBe(200);
    expect(change.json).toEqual([
      { key: '"public"."items"/"1"', value: { id: '1', title: 'c' }, headers: { operation: 'update', relation: ['public', 'items'], lsn: '9', op_position: 0, txids: [9] } },
      { key: '"public"."items"/"3"', value: { id: '3', title: 'x/y.z' }, headers: { operation: 'insert', relation: ['public', 'items'], lsn: '9', op_position: 1, txids: [9], last: true } },
      { headers: { control: 'up-to-date', global_last_seen_lsn: '9' } },
    ]);
    expect(H(change, 'electric-offset')).toBe('9_1');
    expect(H(change, 'electric-schema')).toBeNull();
    expect(Number(H(change, 'electric-cursor'))).toBeGreaterThan(0);
    expect(H(change, 'cache-control')).toBe('public, max-age=5, stale-while-revalidate=5');

    // Nothing new: the long poll times out with up-to-date and no data; the cursor moves on.
    const cursor = H(change, 'electric-cursor')!;
    const timeout = await s.request('/v1/shape', { table: 'items', offset: '9_1', handle, live: 'true', cursor });
    expect(timeout.json).toEqual([{ headers: { control: 'up-to-date', global_last_seen_lsn: '9' } }]);
    expect(H(timeout, 'electric-has-data')).toBe('false');
    expect(H(timeout, 'electric-offset')).toBe('9_1');
    expect(Number(H(timeout, 'electric-cursor'))).toBeGreaterThan(Number(cursor));

    // offset=now: where the log ends, nothing else.
    const now = await s.request('/v1/shape', { table: 'items', offset: 'now' });
    expect(now.json).toEqual([{ headers: { control: 'up-to-date', global_last_seen_lsn: '9' } }]);
    expect(H(now, 'electric-offset')).toBe('9_1');
    expect(H(now, 'electric-handle')).toBe(handle);

    // HEAD: the same headers, no body; If-None-Match: 304.
    const head = await s.request('/v1/shape', { table: 'items', offset: '-1' }, { method: 'HEAD' });
    expect([head.status, head.text, H(head, 'electric-handle')]).toEqual([200, '', handle]);
    const cached = await s.request('/v1/shape', { table: 'items', offset: '-1' }, { headers: { 'if-none-match': `"${handle}:-1:0_inf"` } });
    expect([cached.status, cached.text]).toEqual([304, '']);
  });

  it('splits a large snapshot into 0_<k> chunks, snapshot-end only on the last; a response never splits a transaction', async () => {
    const s = await serve({ chunkBytes: 300 });
    await s.runtime.applyTransaction({ xid: 1, changes: items(...Array.from({ length: 12 }, (_, i) => ({ id: i, pad: 'x'.repeat(40) }))) });
    const seen: unknown[] = [];
    let offset = '-1';
    let handle = '';
    for (let i = 0; i < 20 && offset !== '0_inf'; i++) {
      const page = await s.request('/v1/shape', { table: 'items', offset, ...(handle ? { handle } : {}) });
      handle = H(page, 'electric-handle')!;
      const body = page.json as { headers: { control?: string } }[];
      seen.push(...body);
      const ends = body.filter((m) => m.headers.control === 'snapshot-end').length;
      offset = H(page, 'electric-offset')!;
      expect(ends).toBe(offset === '0_inf' ? 1 : 0);
      if (offset !== '0_inf') expect(offset).toMatch(/^0_\d+$/);
    }
    expect(seen.filter((m) => (m as { key?: string }).key).length).toBe(12);
    await s.runtime.applyTransaction({ xid: 2, changes: items(...Array.from({ length: 8 }, (_, i) => ({ id: 100 + i, pad: 'y'.repeat(40) }))) });
    const tx = await s.request('/v1/shape', { table: 'items', offset: '0_inf', handle });
    expect((tx.json as unknown[]).length).toBe(9); // all 8 changes of the transaction, then up-to-date
    expect(H(tx, 'electric-offset')).toBe('2_7');
  });

  it('substitutes params[n] for $n (as quoted literals) and serves a shape per distinct value', async () => {
    const s = await serve();
    await s.runtime.applyTransaction({ xid: 1, changes: items({ id: 1, owner: 'o1' }, { id: 2, owner: "o'2" }) });
    const one = await s.request('/v1/shape', { table: 'items', where: 'owner = $1', 'params[1]': "o'2", offset: '-1' });
    expect((one.json as { key?: string }[]).filter((m) => m.key).map((m) => m.key)).toEqual(['"public"."items"/"2"']);
    expect(s.runtime.list().map((x) => x.definition.where)).toEqual(["owner = 'o''2'"]);
  });
});

describe('409 must-refetch (Electric\'s handle_shape_info)', () => {
  it('names the handle that serves the requested definition: for an unknown handle, another definition\'s, and a shape not created yet', async () => {
    const s = await serve();
    await s.runtime.applyTransaction({ xid: 1, changes: items({ id: 1, v: 1 }) });
    const a = H(await s.request('/v1/shape', { table: 'items', offset: '-1' }), 'electric-handle')!;
    const unknown = await s.request('/v1/shape', { table: 'items', offset: '0_inf', handle: '1-1' });
    expect([unknown.status, unknown.text, H(unknown, 'electric-handle'), H(unknown, 'cache-control')]).toEqual([409, '[{"headers":{"control":"must-refetch"}}]', a, 'public, max-age=60, must-revalidate']);
    expect(H(unknown, 'electric-offset')).toBeNull();
    // The client's handle is another definition's (it dropped its where): the requested one's handle, created now.
    const other = await s.request('/v1/shape', { table: 'items', where: 'v = 1', offset: '0_inf', handle: a });
    expect(other.status).toBe(409);
    const b = H(other, 'electric-handle')!;
    expect(b).not.toBe(a);
    expect(s.runtime.reads.shape(b)?.definition.where).toBe('v = 1');
    // -1 ignores the handle (clients send the new one there).
    expect((await s.request('/v1/shape', { table: 'items', where: 'v = 1', offset: '-1', handle: 'whatever' })).status).toBe(200);
  });

  it('ends a live request at once with a 409 when its shape is removed (a cascade), naming the shape re-created for the definition; a removed handle is never served again', async () => {
    const s = await serve({ longPollMs: 10_000 });
    const where = 'id IN (SELECT item_id FROM public.tags WHERE tag = 1)';
    await s.runtime.applyTransaction({ xid: 1, changes: [...items({ id: 1 }), { op: 'insert', table: 'public.tags', row: { id: 5, item_id: 1, tag: 1 } }] });
    const first = await s.request('/v1/shape', { table: 'items', where, offset: '-1' });
    const handle = H(first, 'electric-handle')!;
    const started = Date.now();
    const live = s.request('/v1/shape', { table: 'items', where, offset: '0_inf', handle, live: 'true' });
    await until(() => s.server.handler.inFlight.waiting === 1);
    const dependency = s.runtime.reads.shape(handle)!.dependencyHandles[0]!;
    await s.runtime.remove(dependency);
    const refetch = await live;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(refetch.status).toBe(409);
    expect(H(refetch, 'shape-actors-removed-reason')).toBe('dependency-removed');
    const next = H(refetch, 'electric-handle')!;
    expect(next).not.toBe(handle);
    expect(s.runtime.reads.shape(next)?.definition.where).toBe(where);
    const again = await s.request('/v1/shape', { table: 'items', where, offset: '0_inf', handle });
    expect([again.status, H(again, 'electric-handle')]).toEqual([409, next]);
  });
});

describe('the other routes', () => {
  it('answers OPTIONS, CORS, health and / as Electric does', async () => {
    const s = await serve({ secret: 's3cret' });
    const options = await s.request('/v1/shape', {}, { method: 'OPTIONS', headers: { origin: 'https://app.example' } });
    expect(options.status).toBe(204);
    expect(H(options, 'access-control-allow-origin')).toBe('https://app.example');
    expect(H(options, 'access-control-allow-methods')).toBe('GET, POST, HEAD, DELETE, OPTIONS');
    expect(H(options, 'access-control-max-age')).toBe('86400');
    expect(H(options, 'access-control-expose-headers')?.split(',')).toEqual(
      expect.arrayContaining(['electric-cursor', 'electric-handle', 'electric-has-data', 'electric-offset', 'electric-schema', 'electric-up-to-date', 'retry-after']),
    );
    const health = await s.request('/v1/health');
    expect([health.status, health.json, H(health, 'cache-control'), H(health, 'access-control-allow-origin')]).toEqual([200, { status: 'active' }, 'no-cache, no-store, must-revalidate', '*']);
    expect((await s.request('/')).status).toBe(200);
    const served = await s.request('/v1/shape', { table: 'items', offset: '-1', secret: 's3cret' });
    expect([served.status, H(served, 'electric-server')]).toEqual([200, 'shape-actors/0.1.0']);
  });
});
