/**
 * The runtime against Postgres itself (issue 18): random where clauses over typed tables with
 * NULLs and edge values, random histories (rows changed several times in a transaction,
 * transactions touching only a subquery's table, move-ins and move-outs, nested and self
 * subqueries). After every transaction every shape's log, replayed, must hold exactly the rows
 * `SELECT * FROM <table> WHERE <where>` returns (dependency shapes included, by their canonical
 * where clause); a clause the runtime refuses as `invalid-where` must be one Postgres rejects,
 * and one it accepts one Postgres runs. The rows reach the runtime as the Postgres source
 * decodes them (`RETURNING *` through the source's type parsers), with the catalog's column types.
 * And the Postgres source's snapshot query for each shape (read-queries.ts: the clause with its
 * subqueries as `= ANY(<their values>)`) must select every row the shape holds.
 *
 * Seeds: SHAPE_ACTORS_WHERE_SEEDS (comma-separated; default two), runs per seed
 * SHAPE_ACTORS_WHERE_RUNS (default 100). A failure is shrunk by fast-check to a minimal clause
 * and history and printed with its seed.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShapeRuntime, ShapeRuntimeError, type ShapeRuntime } from '../../src/runtime/index.ts';
import { columnNames, normalizeShape } from '../../src/shapes/definition.ts';
import type { TableColumnTypes } from '../../src/shapes/column-types.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { tableInfo, type TableInfo } from '../../src/sources/postgres/catalog.ts';
import { moveInQuery, snapshotQuery } from '../../src/sources/postgres/read-queries.ts';
import { sublinkTestColumns } from '../../src/shapes/where/columns.ts';
import { linkKey, tupleHasNull } from '../../src/shapes/where/link-key.ts';
import { TupleIndex } from '../../src/shapes/where/link-set.ts';
import type { LinkValueSet } from '../../src/storage/rows/row-store.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';
import { clauseArb, createTablesSql, historyArb, TABLES, type Op } from '../helpers/where-generator.ts';
import { acquireServer, announceSkip, connect, createTestDatabase } from './postgres-harness.ts';

const acquired = await acquireServer();
announceSkip('where-differential', acquired.skip);

const SEEDS = (process.env.SHAPE_ACTORS_WHERE_SEEDS ?? '1806,4242').split(',').map(Number);
const RUNS = Number(process.env.SHAPE_ACTORS_WHERE_RUNS ?? 100);
const LIKE_ESCAPE_ERROR = /LIKE pattern must not end with escape character/;

type Row = Record<string, unknown>;

/** What the runs saw, for the report. */
const figures = { clauses: 0, accepted: 0, invalid: 0, unsupported: 0, histories: 0, transactions: 0, comparisons: 0, nonEmpty: 0, likeErrors: 0, prefilters: 0, moveIns: 0, prefilterFallbacks: 0 };

