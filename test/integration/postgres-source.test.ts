/**
 * The Postgres source against a real server (see postgres-harness.ts for
 * where it comes from): the data path, the publication, move-ins ordered
 * against the stream, restarts, schema changes, errors and reconnects.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Removal } from '../../src/graph/removal.ts';
import { PostgresSourceError, shapeQuery, startPostgresRuntime, type PostgresRuntime } from '../../src/sources/postgres/index.ts';
import type { ShapeDefinition } from '../../src/shapes/definition.ts';
import { acquireServer, adminQuery, announceSkip, connect, databaseWithDataDir, keyed, replay, sortedEntries, waitFor, withDatabase } from './postgres-harness.ts';

const acquired = await acquireServer();
announceSkip('postgres-source', acquired.skip);

describe.skipIf(acquired.server === null)('Postgres source (real server)', () => {
  const serverUrl = acquired.server?.url ?? '';
  const cleanups: (() => Promise<void>)[] = [];

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await acquired.server?.stop();
  });

  const setup = (prefix: string, ddl: string) => databaseWithDataDir(serverUrl, prefix, ddl, cleanups);

  async function start(url: string, dataDir: string, removals?: Removal[], logged?: { msg: string; fields: object }[]): Promise<PostgresRuntime> {
    const record = (msg: string, fields: object): void => void logged?.push({ msg, fields });
    const logger = { debug: () => {}, info: (f: object, m: string) => record(m, f), warn: (f: object, m: string) => record(m, f), error: (f: object, m: string) => record(m, f) };
    const pr = await startPostgresRuntime({ dataDir, databaseUrl: url, schemaPollMs: 300, backoff: { initialMs: 50, maxMs: 500 }, logger });
    if (removals) pr.runtime.actor.on('CASCADE.STOPPED', (e) => void removals.push(e.removal));
    return pr;
  }

  /** The shape's log replayed equals what Postgres says the shape holds. */
  async function expectLogMatchesSql(pr: PostgresRuntime, db: pg.Client, handle: string, definition: ShapeDefinition | Record<string, unknown>): Promise<number> {
    const record = pr.runtime.actor.getSnapshot().context.shapes.registry.get(handle)!;
    const keyColumns = pr.runtime.keyColumnsOf(record.shape.definition.table);
    const query = shapeQuery(record.shape.definition, keyColumns);
    const { rows } = await db.query(query.text, query.values);
    const log = await pr.runtime.readLog(handle);
    // A column a row lacks is NULL (a row logged before a column was added has no value for it).
    expect(sortedEntries(replay(log)).map(withoutNulls), JSON.stringify(definition)).toEqual(keyed(rows, keyColumns).map(withoutNulls));
    expectNoDoubleInserts(log);
    return rows.length;
  }

  it('follows inserts, updates (key changes too) and deletes, with the publication covering exactly the live tables', async () => {
    const { url, db, dataDir } = await setup(
      'pg_basic',
      `CREATE TABLE items (id int PRIMARY KEY, price numeric NOT NULL, name text, tags jsonb);
       CREATE TABLE other (id int PRIMARY KEY);
       CREATE TABLE orgs (id int PRIMARY KEY, active boolean NOT NULL);
       INSERT INTO items SELECT g, g * 1.5, 'item ' || g, '{"a": 1}' FROM generate_series(1, 20) g;
       INSERT INTO orgs VALUES (1, true), (2, false);`,
    );
    const pr = await start(url, dataDir);
    try {
      const publicationTables = async (): Promise<string[]> =>
        (await db.query<{ t: string }>(`SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`, [pr.source.publication])).rows.map((r) => r.t);
      expect(await publicationTables()).toEqual([]);

      const cheap = { table: 'items', where: "price <= 12 AND name LIKE 'item%'" };
      const a = await pr.source.add(cheap);
      expect(await publicationTables()).toEqual(['public.items']);
      expect(await expectLogMatchesSql(pr, db, a.handle, cheap)).toBe(8);

      await db.query(`INSERT INTO items VALUES (100, 1, 'item new', null)`);
      await db.query(`UPDATE items SET price = 100 WHERE id = 2`); // moves out
      await db.query(`UPDATE items SET price = 2 WHERE id = 15`); // moves in
      await db.query(`UPDATE items SET name = 'item renamed' WHERE id = 3`);
      await db.query(`UPDATE items SET id = 300 WHERE id = 4`); // key change
      await db.query(`DELETE FROM items WHERE id IN (5, 6)`);
      await db.query(`BEGIN; INSERT INTO items VALUES (101, 3, 'item tx', null); UPDATE items SET price = 4 WHERE id = 101; DELETE FROM items WHERE id = 1; COMMIT`);
      await db.query(`INSERT INTO other VALUES (1)`); // not published: never reaches the runtime
      await pr.source.caughtUp();
      await expectLogMatchesSql(pr, db, a.handle, cheap);

      const withOrg = { table: 'orgs', where: 'active AND id IN (SELECT id FROM items WHERE price < 3)', columns: ['id'] };
      const b = await pr.source.add(withOrg);
      expect(await publicationTables()).toEqual(['public.items', 'public.orgs']);
      await expectLogMatchesSql(pr, db, b.handle, withOrg);

      await pr.runtime.remove(a.handle);
      // items is still read by b's dependency shape: it stays published.
      await pr.source.caughtUp();
      expect(await publicationTables()).toEqual(['public.items', 'public.orgs']);
      await pr.runtime.remove(b.handle);
      const dependency = pr.runtime.list().find((s) => s.definition.table === 'public.items');
      if (dependency) await pr.runtime.remove(dependency.handle);
      await waitFor('the publication to empty', async () => (await publicationTables()).length === 0);
      expect(pr.source.status().synced).toEqual([]);
    } finally {
      await pr.shutdown();
    }
  });

  it('move-ins and move-outs through nested subqueries, under concurrent writes, are logged once each and match SQL', async () => {
    const { url, db, dataDir } = await setup(
      'pg_moves',
      `CREATE TABLE orgs (id int PRIMARY KEY, active boolean NOT NULL);
       CREATE TABLE memberships (user_id int NOT NULL, org_id int NOT NULL, PRIMARY KEY (user_id, org_id));
       CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, score int NOT NULL);
       INSERT INTO orgs SELECT g, g % 2 = 0 FROM generate_series(1, 6) g;
       INSERT INTO users SELECT g, 'user ' || g, g % 10 FROM generate_series(1, 60) g;
       INSERT INTO memberships SELECT g, 1 + g % 6 FROM generate_series(1, 60) g;`,
    );
    const pr = await start(url, dataDir);
    const shapes: (ShapeDefinition | Record<string, unknown>)[] = [
      { table: 'users', where: 'id IN (SELECT user_id FROM memberships WHERE org_id IN (SELECT id FROM orgs WHERE active))' },
      { table: 'users', where: 'score > 3 AND id NOT IN (SELECT user_id FROM memberships WHERE org_id = 2)', columns: ['name'] },
      { table: 'memberships', where: 'org_id IN (SELECT id FROM orgs WHERE active)' },
    ];
    let writing = true;
    try {
      const handles = [];
      for (const shape of shapes) handles.push((await pr.source.add(shape)).handle);

      // A writer that keeps the database ahead of the stream while memberships move.
      const writer = (async () => {
        const w = await connect(url);
        let i = 0;
        try {
          while (writing) {
            i++;
            const user = 1 + (i % 60);
            await w.query(`UPDATE users SET score = (score + 1) % 10, name = 'user ' || id || ' v' || $2 WHERE id = $1`, [user, i]);
            if (i % 7 === 0) await w.query(`DELETE FROM users WHERE id = $1`, [user]);
            if (i % 7 === 3) await w.query(`INSERT INTO users VALUES ($1, 'back', 5) ON CONFLICT (id) DO NOTHING`, [1 + ((i - 3) % 60)]);
          }
        } finally {
          await w.end();
        }
      })();
      for (let round = 0; round < 12; round++) {
        const org = 1 + (round % 6);
        await db.query(`UPDATE orgs SET active = NOT active WHERE id = $1`, [org]);
        // A key change (org_id is part of the primary key): a move between orgs.
        await db.query(
          `UPDATE memberships SET org_id = $2 WHERE user_id = $1 AND org_id = (SELECT min(org_id) FROM memberships WHERE user_id = $1)
             AND NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1 AND org_id = $2)`,
          [1 + ((round * 7) % 60), 1 + ((round + 3) % 6)],
        );
        await db.query(`INSERT INTO memberships VALUES ($1, $2) ON CONFLICT DO NOTHING`, [1 + ((round * 11) % 60), 2]);
        await db.query(`DELETE FROM memberships WHERE user_id = $1 AND org_id = 2`, [1 + ((round * 13) % 60)]);
      }
      writing = false;
      await writer;
      await pr.source.caughtUp();
      for (const [i, handle] of handles.entries()) await expectLogMatchesSql(pr, db, handle, shapes[i]!);
      expect(pr.source.status().moveIns.queries).toBeGreaterThan(0);
    } finally {
      writing = false;
      await pr.shutdown();
    }
  });

  it('resumes after a restart (changes made while it was down included), skipping nothing and applying nothing twice', async () => {
    const { url, db, dataDir } = await setup(
      'pg_restart',
      `CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);
       CREATE TABLE parents (id int PRIMARY KEY, keep boolean NOT NULL);
       INSERT INTO t SELECT g, g FROM generate_series(1, 30) g;
       INSERT INTO parents SELECT g, true FROM generate_series(1, 30) g;`,
    );
    const shape = { table: 't', where: 'v BETWEEN 5 AND 25 AND id IN (SELECT id FROM parents WHERE keep)' };
    let pr = await start(url, dataDir);
    const { handle } = await pr.source.add(shape);
    await db.query(`UPDATE t SET v = v + 1 WHERE id <= 10`);
    await pr.source.caughtUp();
    await pr.shutdown();

    // While it is down: more changes, membership moves included.
    await db.query(`UPDATE t SET v = v + 1 WHERE id > 10`);
    await db.query(`UPDATE parents SET keep = false WHERE id IN (4, 8, 12, 16, 20)`);
    await db.query(`DELETE FROM t WHERE id = 30`);

    pr = await start(url, dataDir);
    try {
      expect(pr.runtime.list().map((s) => s.handle)).toContain(handle);
      await pr.source.caughtUp();
      await expectLogMatchesSql(pr, db, handle, shape);
      const log = await pr.runtime.readLog(handle);
      for (let i = 1; i < log.length; i++) expect(log[i]!.xid).toBeGreaterThanOrEqual(log[i - 1]!.xid);
      // Applied once: the stream does not bring back what the data dir has (the slot resumed after it).
      const slot = await db.query<{ confirmed: string }>(`SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1`, [pr.source.slot]);
      expect(slot.rows[0]!.confirmed).not.toBe('0/0');
    } finally {
      await pr.shutdown();
    }
  });

  it('schema changes remove the affected shapes (with cascade) and say why', async () => {
    const { url, db, dataDir } = await setup(
      'pg_schema',
      `CREATE TABLE a (id int PRIMARY KEY, x int, y text);
       CREATE TABLE b (id int PRIMARY KEY, n numeric(10,2));
       CREATE TABLE c (id int PRIMARY KEY, a_id int);
       CREATE TABLE d (id int PRIMARY KEY);
       CREATE TABLE keep (id int PRIMARY KEY, z int);
       INSERT INTO a VALUES (1, 1, 'one'); INSERT INTO b VALUES (1, 1.5); INSERT INTO c VALUES (1, 1); INSERT INTO d VALUES (1); INSERT INTO keep VALUES (1, 1);`,
    );
    const removals: Removal[] = [];
    const pr = await start(url, dataDir, removals);
    try {
      const sa = await pr.source.add({ table: 'a', where: 'x > 0' });
      const sc = await pr.source.add({ table: 'c', where: 'a_id IN (SELECT id FROM a WHERE y IS NOT NULL)' });
      const sb = await pr.source.add({ table: 'b' });
      const sd = await pr.source.add({ table: 'd' });
      const sk = await pr.source.add({ table: 'keep' });
      const reasonOf = (handle: string): Removal | undefined => removals.find((r) => r.handle === handle);

      // An added column removes nothing (the table is read again: existing rows have the default now).
      await db.query(`ALTER TABLE keep ADD COLUMN extra text DEFAULT 'default'; INSERT INTO keep VALUES (2, 2, 'e')`);
      // A dropped column: the dependency shape on `a` goes, and with it the shape on `c` that depends on it.
      await db.query(`ALTER TABLE a DROP COLUMN y; INSERT INTO a VALUES (2, 2)`);
      await waitFor('a column drop to remove the shapes of a', () => reasonOf(sa.handle) && reasonOf(sc.handle));
      expect(reasonOf(sa.handle)).toMatchObject({ reason: 'schema-changed', detail: expect.stringContaining('column y was dropped') });
      expect(reasonOf(sc.handle)).toMatchObject({ reason: 'dependency-removed', cause: sc.dependencyHandles[0] });
      // A changed type.
      await db.query(`ALTER TABLE b ALTER COLUMN n TYPE numeric(12,4)`);
      await waitFor('a type change to remove the shape of b', () => reasonOf(sb.handle));
      expect(reasonOf(sb.handle)).toMatchObject({ reason: 'schema-changed', detail: expect.stringContaining('column n changed type') });
      // Truncated.
      await db.query(`TRUNCATE d`);
      await waitFor('a truncate to remove the shape of d', () => reasonOf(sd.handle));
      expect(reasonOf(sd.handle)).toMatchObject({ reason: 'schema-changed', detail: expect.stringContaining('truncated') });

      await pr.source.caughtUp();
      expect(pr.runtime.list().map((s) => s.handle)).toEqual([sk.handle]);
      await expectLogMatchesSql(pr, db, sk.handle, { table: 'keep' });

      // Dropped: no relation message says so; the schema poll does.
      await db.query(`DROP TABLE keep`);
      await waitFor('a dropped table to remove its shape', () => reasonOf(sk.handle));
      expect(reasonOf(sk.handle)).toMatchObject({ reason: 'schema-changed', detail: expect.stringContaining('dropped') });
      await waitFor('the publication to empty', async () => (await db.query(`SELECT 1 FROM pg_publication_tables WHERE pubname = $1`, [pr.source.publication])).rows.length === 0);
    } finally {
      await pr.shutdown();
    }
  });

  it('a dropped replication connection is retried with backoff and loses nothing', async () => {
    const { url, db, dataDir } = await setup('pg_reconnect', `CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL); INSERT INTO t SELECT g, g FROM generate_series(1, 10) g;`);
    const logged: { msg: string; fields: object }[] = [];
    const pr = await start(url, dataDir, undefined, logged);
    try {
      const shape = { table: 't', where: 'v > 5' };
      const { handle } = await pr.source.add(shape);
      let killedPid = -1;
      for (let i = 0; i < 3; i++) {
        // The walsender of the connection killed before may still show for a moment: wait for a new one.
        const pid = await waitFor('the stream to be connected', async () => {
          const { rows } = await db.query<{ pid: number }>(`SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, [pr.source.slot]);
          return rows[0] && rows[0].pid !== killedPid ? rows[0].pid : null;
        });
        const killed = await db.query(`SELECT pg_terminate_backend($1) AS ok`, [pid]);
        expect(killed.rows[0]).toEqual({ ok: true });
        killedPid = pid;
        await db.query(`UPDATE t SET v = v + 1`);
        await db.query(`INSERT INTO t VALUES ($1, 100)`, [100 + i]);
      }
      await pr.source.caughtUp();
      await expectLogMatchesSql(pr, db, handle, shape);
      const retries = logged.filter((l) => l.msg === 'replication connection lost: reconnecting');
      expect(retries.length).toBeGreaterThanOrEqual(3);
      for (const r of retries) expect(r.fields).toMatchObject({ retryInMs: expect.any(Number), attempt: expect.any(Number) });
    } finally {
      await pr.shutdown();
    }
  });

  describe('clear errors', () => {
    let url = '';
    let dataDir = '';
    beforeAll(async () => {
      ({ url, dataDir } = await setup('pg_errors', `CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE nokey (v int);`));
    });

    async function failure(databaseUrl: string): Promise<PostgresSourceError> {
      const dir = await mkdtemp(join(tmpdir(), 'pg-err-'));
      try {
        await startPostgresRuntime({ dataDir: dir, databaseUrl });
      } catch (error) {
        expect(error).toBeInstanceOf(PostgresSourceError);
        return error as PostgresSourceError;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      throw new Error('expected startPostgresRuntime to fail');
    }

    it('unreachable database', async () => {
      const error = await failure('postgres://postgres@127.0.0.1:1/postgres');
      expect(error.code).toBe('unreachable');
      expect(error.message).toMatch(/cannot reach Postgres at 127\.0\.0\.1:1\/postgres: connection refused/);
    });

    it('a role without REPLICATION, and one that may not create the publication', async () => {
      const db = new URL(url).pathname.slice(1);
      const suffix = Math.random().toString(36).slice(2, 8);
      await adminQuery(url, `CREATE ROLE plain_${suffix} LOGIN; CREATE ROLE repl_${suffix} LOGIN REPLICATION; REVOKE CREATE ON DATABASE ${db} FROM PUBLIC`);
      cleanups.push(() => adminQuery(serverUrl, `DROP ROLE IF EXISTS plain_${suffix}; DROP ROLE IF EXISTS repl_${suffix}`).then(() => undefined));
      const asRole = (role: string): string => {
        const u = new URL(url);
        u.username = role;
        return u.toString();
      };
      const plain = await failure(asRole(`plain_${suffix}`));
      expect(plain.code).toBe('replication-right');
      expect(plain.message).toMatch(/needs the REPLICATION attribute/);
      const repl = await failure(asRole(`repl_${suffix}`));
      expect(repl.code).toBe('publication-right');
      expect(repl.message).toMatch(/may not create publication/);
    });

    it('a table without a primary key is refused before it is published', async () => {
      const pr = await startPostgresRuntime({ dataDir, databaseUrl: url });
      try {
        await expect(pr.source.add({ table: 'nokey' })).rejects.toThrow(/has no primary key/);
        const published = await adminQuery(url, `SELECT 1 FROM pg_publication_tables WHERE pubname = $1`, [pr.source.publication]);
        expect(published.rows).toEqual([]);
      } finally {
        await pr.shutdown();
      }
    });

    it('wal_level below logical', async () => {
      const replica = await acquireServer({ walLevel: 'replica' });
      if (!replica.server) {
        console.warn(`[postgres-source] wal_level test SKIPPED: ${replica.skip}`);
        return;
      }
      try {
        const error = await failure(withDatabase(replica.server.url, 'postgres'));
        expect(error.code).toBe('wal-level');
        expect(error.message).toMatch(/wal_level is 'replica'.*needs wal_level = logical/);
      } finally {
        await replica.server.stop();
      }
    });
  });
});

function withoutNulls([key, row]: [string, Record<string, unknown>]): [string, Record<string, unknown>] {
  return [key, Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null && v !== undefined))];
}

/** "Not logged twice": between two inserts of a key there is always a delete. */
function expectNoDoubleInserts(log: readonly { op: string; key: string; xid: number }[]): void {
  const present = new Map<string, number>();
  for (const entry of log) {
    if (entry.op === 'insert') {
      expect(present.has(entry.key), `key ${entry.key} inserted at ${present.get(entry.key)} and again at ${entry.xid} without a delete`).toBe(false);
      present.set(entry.key, entry.xid);
    } else if (entry.op === 'delete') {
      expect(present.has(entry.key), `key ${entry.key} deleted at ${entry.xid} but not present`).toBe(true);
      present.delete(entry.key);
    }
  }
}
