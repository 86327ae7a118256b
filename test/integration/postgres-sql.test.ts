/**
 * The Postgres source's pure helpers (LSNs, snapshots, schema comparison),
 * and its SQL builder checked against Postgres itself: for each where clause,
 * the rows `shapeQuery` selects are exactly the rows the runtime's evaluator
 * keeps (values decoded as the source decodes them, subqueries' values taken
 * from Postgres), and the generated SQL never holds a constant's text.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeShape, type ShapeDefinition } from '../../src/shapes/definition.ts';
import { evaluateWhere } from '../../src/shapes/where/evaluate.ts';
import { linkElements, tupleKey } from '../../src/shapes/where/link-key.ts';
import { linkSetOf, type LinkSet } from '../../src/shapes/where/link-set.ts';
import { tableInfo } from '../../src/sources/postgres/catalog.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { formatLsn, parseLsn, PostgresSourceError, shapeQuery, SqlParams, whereToSql } from '../../src/sources/postgres/index.ts';
import { snapshotQuery } from '../../src/sources/postgres/read-queries.ts';
import type { LinkValueSet } from '../../src/storage/rows/row-store.ts';
import { schemaChange } from '../../src/sources/postgres/schema.ts';
import { PgSnapshot } from '../../src/sources/postgres/snapshot.ts';
import { acquireServer, announceSkip, connect, createTestDatabase } from './postgres-harness.ts';

describe('LSNs', () => {
  it('round-trip, and a position past 2^53 is refused', () => {
    for (const text of ['0/0', '0/16B3748', '16/B374D848', 'FFFFF/FFFFFFFF']) expect(formatLsn(parseLsn(text))).toBe(text);
    expect(parseLsn('1/0')).toBe(2 ** 32);
    expect(() => parseLsn('200000/0')).toThrow(PostgresSourceError);
    expect(() => parseLsn('nope')).toThrow(/not a WAL position/);
  });
});

describe('snapshot visibility', () => {
  it('sees what committed before it, not what ran or came after', () => {
    const s = PgSnapshot.parse('100:105:101,103');
    expect([99, 100, 102, 104].map((x) => s.sees(x))).toEqual([true, true, true, true]);
    expect([101, 103, 105, 200].map((x) => s.sees(x))).toEqual([false, false, false, false]);
  });

  it('widens 32-bit stream xids across an epoch boundary', () => {
    const epoch = 2n ** 32n;
    const s = PgSnapshot.parse(`${epoch - 5n}:${epoch + 3n}:${epoch + 1n}`);
    expect(s.sees(2 ** 32 - 10)).toBe(true); // before xmin, previous epoch
    expect(s.sees(2 ** 32 - 2)).toBe(true); // between xmin and xmax, not running
    expect(s.sees(1)).toBe(false); // running (in xip), new epoch
    expect(s.sees(2)).toBe(true);
    expect(s.sees(3)).toBe(false); // xmax
  });
});

describe('schema changes', () => {
  const base = { oid: 1, keyColumns: ['id'], columns: [{ name: 'id', typeOid: 23, typeMod: -1 }, { name: 'n', typeOid: 1700, typeMod: 655366 }] };
  it('a dropped column, a changed type or modifier, a new key or OID removes shapes; an added column does not', () => {
    expect(schemaChange(base, { ...base, columns: [...base.columns, { name: 'x', typeOid: 25, typeMod: -1 }] })).toBeNull();
    expect(schemaChange(base, { ...base, columns: [base.columns[0]!] })).toMatch(/column n was dropped/);
    expect(schemaChange(base, { ...base, columns: [base.columns[0]!, { name: 'n', typeOid: 1700, typeMod: 786438 }] })).toMatch(/column n changed type/);
    expect(schemaChange(base, { ...base, keyColumns: ['id', 'n'] })).toMatch(/primary key changed/);
    expect(schemaChange(base, { ...base, keyColumns: null })).toBeNull();
    expect(schemaChange(base, { ...base, oid: 2 })).toMatch(/re-created/);
  });
});

describe('SQL from where clauses', () => {
  beforeAll(() => loadSqlParser());

  it('constants are parameters, never SQL text', () => {
    const shape = normalizeShape({ table: 'items', where: "name = 'x'' OR 1=1 --' AND price > 10.5 AND tag IN ('a', 'b') AND flag IS TRUE AND note IS NULL" });
    const params = new SqlParams();
    const sql = whereToSql(shape.where!, { params, sublinks: 'unknown' });
    expect(sql).not.toMatch(/OR 1=1|10\.5|'a'/);
    expect(params.values).toEqual(["x' OR 1=1 --", '10.5', 'a', 'b']);
    expect(sql).toBe(`("name" = $1) AND ("price" > $2::numeric) AND ("tag" IN ($3, $4)) AND ("flag" IS TRUE) AND ("note" IS NULL)`);
  });

  it('sublinks: as the subquery itself (recursively), or unknown', () => {
    const shape = normalizeShape({ table: 'users', where: "id IN (SELECT user_id FROM memberships WHERE org_id IN (SELECT id FROM orgs WHERE name = 'acme'))" });
    const params = new SqlParams();
    expect(whereToSql(shape.where!, { params, dependencies: shape.dependencies, sublinks: 'subquery' })).toBe(
      `"id" IN (SELECT user_id FROM public.memberships WHERE "org_id" IN (SELECT id FROM public.orgs WHERE "name" = $1))`,
    );
    expect(params.values).toEqual(['acme']);
    expect(whereToSql(shape.where!, { params: new SqlParams(), sublinks: 'unknown' })).toBe('NULL::boolean');
  });
});

const acquired = await acquireServer();
announceSkip('postgres-sql', acquired.skip);

describe.skipIf(acquired.server === null)('SQL from where clauses, run by Postgres', () => {
  let db: pg.Client;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    await loadSqlParser();
    const database = await createTestDatabase(acquired.server!.url, 'pg_sql');
    drop = database.drop;
    db = await connect(database.url);
    await db.query(`
      CREATE TABLE t (id int PRIMARY KEY, a int, b bigint, n numeric, s text, flag boolean, d date, j jsonb, f float8);
      INSERT INTO t SELECT g,
        CASE WHEN g % 7 = 0 THEN NULL ELSE g % 10 END,
        g::bigint * 1000000007,
        CASE WHEN g % 5 = 0 THEN NULL ELSE (g % 13) * 1.25 END,
        CASE WHEN g % 6 = 0 THEN NULL ELSE chr(65 + g % 5) || 'x' || (g % 3) END,
        CASE WHEN g % 4 = 0 THEN NULL ELSE g % 2 = 0 END,
        date '2026-01-01' + g,
        jsonb_build_object('g', g),
        g / 3.0
      FROM generate_series(1, 120) g;
      CREATE TABLE m (id int PRIMARY KEY, t_id int NOT NULL, k int NOT NULL, label text NOT NULL);
      INSERT INTO m SELECT g, 1 + (g * 7) % 120, g % 4, 'l' || (g % 9) FROM generate_series(1, 80) g;
      CREATE TABLE k (id int PRIMARY KEY, ok boolean NOT NULL);
      INSERT INTO k SELECT g, g % 3 <> 0 FROM generate_series(0, 3) g;
    `);
  });
  afterAll(async () => {
    await db?.end();
    await drop?.();
    await acquired.server?.stop();
  });

  const wheres = [
    'a = 3',
    'a <> 3 AND b > 50000000000',
    'a < 5 OR n >= 7.5',
    'NOT (a > 4)',
    'a IN (1, 2, 3) AND s IS NOT NULL',
    'a NOT IN (1, 2, NULL)',
    'n IS NULL OR s IS NULL',
    'flag IS TRUE',
    'flag IS NOT FALSE',
    'flag IS UNKNOWN',
    'a BETWEEN 2 AND 6',
    'a NOT BETWEEN SYMMETRIC 8 AND 3',
    "s LIKE 'Ax%'",
    "s NOT LIKE '_x1'",
    "s ILIKE 'bX_'",
    's IS DISTINCT FROM NULL AND a IS NOT DISTINCT FROM 4',
    "s > 'Bx' AND s <= 'Dx2'",
    'd IS NOT NULL AND n = 2.50',
    'f > 10.5 AND n < 10',
    'b = 7000000049',
    'id IN (SELECT t_id FROM m WHERE k = 2)',
    "id NOT IN (SELECT t_id FROM m WHERE label LIKE 'l1%') AND a > 1",
    'id IN (SELECT t_id FROM m WHERE k IN (SELECT id FROM k WHERE ok))',
    '(id, a) IN (SELECT t_id, k FROM m)',
    'a = 3 OR id IN (SELECT t_id FROM m WHERE k = 1) OR s IS NULL',
  ];

  it.each(wheres)('%s', async (where) => {
    const shape = normalizeShape({ table: 't', where });
    const query = shapeQuery(shape.definition, ['id']);
    const selected = new Set((await db.query<{ id: number }>(query.text, query.values)).rows.map((r) => r.id));
    const all = (await db.query<Record<string, unknown>>('SELECT * FROM t')).rows;
    const links = await Promise.all(shape.dependencies.map((dep) => linkValuesOf(dep)));
    const types = (await tableInfo(db, 'public.t'))!.types;
    const evaluated = new Set(all.filter((row) => evaluateWhere(shape.where!, row, (i) => links[i]!, types)).map((r) => r.id as number));
    expect([...selected].sort((x, y) => x - y)).toEqual([...evaluated].sort((x, y) => x - y));
    // The row store's snapshot query (subqueries as their values) selects every row the shape holds.
    const snapshot = snapshotQuery('public.t', { where: shape.where!, dependencies: links }, (await tableInfo(db, 'public.t'))!);
    const read = (await db.query<Record<string, unknown>>(snapshot.text, [...snapshot.values])).rows;
    expect(read.filter((row) => evaluateWhere(shape.where!, row, (i) => links[i]!, types)).map((r) => r.id as number).sort((x, y) => x - y)).toEqual([...evaluated].sort((x, y) => x - y));
  });

  it("a snapshot query is narrowed by the table's index, not a scan of it", async () => {
    await db.query('CREATE TABLE big (id int PRIMARY KEY, org int NOT NULL); INSERT INTO big SELECT g, g / 10 FROM generate_series(1, 50000) g; CREATE INDEX ON big (org); ANALYZE big');
    const shape = normalizeShape({ table: 'big', where: 'org = 7' });
    const query = snapshotQuery('public.big', { where: shape.where!, dependencies: [] }, (await tableInfo(db, 'public.big'))!);
    const plan = JSON.stringify((await db.query(`EXPLAIN (FORMAT JSON) ${query.text}`, [...query.values])).rows);
    expect(plan).toMatch(/"Node Type":"(Index Scan|Bitmap Index Scan|Index Only Scan)"/);
    expect(plan).not.toMatch(/Seq Scan/);
  });

  /** A dependency's values as its materializer would hold them: the tuples of its selected columns, over its rows. */
  async function linkValuesOf(dependency: ShapeDefinition): Promise<LinkSet & LinkValueSet> {
    const columns = normalizeShape(dependency).definition.columns!.map((c) => c.replaceAll('"', ''));
    const types = (await tableInfo(db, dependency.table))!.types;
    const query = shapeQuery(dependency, []);
    const rows = (await db.query<Record<string, unknown>>(query.text, query.values)).rows;
    const set = linkSetOf(rows.map((r) => tupleKey(linkElements(columns.map((c) => r[c]), columns.map((c) => types[c])))));
    return Object.assign(set, { values: () => set.keys() });
  }
});
