/**
 * Following Postgres without a copy of the tables (issue 17): a new shape's
 * snapshot, a resync and every move-in are read from the database as of the
 * runtime's position, under a concurrent writer, and checked against SQL
 * (no row lost, none logged twice); old rows come from the stream, so every
 * followed table gets REPLICA IDENTITY FULL (or a clear error when the role
 * may not set it); a table of 300k rows is followed by reading only what its
 * shapes select.
 */
import { readdir } from 'node:fs/promises';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { shapeQuery, startPostgresRuntime, type PostgresRuntime } from '../../src/sources/postgres/index.ts';
import type { ShapeDefinition } from '../../src/shapes/definition.ts';
import { cli } from '../helpers/run-cli.ts';
import { acquireServer, adminQuery, announceSkip, connect, databaseWithDataDir, keyed, replay, sortedEntries } from './postgres-harness.ts';

const acquired = await acquireServer();
announceSkip('postgres-snapshots', acquired.skip);

describe.skipIf(acquired.server === null)('snapshots, resyncs and move-ins from the database (no copy of the tables)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await acquired.server?.stop();
  });

  const setup = (prefix: string, ddl: string) => databaseWithDataDir(acquired.server!.url, prefix, ddl, cleanups);

  /** The shape's log replayed equals what Postgres says it holds; no key inserted twice without a delete between. */
  async function expectLogMatchesSql(pr: PostgresRuntime, db: pg.Client, handle: string): Promise<number> {
    const record = pr.runtime.shapes.get(handle)!;
    const keyColumns = pr.runtime.keyColumnsOf(record.shape.definition.table);
    const query = shapeQuery(record.shape.definition, keyColumns);
    const { rows } = await db.query(query.text, query.values);
    const log = await pr.runtime.readLog(handle);
    expect(sortedEntries(replay(log)), JSON.stringify(record.shape.definition)).toEqual(keyed(rows, keyColumns));
    const present = new Set<string>();
    for (const entry of log) {
      if (entry.op === 'insert') {
        expect(present.has(entry.key), `${entry.key} inserted twice (${JSON.stringify(record.shape.definition)})`).toBe(false);
        present.add(entry.key);
      } else if (entry.op === 'delete') present.delete(entry.key);
    }
    return rows.length;
  }

  it('shapes added while a writer keeps the database ahead of the stream hold exactly what SQL says, from their first entry on', { timeout: 120_000 }, async () => {
    const { url, db, dataDir } = await setup(
      'pg_snap_writer',
      `CREATE TABLE accounts (id int PRIMARY KEY, tier int NOT NULL, name text NOT NULL);
       CREATE TABLE items (id int PRIMARY KEY, account_id int NOT NULL, price int NOT NULL, label text);
       INSERT INTO accounts SELECT g, g % 5, 'account ' || g FROM generate_series(1, 200) g;
       INSERT INTO items SELECT g, 1 + g % 200, g % 100, 'item ' || g FROM generate_series(1, 5000) g;`,
    );
    const pr = await startPostgresRuntime({ dataDir, databaseUrl: url, schemaPollMs: 0 });
    let writing = true;
    const writer = (async () => {
      const w = await connect(url);
      let i = 0;
      try {
        while (writing) {
          i++;
          const id = 1 + ((i * 37) % 5000);
          await w.query(`UPDATE items SET price = (price + 7) % 100, label = label || '.' WHERE id = $1`, [id]);
          if (i % 5 === 0) await w.query(`DELETE FROM items WHERE id = $1`, [1 + ((i * 11) % 5000)]);
          if (i % 5 === 2) await w.query(`INSERT INTO items VALUES ($1, $2, $3, 'new') ON CONFLICT (id) DO UPDATE SET price = EXCLUDED.price`, [1 + ((i * 13) % 5000), 1 + (i % 200), i % 100]);
          if (i % 9 === 0) await w.query(`UPDATE accounts SET tier = (tier + 1) % 5 WHERE id = $1`, [1 + (i % 200)]);
          if (i % 17 === 0) await w.query(`UPDATE items SET id = id + 100000 WHERE id = $1`, [1 + ((i * 3) % 5000)]);
        }
      } finally {
        await w.end();
      }
    })();
    const shapes: (ShapeDefinition | Record<string, unknown>)[] = [
      { table: 'items', where: 'price < 10' },
      { table: 'items', where: 'id IN (1, 2, 3, 500, 4999) OR price = 42', columns: ['price'] },
      { table: 'items', where: 'account_id IN (SELECT id FROM accounts WHERE tier = 2) AND price >= 50' },
      { table: 'accounts', where: 'tier IN (1, 3)' },
      { table: 'items', where: "label LIKE '%.' AND price BETWEEN 20 AND 30", replica: 'full' },
    ];
    try {
      const handles: string[] = [];
      for (const shape of shapes) {
        handles.push((await pr.source.add(shape)).handle);
        await new Promise((r) => setTimeout(r, 150));
      }
      writing = false;
      await writer;
      await pr.source.caughtUp();
      for (const handle of handles) await expectLogMatchesSql(pr, db, handle);
      const { snapshots, moveIns } = pr.source.status();
      // Each add read the database (no copy of the tables), and rows the writer changed meanwhile were taken from the stream.
      expect(snapshots.queries).toBeGreaterThanOrEqual(shapes.length);
      expect(snapshots.reconciled + moveIns.reconciled).toBeGreaterThan(0);
      expect(moveIns.queries).toBeGreaterThan(0);
      // Nothing of the tables is kept in the data dir.
      expect(await readdir(dataDir)).not.toContain('tables');
    } finally {
      writing = false;
      await writer;
      await pr.shutdown();
    }
  });

  it('every followed table gets REPLICA IDENTITY FULL; a role that may not set it gets a clear refusal', { timeout: 60_000 }, async () => {
    const { url, db, dataDir } = await setup('pg_identity', `CREATE TABLE mine (id int PRIMARY KEY, v int); CREATE TABLE theirs (id int PRIMARY KEY, v int); INSERT INTO mine VALUES (1, 1);`);
    const suffix = Math.random().toString(36).slice(2, 8);
    const role = `follower_${suffix}`;
    const database = new URL(url).pathname.slice(1);
    await adminQuery(url, `CREATE ROLE ${role} LOGIN REPLICATION; GRANT CREATE ON DATABASE ${database} TO ${role}; ALTER TABLE mine OWNER TO ${role}; GRANT SELECT ON theirs TO ${role}`);
    cleanups.push(async () => {
      await adminQuery(url, `ALTER TABLE mine OWNER TO postgres; DROP OWNED BY ${role}`).catch(() => undefined);
      await adminQuery(acquired.server!.url, `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    });
    const asRole = new URL(url);
    asRole.username = role;
    const pr = await startPostgresRuntime({ dataDir, databaseUrl: asRole.toString(), schemaPollMs: 0 });
    try {
      const { handle } = await pr.source.add({ table: 'mine' });
      expect((await db.query(`SELECT relreplident FROM pg_class WHERE relname = 'mine'`)).rows[0]).toEqual({ relreplident: 'f' });
      await db.query(`UPDATE mine SET v = 2 WHERE id = 1`);
      await pr.source.caughtUp();
      expect(sortedEntries(replay(await pr.runtime.readLog(handle)))).toEqual([['[1]', { id: 1, v: 2 }]]);
      await expect(pr.source.add({ table: 'theirs' })).rejects.toThrow(/may not set REPLICA IDENTITY FULL on table public\.theirs.*owner/);
      expect(pr.source.status().unfollowable).toEqual([{ table: 'public.theirs', reason: expect.stringMatching(/REPLICA IDENTITY FULL/) }]);
      expect((await db.query(`SELECT relreplident FROM pg_class WHERE relname = 'theirs'`)).rows[0]).toEqual({ relreplident: 'd' });
    } finally {
      await pr.shutdown();
    }
  });

  it('a table of 300k rows: shapes added while nothing serves are filled at start by reading only their rows', { timeout: 180_000 }, async () => {
    const { url, db, dataDir } = await setup(
      'pg_300k',
      `CREATE TABLE items_300000 (id int PRIMARY KEY, owner int NOT NULL, label text NOT NULL);
       INSERT INTO items_300000 SELECT g, g % 1000, 'item ' || g FROM generate_series(1, 300000) g;
       CREATE INDEX ON items_300000 (owner);`,
    );
    for (const where of ['id = 1', 'owner = 7', 'id IN (SELECT id FROM items_300000 WHERE owner = 3 AND id < 20000)']) {
      const out = await cli('add', '--data-dir', dataDir, '--table', 'items_300000', '--where', where);
      expect(out.code, out.stderr).toBe(0);
    }
    const pr = await startPostgresRuntime({ dataDir, databaseUrl: url, schemaPollMs: 0 });
    try {
      await pr.source.waitForSync();
      await db.query(`UPDATE items_300000 SET owner = 7 WHERE id = 8`);
      await db.query(`DELETE FROM items_300000 WHERE id = 1`);
      await pr.source.caughtUp();
      const counts: number[] = [];
      for (const { handle } of pr.runtime.list()) counts.push(await expectLogMatchesSql(pr, db, handle));
      expect(counts.sort((a, b) => a - b)).toEqual([0, 20, 20, 301]);
      // The resync read each shape's rows by its where clause: a few hundred rows, not the table.
      expect(pr.source.status().snapshots.rows).toBeLessThan(2_000);
    } finally {
      await pr.shutdown();
    }
  });
});