describe.skipIf(acquired.server === null)('where clauses against Postgres (differential)', () => {
  let db: pg.Client;
  let drop: () => Promise<void>;
  const types: Record<string, TableColumnTypes> = {};
  const infos: Record<string, TableInfo> = {};

  beforeAll(async () => {
    await loadSqlParser();
    const database = await createTestDatabase(acquired.server!.url, 'where_diff');
    drop = database.drop;
    db = await connect(database.url);
    await db.query(createTablesSql());
    for (const t of TABLES) {
      infos[`public.${t.name}`] = (await tableInfo(db, `public.${t.name}`))!;
      types[`public.${t.name}`] = infos[`public.${t.name}`]!.types;
    }
  });
  afterAll(async () => {
    console.log(`[where-differential] seeds ${SEEDS.join(', ')} x ${RUNS} runs: ${JSON.stringify(figures)}`);
    await db?.end();
    await drop?.();
    await acquired.server?.stop();
  });

  /** Postgres' rows of a query, keyed like shape logs; or the error it raised. */
  async function select(sql: string): Promise<Map<string, Row> | Error> {
    try {
      const { rows } = await db.query<Row>(sql);
      return new Map(rows.map((r) => [JSON.stringify([r.id]), r]));
    } catch (error) {
      return error as Error;
    }
  }

  /** Whether Postgres accepts the clause at all (parse and plan). */
  async function postgresAccepts(where: string): Promise<boolean> {
    try {
      await db.query(`EXPLAIN SELECT * FROM public.items WHERE ${where}`);
      return true;
    } catch {
      return false;
    }
  }

  /** Applies one transaction to Postgres; the changes as the source would deliver them. */
  async function applyToPostgres(ops: readonly Op[], existing: Map<string, Set<number>>): Promise<{ op: 'insert' | 'update' | 'delete'; table: string; row: Row }[]> {
    const changes: { op: 'insert' | 'update' | 'delete'; table: string; row: Row }[] = [];
    await db.query('BEGIN');
    for (const op of ops) {
      const ids = existing.get(op.table)!;
      if (op.kind === 'delete') {
        const { rows } = await db.query<Row>(`DELETE FROM public.${op.table} WHERE id = $1 RETURNING id`, [op.id]);
        if (rows[0]) changes.push({ op: 'delete', table: `public.${op.table}`, row: rows[0] });
        ids.delete(op.id);
        continue;
      }
      const columns = Object.keys(op.values);
      const params = columns.map((c) => op.values[c]);
      let rows: Row[];
      if (op.kind === 'upsert') {
        const set = columns.length > 0 ? `DO UPDATE SET ${columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}` : 'DO NOTHING';
        ({ rows } = await db.query<Row>(
          `INSERT INTO public.${op.table} (id${columns.map((c) => `, ${c}`).join('')}) VALUES ($1${columns.map((_, i) => `, $${i + 2}`).join('')}) ON CONFLICT (id) ${set} RETURNING *`,
          [op.id, ...params],
        ));
      } else {
        if (columns.length === 0) continue;
        ({ rows } = await db.query<Row>(`UPDATE public.${op.table} SET ${columns.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`, [op.id, ...params]));
      }
      if (!rows[0]) continue;
      changes.push({ op: ids.has(op.id) ? 'update' : 'insert', table: `public.${op.table}`, row: rows[0] });
      ids.add(op.id);
    }
    await db.query('COMMIT');
    return changes;
  }

  /** Every shape of the runtime against Postgres: its replayed log equals its query's rows. */
  async function compare(runtime: ShapeRuntime, clauses: ReadonlyMap<string, string>, state: string): Promise<void> {
    for (const shape of runtime.list()) {
      const { definition } = normalizeShape(shape.definition);
      const where = clauses.get(shape.handle) ?? definition.where;
      const columns = columnNames(definition);
      const selected = columns ? ['id', ...columns.filter((c) => c !== 'id')].map((c) => `"${c}"`).join(', ') : '*';
      const want = await select(`SELECT ${selected} FROM ${definition.table}${where === undefined ? '' : ` WHERE ${where}`}`);
      if (want instanceof Error) {
        if (LIKE_ESCAPE_ERROR.test(want.message)) {
          figures.likeErrors++; // Postgres raises once a row reaches the lone escape: no rows to compare
          continue;
        }
        throw new Error(`${state}: the runtime accepted ${definition.table} WHERE ${where}, but Postgres raised: ${want.message}`);
      }
      const got = new Map<string, Row>();
      for (const e of await runtime.readLog(shape.handle)) {
        // A log says each row's story once: an insert for a row it does not hold, an update or delete for one it does.
        if ((e.op === 'insert') === got.has(e.key)) throw new Error(`${state}: ${definition.table} WHERE ${where}: the log has ${e.op} ${e.key} at xid ${e.xid} while ${got.has(e.key) ? 'holding' : 'not holding'} the row`);
        if (e.op === 'delete') got.delete(e.key);
        else got.set(e.key, { ...(e.op === 'update' ? got.get(e.key) : {}), ...e.row });
      }
      figures.comparisons++;
      if (want.size > 0) figures.nonEmpty++;
      const canon = (rows: Map<string, Row>) => JSON.stringify([...rows].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, r]) => [k, Object.keys(r).sort().map((c) => [c, r[c] ?? null])]));
      if (canon(got) !== canon(want)) {
        throw new Error(`${state}: ${definition.table} WHERE ${where}\n  runtime:  ${canon(got)}\n  Postgres: ${canon(want)}`);
      }
      await checkPrefilter(runtime, shape.handle, shape.dependencyHandles, want, `${state}: ${definition.table} WHERE ${where}`);
    }
  }

  /**
   * The Postgres source's snapshot query for the shape (its where clause with subqueries as `= ANY(<their values>)`)
   * must select every row the shape holds: the source reads a new shape's rows with it.
   */
  async function checkPrefilter(runtime: ShapeRuntime, handle: string, dependencyHandles: readonly string[], want: ReadonlyMap<string, Row>, state: string): Promise<void> {
    const record = runtime.shapes.get(handle);
    if (!record?.shape.where) return;
    const dependencies: LinkValueSet[] = [];
    for (const dep of dependencyHandles) {
      const index = new TupleIndex();
      for (const key of await runtime.linkValues(dep)) index.add(key);
      dependencies.push({ has: (k) => index.has(k), compatibleCount: (e) => index.compatibleCount(e), size: index.size, values: () => index.keys() });
    }
    const table = record.shape.definition.table;
    const sql = snapshotQuery(table, { where: record.shape.where, dependencies }, infos[table]!);
    let selected: Set<string>;
    try {
      selected = new Set((await db.query<Row>(sql.text, [...sql.values])).rows.map((r) => JSON.stringify([r.id])));
    } catch (error) {
      // Postgres raises on a lone LIKE escape only where its evaluation order reaches one (the wrapper changes it).
      if (LIKE_ESCAPE_ERROR.test((error as Error).message)) {
        figures.likeErrors++;
        return;
      }
      // The source then reads the whole table (its fallback) and judges each row itself.
      if (sql.values.length === 0) throw new Error(`${state}: the snapshot query ${sql.text} failed without a fallback: ${(error as Error).message}`);
      figures.prefilterFallbacks++;
      return;
    }
    figures.prefilters++;
    const missing = [...want.keys()].filter((k) => !selected.has(k));
    if (missing.length > 0) throw new Error(`${state}: the source's snapshot query leaves out ${missing.join(', ')}: ${sql.text} ${JSON.stringify(sql.values)}`);
    // A move-in of the dependency's current values (those without NULLs, as the router asks) must find the held rows that link through them.
    for (const [i, lists] of sublinkTestColumns(record.shape.where)) {
      const values = new Set([...dependencies[i]!.values()].filter((v) => !tupleHasNull(v)));
      if (values.size === 0) continue;
      for (const columns of lists) {
        const expected = [...want].filter(([, row]) => {
          const key = linkKey(columns.map((c) => row[c] ?? null), columns.map((c) => types[table]![c]));
          return key !== null && values.has(key);
        });
        if (expected.length === 0) continue;
        const moveIn = moveInQuery(table, infos[table]!, columns, values, [record.shape.where]);
        let found: Set<string>;
        try {
          found = new Set((await db.query<Row>(moveIn.text, [...moveIn.values])).rows.map((r) => JSON.stringify([r.id])));
        } catch (error) {
          if (LIKE_ESCAPE_ERROR.test((error as Error).message)) continue;
          figures.prefilterFallbacks++; // the source reads again without the prefilter
          continue;
        }
        figures.moveIns++;
        const lost = expected.map(([k]) => k).filter((k) => !found.has(k));
        if (lost.length > 0) throw new Error(`${state}: the source's move-in query leaves out ${lost.join(', ')}: ${moveIn.text} ${JSON.stringify(moveIn.values)}`);
      }
    }
  }

  async function run(shapes: readonly string[], late: readonly string[], history: readonly Op[][]): Promise<void> {
    figures.histories++;
    await db.query(`TRUNCATE ${TABLES.map((t) => `public.${t.name}`).join(', ')}`);
    const runtime = await createShapeRuntime({ storage: new MemoryStorage(), columnTypes: types });
    const clauses = new Map<string, string>();
    const add = async (where: string): Promise<void> => {
      figures.clauses++;
      try {
        const added = await runtime.add({ table: 'public.items', where });
        clauses.set(added.handle, where);
        figures.accepted++;
      } catch (error) {
        if (!(error instanceof ShapeRuntimeError)) throw error;
        if (error.code === 'invalid-where') {
          figures.invalid++;
          if (await postgresAccepts(where)) throw new Error(`the runtime refused "${where}" as Postgres would (${error.message}), but Postgres accepts it`);
        } else if (['unsupported-where', 'subquery-shape', 'subquery-without-column'].includes(error.code)) figures.unsupported++;
        else throw error;
      }
    };
    const existing = new Map(TABLES.map((t) => [t.name, new Set<number>()]));
    let xid = 0;
    try {
      for (const where of shapes) await add(where);
      for (const [i, ops] of history.entries()) {
        const changes = await applyToPostgres(ops, existing);
        figures.transactions++;
        if (changes.length > 0) await runtime.applyTransaction({ xid: ++xid, changes });
        if (i === 0) for (const where of late) await add(where);
        await compare(runtime, clauses, `after transaction ${i + 1} of ${JSON.stringify(history)}`);
      }
    } finally {
      await runtime.shutdown();
    }
  }

  it.each(SEEDS)('seed %i: every accepted clause selects what Postgres selects, after every transaction', async (seed) => {
    console.log(`[where-differential] seed ${seed}, ${RUNS} runs (SHAPE_ACTORS_WHERE_SEEDS, SHAPE_ACTORS_WHERE_RUNS)`);
    await fc.assert(
      fc.asyncProperty(fc.array(clauseArb, { minLength: 1, maxLength: 5 }), fc.array(clauseArb, { maxLength: 2 }), historyArb, async (shapes, late, history) => {
        await run(shapes, late, history);
      }),
      { seed, numRuns: RUNS, interruptAfterTimeLimit: 600_000 },
    );
    expect(figures.comparisons).toBeGreaterThan(0);
  }, 900_000);
});
