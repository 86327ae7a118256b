/**
 * `shape-actors serve --http-port` (a child process) beside a real Postgres, followed by the
 * real `@electric-sql/client`: after random inserts, updates, deletes, move-ins and move-outs
 * (nested subqueries too), each client's rows equal `SELECT ... WHERE <where>`; after a clean
 * restart and after SIGKILL, every client keeps its handle and sees no 409; after a dependency's
 * storage is lost, exactly the clients of the removed closure get one 409 and converge under a
 * new handle. Requests naming a table or column the catalog does not have get a 400.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isChangeMessage, ShapeStream, type ChangeMessage, type Row } from '@electric-sql/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataDirLayout } from '../../src/storage/file-store.ts';
import { canonicalRows, follow, type FollowedShape, type FollowParams } from '../helpers/electric-client.ts';
import { rng } from '../helpers/crash-workload.ts';
import { acquireServer, announceSkip, connect, createTestDatabase, REPO_ROOT, waitFor } from './postgres-harness.ts';
import { CLI_ARGS } from '../helpers/built-cli.ts';

const acquired = await acquireServer();
announceSkip('postgres-http', acquired.skip);

const SHAPES: Record<string, FollowParams> = {
  nested: { table: 'users', where: 'id IN (SELECT user_id FROM memberships WHERE org_id IN (SELECT id FROM orgs WHERE tier = 1))' },
  active: { table: 'users', where: 'active AND id IN (SELECT user_id FROM memberships WHERE org_id = 2)' },
  outsiders: { table: 'users', where: 'id NOT IN (SELECT user_id FROM memberships WHERE org_id = 3)', columns: ['id', 'name'] },
  orgs: { table: 'orgs' },
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(acquired.server === null)('serve --http-port beside Postgres, followed by @electric-sql/client', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: pg.Client;
  let dataDir: string;
  let port: number;
  let child: ChildProcess | null = null;
  let output = '';
  const clients: FollowedShape[] = [];
  const random = rng(20261201);

  beforeAll(async () => {
    database = await createTestDatabase(acquired.server!.url, 'pg_http');
    db = await connect(database.url);
    await db.query(`
      CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL, tier int NOT NULL);
      CREATE TABLE memberships (id int PRIMARY KEY, user_id int NOT NULL, org_id int NOT NULL);
      CREATE TABLE users (id int PRIMARY KEY, name text, active boolean NOT NULL DEFAULT true);
      CREATE TABLE nokey (a int, b text);
      INSERT INTO orgs SELECT g, 'org ' || g, g % 2 FROM generate_series(1, 4) g;
      INSERT INTO users SELECT g, 'user ' || g, g % 3 <> 0 FROM generate_series(1, 12) g;
      INSERT INTO memberships SELECT g, 1 + g % 12, 1 + g % 4 FROM generate_series(1, 16) g;`);
    dataDir = await mkdtemp(join(tmpdir(), 'shape-actors-pg-http-'));
    port = await freePort();
  });

  afterAll(async () => {
    for (const client of clients) client.stop();
    await stopServe('SIGTERM');
    await db?.end();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
    await acquired.server?.stop();
  });

  async function startServe(): Promise<void> {
    const c = spawn(process.execPath, [...CLI_ARGS, 'serve', '--data-dir', dataDir, '--database-url', database.url, '--http-port', String(port), '--long-poll', '300', '--log-level', 'info'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    c.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor('serve to listen', () => output.includes(`serving shapes on http://127.0.0.1:${port}/v1/shape`) || c.exitCode !== null, 60_000);
    expect(c.exitCode, output.slice(-2000)).toBeNull();
  }

  async function stopServe(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', (code, sig) => resolve({ code, sig })));
    c.kill(signal);
    const exit = await exited;
    if (signal === 'SIGTERM') expect(exit, output.slice(-2000)).toEqual({ code: 0, sig: null });
    child = null;
  }

  async function selected(params: FollowParams): Promise<Map<string, Record<string, unknown>>> {
    const columns = params.columns ? params.columns.join(', ') : '*';
    const { rows } = await db.query(`SELECT ${columns} FROM ${params.table}${params.where ? ` WHERE ${params.where}` : ''}`);
    return new Map(rows.map((r: Record<string, unknown>) => [JSON.stringify([r.id]), r]));
  }

  async function converged(followed: readonly FollowedShape[], context: string): Promise<void> {
    for (const client of followed) {
      const params = SHAPES[client.name]!;
      let want = '';
      await waitFor(`${client.name} to hold the rows SQL selects ${context}`, async () => {
        if (client.errors.length > 0) throw new Error(`${client.name}: ${String(client.errors[0])}`);
        want = canonicalRows(await selected(params));
        return canonicalRows(client.rows()) === want;
      }, 20_000).catch((error: unknown) => {
        throw new Error(`${String(error)}: client ${canonicalRows(client.rows())}, SQL ${want}\n${output.slice(-1500)}`);
      });
    }
  }

  /** A few transactions of random writes: rows move in and out of every shape. */
  async function writeRandomly(transactions: number): Promise<void> {
    const int = (n: number) => 1 + Math.floor(random() * n);
    for (let t = 0; t < transactions; t++) {
      await db.query('BEGIN');
      for (let s = 0; s < 1 + int(4); s++) {
        const roll = random();
        if (roll < 0.3) await db.query('INSERT INTO memberships VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, org_id = EXCLUDED.org_id', [int(30), int(14), int(4)]);
        else if (roll < 0.45) await db.query('DELETE FROM memberships WHERE id = $1', [int(30)]);
        else if (roll < 0.6) await db.query('UPDATE orgs SET tier = 1 - tier WHERE id = $1', [int(4)]);
        else if (roll < 0.75) await db.query('UPDATE users SET active = NOT active, name = $2 WHERE id = $1', [int(14), `renamed ${int(99)}`]);
        else if (roll < 0.9) await db.query('INSERT INTO users VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [int(14), `user ${int(99)}`, random() < 0.5]);
        else await db.query('DELETE FROM users WHERE id = $1', [int(14)]);
      }
      await db.query('COMMIT');
    }
  }

  it('every client holds what SQL selects through random writes, and keeps its handle across SIGTERM and SIGKILL with no 409', async () => {
    await startServe();
    const followed = Object.keys(SHAPES).map((name) => follow(`http://127.0.0.1:${port}`, name, SHAPES[name]!));
    clients.push(...followed);
    await converged(followed, 'after the initial sync');
    const handles = followed.map((c) => c.stream.shapeHandle);
    for (const [round, restart] of (['none', 'SIGTERM', 'SIGKILL', 'SIGKILL'] as const).entries()) {
      if (restart !== 'none') {
        await stopServe(restart);
        await writeRandomly(2); // written while serve is down: streamed after the restart
        await startServe();
      }
      await writeRandomly(6);
      await converged(followed, `in round ${round} (after ${restart})`);
    }
    expect(followed.map((c) => c.stream.shapeHandle)).toEqual(handles);
    for (const client of followed) {
      expect(client.refetches(), client.name).toBe(0);
      expect(client.handles(), client.name).toHaveLength(1);
    }
  }, 240_000); // four serve starts and three restarts: about 50 s alone, several times that on a loaded machine

  it("each change carries its Postgres transaction's id in txids, as pg_current_xact_id() gave it to the writer; the snapshot's rows carry none", async () => {
    if (!child) await startServe(); // when run alone (-t)
    const controller = new AbortController();
    const stream = new ShapeStream({ url: `http://127.0.0.1:${port}/v1/shape`, params: { table: 'users', where: 'id > 10' }, signal: controller.signal });
    const changes: ChangeMessage<Row>[] = [];
    let upToDate = 0;
    stream.subscribe((messages) => {
      for (const m of messages) {
        if (isChangeMessage(m)) changes.push(m);
        else if (m.headers.control === 'up-to-date') upToDate++;
      }
    });
    try {
      await waitFor('the snapshot', () => upToDate > 0, 20_000);
      const snapshot = changes.splice(0);
      expect(snapshot.length).toBeGreaterThan(0);
      for (const m of snapshot) expect(m.headers.txids, m.key).toBeUndefined();
      const written: { txid: number; ids: number[] }[] = [];
      for (const ids of [[201, 202], [203]]) {
        await db.query('BEGIN');
        for (const id of ids) await db.query('INSERT INTO users VALUES ($1, $2, true)', [id, `txid ${id}`]);
        const { rows } = await db.query<{ txid: string }>('SELECT pg_current_xact_id()::xid::text AS txid');
        await db.query('COMMIT');
        written.push({ txid: Number(rows[0]!.txid), ids });
      }
      await waitFor('the three inserts', () => changes.length >= 3, 20_000);
      expect(written[0]!.txid).not.toBe(written[1]!.txid);
      expect(changes.map((m) => [Number(m.value.id), m.headers.operation, m.headers.txids])).toEqual(written.flatMap(({ txid, ids }) => ids.map((id) => [id, 'insert', [txid]])));
    } finally {
      stream.unsubscribeAll();
      controller.abort();
      await db.query('DELETE FROM users WHERE id > 200');
    }
  }, 60_000);

  it('refuses a table or column the catalog does not have, or a table it cannot follow (400, not a retry)', async () => {
    const url = `http://127.0.0.1:${port}/v1/shape`;
    const cases: [Record<string, string>, Record<string, unknown>][] = [
      [{ table: 'nope' }, { table: ['Table "public"."nope" does not exist. If the table name contains capitals or special characters you must quote it.'] }],
      [{ table: 'users', columns: 'id,nope' }, { columns: ['unknown column nope'] }],
      [{ table: 'users', where: 'nope = 1' }, { where: ['unknown column nope in table public.users'] }],
      [{ table: 'users', where: 'id IN (SELECT user_id FROM nothing)' }, { where: [expect.stringContaining('Table "public"."nothing" does not exist')] }],
      [{ table: 'users', columns: 'name' }, { columns: ['The list of columns must include all primary key columns, missing: id'] }],
      // A table without a primary key cannot be followed: its rows have no identity (a 503 would have the client retry forever).
      [{ table: 'nokey' }, { table: ['table public.nokey has no primary key: its rows cannot be identified'] }],
      [{ table: 'users', where: 'id IN (SELECT a FROM nokey)' }, { where: ['table public.nokey has no primary key: its rows cannot be identified'] }],
    ];
    for (const [query, errors] of cases) {
      const response = await fetch(`${url}?${new URLSearchParams({ ...query, offset: '-1' })}`);
      expect([response.status, await response.json()], JSON.stringify(query)).toEqual([400, { message: 'Invalid request', errors }]);
    }
    const schema = await fetch(`${url}?table=users&offset=-1`);
    expect(JSON.parse(schema.headers.get('electric-schema')!)).toEqual({ id: { type: 'int4', pk_index: 0, not_null: true }, name: { type: 'text' }, active: { type: 'bool', not_null: true } });
  });

  it('after a dependency shape loses its storage, exactly the clients of the removed closure refetch, once', async () => {
    const followed = clients.filter((c) => c.name === 'nested' || c.name === 'orgs');
    const [nested, orgs] = followed as [FollowedShape, FollowedShape];
    const before = { nested: nested.stream.shapeHandle!, orgs: orgs.stream.shapeHandle! };
    const response = await fetch(`http://127.0.0.1:${port}/v1/shape?table=users&where=${encodeURIComponent(SHAPES.nested!.where!)}&offset=now`);
    expect(response.headers.get('electric-handle')).toBe(before.nested);
    await stopServe('SIGTERM');
    // The innermost dependency (orgs WHERE tier = 1, columns id) is found by its directory's definition.
    const { readdir, readFile } = await import('node:fs/promises');
    const layout = dataDirLayout(dataDir);
    let lost = '';
    for (const handle of await readdir(layout.shapes)) {
      const text = await readFile(layout.definition(handle), 'utf8').catch(() => '');
      if (text.includes('"tier = 1"')) lost = handle;
    }
    expect(lost).not.toBe('');
    await rm(layout.shapeDir(lost), { recursive: true });
    await startServe();
    await writeRandomly(3);
    await converged(clients, 'after the loss');
    expect(nested.refetches()).toBe(1);
    expect(nested.stream.shapeHandle).not.toBe(before.nested);
    for (const client of clients.filter((c) => c !== nested)) {
      expect(client.refetches(), client.name).toBe(0);
      expect(client.handles(), client.name).toHaveLength(1);
    }
    expect(orgs.stream.shapeHandle).toBe(before.orgs);
  }, 120_000);
});
