/**
 * The real `@electric-sql/client` (ShapeStream + Shape) against the HTTP layer mounted over an
 * embedded runtime, in process: its rows equal the evaluator's answer over the tables after
 * random workloads (move-ins and move-outs through nested subqueries), also through the handler
 * mounted in a host's own node:http server under a prefix; across a clean restart
 * it keeps its handle and sees no 409; after a dependency's storage is lost, exactly the
 * clients of the removed closure get one 409 and converge under a new handle.
 */
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { createShapeHandler } from '../../src/index.ts';
import { startShapeServer, type ShapeServer } from '../../src/http/shape-server.ts';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { normalizeShape } from '../../src/shapes/definition.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { dataDirLayout } from '../../src/storage/file-store.ts';
import { MemoryStorage } from '../../src/storage/index.ts';
import { applyToTables, expectedRows, type Change, type Tables } from '../helpers/data-path-oracle.ts';
import { caughtUp, expectRows, follow, type FollowedShape, type FollowParams } from '../helpers/electric-client.ts';
import { TransactionSource } from '../helpers/running-fixture.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();

const SHAPES: Record<string, FollowParams> = {
  // nested: users of memberships of tier-1 orgs
  nested: { table: 'public.users', where: 'id IN (SELECT user_id FROM public.memberships WHERE org_id IN (SELECT id FROM public.orgs WHERE tier = 1))' },
  active: { table: 'public.users', where: 'status = 1 AND id IN (SELECT user_id FROM public.memberships WHERE org_id = 2)' },
  outsiders: { table: 'public.users', where: 'id NOT IN (SELECT user_id FROM public.memberships WHERE org_id = 3)' },
  memberships: { table: 'public.memberships', where: 'org_id IN (SELECT id FROM public.orgs WHERE tier = 0)' },
  orgs: { table: 'public.orgs' },
};

/** A runtime on a data dir with the HTTP layer in front of it, and the oracle's tables. */
class Service {
  runtime!: ShapeRuntime;
  server!: ShapeServer;
  readonly tables: Tables = new Map();
  xid = 0;
  constructor(readonly dataDir: string) {}

  async start(port = 0): Promise<void> {
    this.runtime = await createShapeRuntime({ dataDir: this.dataDir });
    this.server = await startShapeServer({ runtime: this.runtime, port, longPollMs: 300 });
  }

  async stop(): Promise<void> {
    await this.server.close();
    await this.runtime.shutdown();
  }

  async apply(changes: readonly Change[]): Promise<void> {
    await this.runtime.applyTransaction({ xid: ++this.xid, changes });
    applyToTables(this.tables, changes);
  }

  expected(params: FollowParams) {
    return expectedRows(this.tables, normalizeShape({ table: params.table, ...(params.where ? { where: params.where } : {}), ...(params.columns ? { columns: params.columns } : {}) }));
  }
}

const clients: FollowedShape[] = [];
const services: Service[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.stop();
  for (const service of services.splice(0)) await service.stop().catch(() => undefined);
});

async function started(): Promise<Service> {
  await loadSqlParser();
  const service = new Service(await tempDir());
  await service.start();
  services.push(service);
  return service;
}

function followAll(service: Service, names: readonly string[]): FollowedShape[] {
  const followed = names.map((name) => follow(service.server.url, name, SHAPES[name]!));
  clients.push(...followed);
  return followed;
}

async function checkAll(service: Service, followed: readonly FollowedShape[], context: string): Promise<void> {
  for (const client of followed) {
    await caughtUp(client, () => service.runtime.reads);
    await expectRows(client, service.expected(SHAPES[client.name]!), ` ${context}`);
  }
}

