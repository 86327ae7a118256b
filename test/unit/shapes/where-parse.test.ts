import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeDefinitionError } from '../../../src/shapes/errors.ts';
import type { ShapeDefinitionErrorCode } from '../../../src/shapes/errors.ts';
import type { WhereExpr } from '../../../src/shapes/where/ast.ts';
import { referencedColumns, referencedDependencies } from '../../../src/shapes/where/columns.ts';
import { parseWhere } from '../../../src/shapes/where/parse.ts';
import { printWhere } from '../../../src/shapes/where/print.ts';
import { loadSqlParser } from '../../../src/shapes/where/sql-parser.ts';

beforeAll(async () => {
  await loadSqlParser();
});

const col = (name: string): WhereExpr => ({ kind: 'column', name });
const num = (value: number): WhereExpr => ({ kind: 'const', value });

function errorOf(sql: string): ShapeDefinitionError {
  try {
    parseWhere(sql);
  } catch (e) {
    if (e instanceof ShapeDefinitionError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(sql)} to be rejected`);
}

function expectError(sql: string, code: ShapeDefinitionErrorCode, message: RegExp): ShapeDefinitionError {
  const e = errorOf(sql);
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
  expect(e.message.startsWith(`${code}: `)).toBe(true);
  return e;
}

describe('parseWhere: expressions', () => {
  it('parses comparisons, AND/OR/NOT with flattening', () => {
    expect(parseWhere('a = 1 AND (b <> 2 AND c != 3) OR NOT d').expr).toEqual({
      kind: 'or',
      args: [
        {
          kind: 'and',
          args: [
            { kind: 'compare', op: '=', left: col('a'), right: num(1) },
            { kind: 'compare', op: '<>', left: col('b'), right: num(2) },
            { kind: 'compare', op: '<>', left: col('c'), right: num(3) },
          ],
        },
        { kind: 'not', arg: col('d') },
      ],
    });
  });

  it.each([
    ['a < 1', '<'],
    ['a <= 1', '<='],
    ['a > 1', '>'],
    ['a >= 1', '>='],
    ['a = 1', '='],
    ['a <> 1', '<>'],
    ['a != 1', '<>'],
  ])('%s has operator %s', (sql, op) => {
    expect(parseWhere(sql).expr).toMatchObject({ kind: 'compare', op });
  });

  it('parses constants', () => {
    const rhs = (sql: string): WhereExpr => {
      const e = parseWhere(`a = ${sql}`).expr;
      if (e.kind !== 'compare') throw new Error('not a compare');
      return e.right;
    };
    expect(rhs('0')).toEqual({ kind: 'const', value: 0 });
    expect(rhs('-0')).toEqual({ kind: 'const', value: 0 });
    expect(rhs('-7')).toEqual({ kind: 'const', value: -7 });
    expect(rhs('1.5')).toEqual({ kind: 'const', value: 1.5 });
    expect(rhs('1.50')).toEqual({ kind: 'const', value: 1.5 });
    expect(rhs('.5')).toEqual({ kind: 'const', value: 0.5 });
    expect(rhs('0x1F')).toEqual({ kind: 'const', value: 31 });
    expect(rhs('1_000')).toEqual({ kind: 'const', value: 1000 });
    expect(rhs('2147483648')).toEqual({ kind: 'const', value: 2147483648 });
    expect(rhs('1e21')).toEqual({ kind: 'const', value: '1000000000000000000000.0', numeric: true }); // a numeric, not an integer
    expect(rhs('1000000000000000000000')).toEqual({ kind: 'const', value: '1000000000000000000000', numeric: true });
    expect(rhs('1.0')).toEqual({ kind: 'const', value: '1.0', numeric: true });
    expect(rhs('99999999999999999999')).toEqual({ kind: 'const', value: '99999999999999999999', numeric: true });
    expect(rhs('-99999999999999999999')).toEqual({ kind: 'const', value: '-99999999999999999999', numeric: true });
    expect(rhs('0xFFFFFFFFFFFFFFFFFF')).toEqual({ kind: 'const', value: '4722366482869645213695', numeric: true });
    expect(rhs('1e400')).toEqual({ kind: 'const', value: '1e400', numeric: true });
    expect(rhs('1e-400')).toEqual({ kind: 'const', value: '1e-400', numeric: true });
    expect(rhs("'it''s'")).toEqual({ kind: 'const', value: "it's" });
    expect(rhs("''")).toEqual({ kind: 'const', value: '' });
    expect(rhs("E'a\\nb'")).toEqual({ kind: 'const', value: 'a\nb' });
    expect(rhs('$$x$$')).toEqual({ kind: 'const', value: 'x' });
    expect(rhs('TRUE')).toEqual({ kind: 'const', value: true });
    expect(rhs('false')).toEqual({ kind: 'const', value: false });
    expect(rhs('NULL')).toEqual({ kind: 'const', value: null });
  });

  it('parses IN lists, IS [NOT] NULL, IS [NOT] TRUE/FALSE/UNKNOWN, BETWEEN, LIKE, DISTINCT', () => {
    expect(parseWhere('a IN (1, NULL)').expr).toEqual({
      kind: 'inList',
      expr: col('a'),
      list: [num(1), { kind: 'const', value: null }],
      negated: false,
    });
    expect(parseWhere('a NOT IN (1)').expr).toMatchObject({ kind: 'inList', negated: true });
    expect(parseWhere('a IS NULL').expr).toEqual({ kind: 'isNull', expr: col('a'), negated: false });
    expect(parseWhere('a IS NOT NULL').expr).toEqual({ kind: 'isNull', expr: col('a'), negated: true });
    expect(parseWhere('a IS NOT FALSE').expr).toEqual({ kind: 'isBool', expr: col('a'), test: 'false', negated: true });
    expect(parseWhere('a IS UNKNOWN').expr).toEqual({ kind: 'isBool', expr: col('a'), test: 'unknown', negated: false });
    expect(parseWhere('a NOT BETWEEN SYMMETRIC 1 AND 2').expr).toEqual({
      kind: 'between',
      expr: col('a'),
      low: num(1),
      high: num(2),
      negated: true,
      symmetric: true,
    });
    expect(parseWhere("a NOT ILIKE 'x%'").expr).toEqual({
      kind: 'like',
      expr: col('a'),
      pattern: { kind: 'const', value: 'x%' },
      negated: true,
      caseInsensitive: true,
    });
    expect(parseWhere('a IS NOT DISTINCT FROM b').expr).toEqual({
      kind: 'distinct',
      left: col('a'),
      right: col('b'),
      negated: true,
    });
  });

  it('case-folds unquoted identifiers and keeps quoted ones', () => {
    expect(parseWhere('ID = 1 AND "Name" = \'x\'').sql).toBe(`id = 1 AND "Name" = 'x'`);
  });
});

describe('parseWhere: canonical printing', () => {
  it.each([
    ['id=7', 'id = 7'],
    ['ID = 7', 'id = 7'],
    ['a = 1 and b = 2 or c = 3', '(a = 1 AND b = 2) OR c = 3'],
    ['a = 1 and (b = 2 or c = 3)', 'a = 1 AND (b = 2 OR c = 3)'],
    ['(a = 1 and b = 2) and c = 3', 'a = 1 AND b = 2 AND c = 3'],
    ['a = 1 and (b = 2 and c = 3)', 'a = 1 AND b = 2 AND c = 3'],
    ['not a = 1', 'NOT (a = 1)'],
    ['not not a', 'NOT (NOT a)'],
    ["name = 'O''Brien'", "name = 'O''Brien'"],
    ['"select" = 1', '"select" = 1'],
    ['"userId" = 1', '"userId" = 1'],
    ['a in (1,2, 3)', 'a IN (1, 2, 3)'],
    ['a is not null', 'a IS NOT NULL'],
    ['(a = 1) is true', '(a = 1) IS TRUE'],
    ['a between -1 and 2', 'a BETWEEN -1 AND 2'],
    ["a like 'x\\%'", "a LIKE 'x\\%'"],
    ['a = 1.0', 'a = 1.0'],
    ['a = 1e3', 'a = 1000.0'],
    ['a = 1e21', 'a = 1000000000000000000000.0'],
    ['a = 0.0000001', 'a = 1e-7'],
    ['a IS DISTINCT FROM NULL', 'a IS DISTINCT FROM NULL'],
    ['a = true', 'a = TRUE'],
    ['x IN (SELECT y FROM z)', 'x IN (SELECT y FROM public.z)'],
    ['NOT x IN (SELECT y FROM z)', 'x NOT IN (SELECT y FROM public.z)'],
    ['x = ANY (SELECT y FROM z)', 'x IN (SELECT y FROM public.z)'],
  ])('%s -> %s', (input, canonical) => {
    const { sql } = parseWhere(input);
    expect(sql).toBe(canonical);
    // printing is idempotent and round-trips
    expect(parseWhere(sql).sql).toBe(canonical);
    expect(parseWhere(sql).expr).toEqual(parseWhere(input).expr);
  });

  it('printWhere refuses sublinks to unknown dependencies', () => {
    expect(() => printWhere({ kind: 'sublink', test: [{ kind: 'column', name: 'a' }], dependency: 0 }, [])).toThrow(
      /dependency 0/,
    );
  });
});

describe('parseWhere: subqueries', () => {
  it('turns IN (SELECT ...) into a dependency definition', () => {
    const r = parseWhere('id IN (SELECT user_id FROM public.memberships WHERE org_id = 7)');
    expect(r.expr).toEqual({ kind: 'sublink', test: [col('id')], dependency: 0 });
    expect(r.dependencies).toEqual([
      { table: 'public.memberships', where: 'org_id = 7', columns: ['user_id'], replica: 'default' },
    ]);
    expect(r.sql).toBe('id IN (SELECT user_id FROM public.memberships WHERE org_id = 7)');
  });

  it('normalizes the subquery table, columns and where', () => {
    const r = parseWhere('id IN (SELECT User_ID FROM Memberships WHERE Org_ID=7)');
    expect(r.dependencies).toEqual([
      { table: 'public.memberships', where: 'org_id = 7', columns: ['user_id'], replica: 'default' },
    ]);
  });

  it('a subquery without WHERE has no where', () => {
    const r = parseWhere('id IN (SELECT user_id FROM memberships)');
    expect(r.dependencies).toEqual([{ table: 'public.memberships', columns: ['user_id'], replica: 'default' }]);
    expect('where' in r.dependencies[0]!).toBe(false);
  });

  it('NOT IN is not over a sublink', () => {
    const r = parseWhere('id NOT IN (SELECT user_id FROM memberships)');
    expect(r.expr).toEqual({ kind: 'not', arg: { kind: 'sublink', test: [col('id')], dependency: 0 } });
    expect(r.sql).toBe('id NOT IN (SELECT user_id FROM public.memberships)');
  });

  it('(a, b) IN (SELECT x, y ...) tests a row of columns', () => {
    const r = parseWhere('(a, B) IN (SELECT x, "Y" FROM s WHERE z > 0)');
    expect(r.expr).toEqual({ kind: 'sublink', test: [col('a'), col('b')], dependency: 0 });
    expect(r.dependencies).toEqual([{ table: 'public.s', where: 'z > 0', columns: ['x', '"Y"'], replica: 'default' }]);
    expect(r.sql).toBe('(a, b) IN (SELECT x, "Y" FROM public.s WHERE z > 0)');
  });

  it('nested three levels: only direct dependencies are listed, inner where keeps its subquery', () => {
    const r = parseWhere(
      'id IN (SELECT user_id FROM memberships WHERE org_id IN (SELECT id FROM orgs WHERE region_id IN (SELECT id FROM regions WHERE name = \'eu\')))',
    );
    expect(r.dependencies).toEqual([
      {
        table: 'public.memberships',
        where: "org_id IN (SELECT id FROM public.orgs WHERE region_id IN (SELECT id FROM public.regions WHERE name = 'eu'))",
        columns: ['user_id'],
        replica: 'default',
      },
    ]);
    const inner = parseWhere(r.dependencies[0]!.where!);
    expect(inner.dependencies).toEqual([
      {
        table: 'public.orgs',
        where: "region_id IN (SELECT id FROM public.regions WHERE name = 'eu')",
        columns: ['id'],
        replica: 'default',
      },
    ]);
    const innermost = parseWhere(inner.dependencies[0]!.where!);
    expect(innermost.dependencies).toEqual([
      { table: 'public.regions', where: "name = 'eu'", columns: ['id'], replica: 'default' },
    ]);
    expect(parseWhere(innermost.dependencies[0]!.where!).dependencies).toEqual([]);
  });

  it('two identical subqueries share one dependency (even spelled differently)', () => {
    const r = parseWhere(
      'a IN (SELECT x FROM s WHERE k = 1) OR b NOT IN (SELECT X FROM public.S WHERE k=1)',
    );
    expect(r.dependencies).toHaveLength(1);
    expect(r.expr).toEqual({
      kind: 'or',
      args: [
        { kind: 'sublink', test: [col('a')], dependency: 0 },
        { kind: 'not', arg: { kind: 'sublink', test: [col('b')], dependency: 0 } },
      ],
    });
  });

  it('two different subqueries give two dependencies in order of appearance', () => {
    const r = parseWhere('b IN (SELECT y FROM t2) AND a IN (SELECT x FROM t1) AND c IN (SELECT y FROM t2)');
    expect(r.dependencies.map((d) => d.table)).toEqual(['public.t2', 'public.t1']);
    expect(r.expr).toEqual({
      kind: 'and',
      args: [
        { kind: 'sublink', test: [col('b')], dependency: 0 },
        { kind: 'sublink', test: [col('a')], dependency: 1 },
        { kind: 'sublink', test: [col('c')], dependency: 0 },
      ],
    });
  });

  it('subqueries differing only in a literal are different dependencies', () => {
    const r = parseWhere('a IN (SELECT x FROM s WHERE k = 1) OR a IN (SELECT x FROM s WHERE k = 2)');
    expect(r.dependencies.map((d) => d.where)).toEqual(['k = 1', 'k = 2']);
  });

  it.each<[string, ShapeDefinitionErrorCode, RegExp]>([
    ['id IN (SELECT FROM x)', 'subquery-without-column', /selects no column/],
    ['id IN (SELECT * FROM x)', 'subquery-without-column', /selects \*/],
    ['id IN (SELECT 1 FROM x)', 'subquery-without-column', /selects an expression \(A_Const\)/],
    ['id IN (SELECT a + 1 FROM x)', 'subquery-without-column', /selects an expression \(A_Expr\)/],
    ['id IN (SELECT 1)', 'unsupported-where', /without FROM/],
    ['id IN (SELECT a FROM x, y)', 'unsupported-where', /several tables/],
    ['id IN (SELECT a FROM x JOIN y ON true)', 'unsupported-where', /JOIN/],
    ['id IN (SELECT a FROM (SELECT a FROM x) s)', 'unsupported-where', /RangeSubselect/],
    ['id IN (SELECT a FROM x GROUP BY a)', 'unsupported-where', /GROUP BY in a subquery/],
    ['id IN (SELECT a FROM x LIMIT 1)', 'unsupported-where', /LIMIT in a subquery/],
    ['id IN (SELECT a FROM x ORDER BY a)', 'unsupported-where', /ORDER BY in a subquery/],
    ['id IN (SELECT DISTINCT a FROM x)', 'unsupported-where', /DISTINCT in a subquery/],
    ['id IN (SELECT a FROM x HAVING true)', 'unsupported-where', /HAVING in a subquery/],
    ['id IN (SELECT a FROM x UNION SELECT b FROM y)', 'unsupported-where', /UNION/],
    ['id IN (WITH c AS (SELECT 1) SELECT a FROM x)', 'unsupported-where', /WITH in a subquery/],
    ['id IN (SELECT a AS b FROM x)', 'unsupported-where', /column alias/],
    ['id IN (SELECT m.a FROM x m)', 'unsupported-where', /alias/],
    ['id IN (SELECT x.a FROM x)', 'unsupported-where', /qualified column reference x\.a/],
    ['id IN (SELECT a FROM ONLY x)', 'unsupported-where', /ONLY/],
    ['id IN (SELECT a FROM db.s.x)', 'subquery-shape', /catalog-qualified/],
    ['id IN (SELECT a, a FROM x)', 'subquery-shape', /selects column a twice/],
    ['id IN (SELECT a, b FROM x)', 'subquery-shape', /selects 2 columns but 1 is tested/],
    ['(id, k) IN (SELECT a FROM x)', 'subquery-shape', /selects 1 column but 2 are tested/],
    ['EXISTS (SELECT a FROM x)', 'unsupported-where', /EXISTS/],
    ['id = (SELECT a FROM x)', 'unsupported-where', /scalar subquery/],
    ['id <> ALL (SELECT a FROM x)', 'unsupported-where', /ALL \(subquery\)/],
    ['id > ANY (SELECT a FROM x)', 'unsupported-where', /> ANY \(subquery\)/],
    ['id + 1 IN (SELECT a FROM x)', 'unsupported-where', /A_Expr on the left of IN/],
    ['1 IN (SELECT a FROM x)', 'unsupported-where', /A_Const on the left of IN/],
    ['id IN (SELECT a FROM x WHERE b = now())', 'unsupported-where', /function call now/],
    ['id IN (SELECT a FROM x WHERE b IN (SELECT c FROM y LIMIT 1))', 'unsupported-where', /LIMIT in a subquery/],
  ])('rejects %s (%s)', (sql, code, message) => {
    const e = expectError(sql, code, message);
    expect(e.message).toContain(`in "${sql}"`);
  });
});

describe('parseWhere: rejections', () => {
  it('reports syntax errors with position and the offending token', () => {
    const e = expectError('id = 1 1', 'invalid-where', /^invalid-where: syntax error at or near "1" \(position 8\) in "id = 1 1"$/);
    expect(e.detail).toBe('1');
    expectError('id IN (SELECT a FROM)', 'invalid-where', /syntax error at or near "\)" \(position 21\)/);
    expectError("a = 'x", 'invalid-where', /unterminated quoted string.*\(position 5\)/);
    expectError('a IN ()', 'invalid-where', /syntax error at or near "\)" \(position 7\)/);
    // positions count characters, not bytes
    expectError('éé = 1 1', 'invalid-where', /\(position 8\)/);
  });

  it.each([
    ['id = 1; DROP TABLE users', /contains ";" followed by another statement/],
    ['id = 1;', /contains ";"/],
    ['true; SELECT 1', /contains ";"/],
    ['id = 1 ORDER BY 1', /followed by ORDER BY/],
    ['id = 1 LIMIT 1', /followed by LIMIT/],
    ['id = 1 GROUP BY id', /followed by GROUP BY/],
    ['id = 1 HAVING true', /followed by HAVING/],
    ['id = 1 UNION SELECT 1 FROM t', /followed by UNION/],
    ['id = 1 FOR UPDATE', /followed by FOR UPDATE/],
    ['id = 1 WINDOW w AS ()', /followed by WINDOW/],
  ])('rejects statement smuggling: %s', (sql, message) => {
    expectError(sql, 'invalid-where', message);
  });

  it('rejects the closing-paren trick and comment tricks as syntax errors', () => {
    expectError('id = 1) OR (1 = 1', 'invalid-where', /syntax error at or near "\)"/);
    expectError('id = 1 /*', 'invalid-where', /unterminated \/\* comment/);
    expectError('', 'invalid-where', /empty/);
    expectError('   ', 'invalid-where', /empty/);
  });

  it('rejects non-boolean constants in boolean positions', () => {
    expectError('1', 'invalid-where', /argument of WHERE must be a boolean, not a number/);
    expectError('a AND 2', 'invalid-where', /argument of AND must be a boolean/);
    expectError("'t'", 'unsupported-where', /string literal as the argument of WHERE/);
  });

  it.each<[string, RegExp]>([
    ["id = '7'::int", /type cast \(TypeCast\)/],
    ['id = CAST(7 AS int)', /type cast \(TypeCast\)/],
    ['lower(name) = 1', /function call lower/],
    ['id + 1 = 2', /operator \+/],
    ['id = -a', /prefix operator -/],
    ['id = +1', /prefix operator \+/],
    ['t.id = 1', /qualified column reference t\.id/],
    ['id = $1', /parameter/],
    ['id = ANY(ARRAY[1])', /ANY \(array\)/],
    ['(a, b) = (1, 2)', /RowExpr/],
    ['CASE WHEN a THEN true END', /CaseExpr/],
    ["a LIKE 'x' ESCAPE '!'", /function call pg_catalog.like_escape/],
    ["a SIMILAR TO 'x'", /SIMILAR TO/],
    ['NULLIF(a, 1) IS NULL', /NULLIF/],
    ["a = B'101'", /bit-string/],
    ['COALESCE(a, b)', /CoalesceExpr/],
    ['a = CURRENT_DATE', /SQLValueFunction/],
    ["a = 'x' COLLATE \"C\"", /CollateClause/],
  ])('unsupported: %s', (sql, message) => {
    expectError(sql, 'unsupported-where', message);
  });

  it('names the offending fragment in detail', () => {
    expect(errorOf("id = '7'::int").detail).toBe('::int');
    expect(errorOf('lower(name) = 1').detail).toBe('lower(name) = 1');
  });
});

describe('referencedColumns', () => {
  it('lists own-table columns once, in order; subqueries contribute only their test columns', () => {
    const { expr } = parseWhere(
      "b = 1 AND (a, c) IN (SELECT x, y FROM s WHERE z = 1) AND b IS NULL AND d NOT IN (SELECT w FROM r) AND e LIKE 'q'",
    );
    expect(referencedColumns(expr)).toEqual(['b', 'a', 'c', 'd', 'e']);
    expect(referencedDependencies(expr)).toEqual([0, 1]);
  });

  it('keeps quoted names raw', () => {
    expect(referencedColumns(parseWhere('"userId" = 1 AND "X" BETWEEN y AND z').expr)).toEqual(['userId', 'X', 'y', 'z']);
  });
});
