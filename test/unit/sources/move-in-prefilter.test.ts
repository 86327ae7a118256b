/**
 * The move-in prefilter (sql.ts, sublinks 'unknown'): `(<where>) IS NOT FALSE` with every
 * subquery as NULL must keep every row that could qualify for some value of the subqueries. Tests
 * that settle UNKNOWN (IS [NOT] TRUE/FALSE/UNKNOWN, IS [NOT] NULL, IS [NOT] DISTINCT FROM) are
 * not monotone: `(x NOT IN (SELECT ...)) IS FALSE` is FALSE with the subquery NULL and TRUE when it
 * holds x, so such a test over a subquery is unknown as a whole (the differential test against
 * Postgres found the move-in that went missing).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizeShape } from '../../../src/shapes/definition.ts';
import { loadSqlParser } from '../../../src/shapes/where/sql-parser.ts';
import type { TableInfo } from '../../../src/sources/postgres/catalog.ts';
import { MAX_MOVE_IN_PREFILTERS, moveInQuery } from '../../../src/sources/postgres/read-queries.ts';
import { SqlParams, whereToSql } from '../../../src/sources/postgres/sql.ts';
import type { WhereExpr } from '../../../src/shapes/where/ast.ts';
import { linkKey } from '../../../src/shapes/where/link-key.ts';

const prefilter = (where: string): string => whereToSql(normalizeShape({ table: 'items', where }).where!, { params: new SqlParams(), sublinks: 'unknown' });

describe('move-in prefilter', () => {
  beforeAll(() => loadSqlParser());

  it.each([
    ['(a NOT IN (SELECT x FROM other)) IS FALSE', 'NULL::boolean'],
    ['(a IN (SELECT x FROM other)) IS NOT TRUE', 'NULL::boolean'],
    ['(a IN (SELECT x FROM other)) IS UNKNOWN', 'NULL::boolean'],
    ['(a IN (SELECT x FROM other) OR b = 1) IS NULL', 'NULL::boolean'],
    ['(a IN (SELECT x FROM other)) IS DISTINCT FROM TRUE', 'NULL::boolean'],
    ['NOT ((a IN (SELECT x FROM other)) IS TRUE) AND b = 1', '(NOT (NULL::boolean)) AND ("b" = $1::numeric)'],
  ])('a test that settles UNKNOWN over a subquery is unknown: %s', (where, sql) => {
    expect(prefilter(where)).toBe(sql);
  });

  it('such tests without a subquery, and monotone ones over a subquery, keep their form', () => {
    expect(prefilter('b IS NOT FALSE AND c IS NULL')).toBe('("b" IS NOT FALSE) AND ("c" IS NULL)');
    expect(prefilter('NOT (a IN (SELECT x FROM other)) OR b = 1')).toBe('(NOT (NULL::boolean)) OR ("b" = $1::numeric)');
  });

  describe('the move-in query', () => {
    const info = { table: 'public.items', columnTypes: { a: 'integer', b: 'integer' } } as unknown as TableInfo;
    const where = (text: string) => normalizeShape({ table: 'items', where: text }).where!;
    const one = linkKey([1], [{ type: 'int4' }])!;
    const narrowing = (k: number) => where(`a IN (SELECT x FROM other) AND b = ${k}`);
    /** The clauses, counting how many moveInQuery reads. */
    function* counted(clauses: readonly WhereExpr[], read: { n: number }): Generator<WhereExpr> {
      for (const clause of clauses) {
        read.n++;
        yield clause;
      }
    }

    it("is narrowed by the linked shapes' clauses, and not by a shape linking through other columns", () => {
      const sql = moveInQuery('public.items', info, ['a'], [one], [narrowing(1), narrowing(2), where('b IN (SELECT x FROM other)')]);
      expect(sql.text).toBe('SELECT * FROM public.items WHERE "a" = ANY($1::integer[]) AND (((NULL::boolean) AND ("b" = $2::int8)) IS NOT FALSE OR ((NULL::boolean) AND ("b" = $3::int8)) IS NOT FALSE)');
      expect(sql.values).toEqual([['1'], '1', '2']);
    });

    it('is the link test alone once a linked shape is the subquery alone, or more shapes link than it lists: it reads the clauses no further', () => {
      const read = { n: 0 };
      const lone = moveInQuery('public.items', info, ['a'], [one], counted([narrowing(1), where('a IN (SELECT x FROM other)'), narrowing(2), narrowing(3)], read));
      expect(lone).toEqual({ text: 'SELECT * FROM public.items WHERE "a" = ANY($1::integer[])', values: [['1']] });
      expect(read.n).toBe(2);
      const many = { n: 0 };
      const wide = moveInQuery('public.items', info, ['a'], [one], counted(Array.from({ length: 10_000 }, (_, k) => narrowing(k)), many));
      expect(wide).toEqual({ text: 'SELECT * FROM public.items WHERE "a" = ANY($1::integer[])', values: [['1']] });
      expect(many.n).toBe(MAX_MOVE_IN_PREFILTERS + 1);
    });
  });
});