describe('@electric-sql/client against the embedded runtime', () => {
  it('holds exactly the rows the where clause selects through random inserts, updates, deletes, move-ins and move-outs (nested subqueries too)', async () => {
    const service = await started();
    const source = new TransactionSource(4242);
    for (let i = 0; i < 10; i++) await service.apply(source.next());
    const followed = followAll(service, Object.keys(SHAPES));
    await checkAll(service, followed, 'after the initial sync');
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 6; i++) await service.apply(source.next());
      await checkAll(service, followed, `after round ${round}`);
    }
    for (const client of followed) {
      expect(client.refetches(), client.name).toBe(0);
      expect(client.handles(), client.name).toHaveLength(1);
    }
  });

  it('gives the client the declared column types of the embedded store: it parses int8 as bigint, text[] as an array, numeric and timestamptz as text', async () => {
    await loadSqlParser();
    const runtime = await createShapeRuntime({ storage: new MemoryStorage(), columnTypes: { 'public.items': { id: 'int8', price: 'numeric(10,2)', tags: 'text[]', seen: 'timestamptz', ok: 'bool' } } });
    const server = await startShapeServer({ runtime, port: 0, longPollMs: 300 });
    onTestFinished(async () => {
      await server.close();
      await runtime.shutdown();
    });
    await runtime.applyTransaction({ xid: 1, changes: [{ op: 'insert', table: 'public.items', row: { id: 1, price: '9.50', tags: ['a b', null], seen: '2026-12-02 03:00:00+00', ok: true } }] });
    const client = follow(server.url, 'items', { table: 'public.items' });
    clients.push(client);
    await caughtUp(client, () => runtime.reads);
    for (let i = 0; i < 200 && client.shape.currentRows.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(client.shape.currentRows).toEqual([{ id: 1n, price: '9.50', tags: ['a b', null], seen: '2026-12-02 03:00:00+00', ok: true }]);
  });

  it("follows a shape through the handler mounted in the host's own node:http server, under a prefix as Express's app.use mounts it, beside the host's routes", async () => {
    const service = await started();
    const source = new TransactionSource(99);
    for (let i = 0; i < 6; i++) await service.apply(source.next());
    const handler = createShapeHandler({ runtime: service.runtime, longPollMs: 300 });
    const host = createServer((req, res) => {
      if (req.url?.startsWith('/electric/')) {
        req.url = req.url.slice('/electric'.length); // what app.use('/electric', handler) hands the handler
        return handler(req, res);
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('the host app');
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    onTestFinished(async () => {
      await handler.close();
      await new Promise((resolve) => host.close(resolve));
    });
    const base = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
    const client = follow(`${base}/electric`, 'nested', SHAPES.nested!);
    clients.push(client);
    await checkAll(service, [client], 'through the mount');
    for (let i = 0; i < 6; i++) await service.apply(source.next());
    await checkAll(service, [client], 'live, through the mount');
    expect(await (await fetch(`${base}/api/anything`)).text()).toBe('the host app');
    expect(client.refetches()).toBe(0);
    host.closeAllConnections();
  });

  it('goes on after a clean restart from its offset: same handle, no 409, nothing refetched', async () => {
    const service = await started();
    const source = new TransactionSource(7);
    for (let i = 0; i < 8; i++) await service.apply(source.next());
    const followed = followAll(service, ['nested', 'active', 'orgs']);
    await checkAll(service, followed, 'before the restart');
    const handles = followed.map((c) => c.stream.shapeHandle);
    const port = service.server.port;
    await service.stop();
    await service.start(port);
    for (let i = 0; i < 8; i++) await service.apply(source.next());
    await checkAll(service, followed, 'after the restart');
    expect(followed.map((c) => c.stream.shapeHandle)).toEqual(handles);
    for (const client of followed) {
      expect(client.refetches(), client.name).toBe(0);
      expect(client.handles(), client.name).toHaveLength(1);
    }
  });

  it('after a dependency shape loses its storage, exactly the clients of the removed closure get one 409 and converge under a new handle', async () => {
    const service = await started();
    await service.apply([
      { op: 'insert', table: 'public.orgs', row: { id: 1, name: 'acme' } },
      { op: 'insert', table: 'public.orgs', row: { id: 2, name: 'other' } },
      { op: 'insert', table: 'public.memberships', row: { id: 10, user_id: 1, org_id: 1 } },
      { op: 'insert', table: 'public.memberships', row: { id: 11, user_id: 2, org_id: 2 } },
      { op: 'insert', table: 'public.users', row: { id: 1, name: 'ann' } },
      { op: 'insert', table: 'public.users', row: { id: 2, name: 'bob' } },
    ]);
    SHAPES.acmeUsers = { table: 'public.users', where: "id IN (SELECT user_id FROM public.memberships WHERE org_id IN (SELECT id FROM public.orgs WHERE name = 'acme'))" };
    SHAPES.acmeOrgs = { table: 'public.orgs', where: "name = 'acme'", columns: ['id'] }; // the same definition as the innermost dependency: one shape
    SHAPES.otherMembers = { table: 'public.memberships', where: 'org_id = 2' };
    const followed = followAll(service, ['acmeUsers', 'acmeOrgs', 'otherMembers']);
    await checkAll(service, followed, 'before the loss');
    const [acmeUsers, acmeOrgs, otherMembers] = followed as [FollowedShape, FollowedShape, FollowedShape];
    const lost = acmeOrgs.stream.shapeHandle!;
    expect(service.runtime.list().find((s) => s.handle === lost)?.requested).toBe(true);
    const before = { users: acmeUsers.stream.shapeHandle, other: otherMembers.stream.shapeHandle };

    const port = service.server.port;
    await service.stop();
    await rm(dataDirLayout(service.dataDir).shapeDir(lost), { recursive: true }); // the incident: the backup still names it
    await service.start(port);
    expect(service.runtime.report.removed.map((r) => [r.handle, r.reason])).toEqual(expect.arrayContaining([[lost, 'no-storage'], [before.users, 'dependency-removed']]));
    await service.apply([
      { op: 'insert', table: 'public.memberships', row: { id: 12, user_id: 2, org_id: 1 } },
      { op: 'insert', table: 'public.memberships', row: { id: 13, user_id: 1, org_id: 2 } },
    ]);
    await checkAll(service, followed, 'after the restart');
    expect(acmeUsers.refetches()).toBe(1);
    expect(acmeOrgs.refetches()).toBe(1);
    expect(otherMembers.refetches()).toBe(0);
    expect(acmeUsers.stream.shapeHandle).not.toBe(before.users);
    expect(acmeOrgs.stream.shapeHandle).not.toBe(lost);
    expect(otherMembers.stream.shapeHandle).toBe(before.other);
    expect(acmeUsers.handles()).toHaveLength(2);
    expect(acmeUsers.rows().size).toBe(2);
  });
});
