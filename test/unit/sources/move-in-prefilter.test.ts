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
import { SqlParams, whereToSql } from '../../../src/sources/postgres/sql.ts';

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
});
