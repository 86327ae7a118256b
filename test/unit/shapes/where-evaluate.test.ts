import { beforeAll, describe, expect, it } from 'vitest';
import type { WhereExpr } from '../../../src/shapes/where/ast.ts';
import { evaluateTruth, evaluateWhere } from '../../../src/shapes/where/evaluate.ts';
import type { LinkValues, Row, Truth } from '../../../src/shapes/where/evaluate.ts';
import { linkElements, linkKey, tupleKey } from '../../../src/shapes/where/link-key.ts';
import { linkSetOf } from '../../../src/shapes/where/link-set.ts';
import { compareValues } from '../../../src/shapes/where/sql-values.ts';
import { parseWhere } from '../../../src/shapes/where/parse.ts';
import { loadSqlParser } from '../../../src/shapes/where/sql-parser.ts';

beforeAll(async () => {
  await loadSqlParser();
});

const noLinks: LinkValues = (dep) => {
  throw new Error(`unexpected dependency lookup ${dep}`);
};

function truthOf(sql: string, row: Row = {}, links: LinkValues = noLinks): Truth {
  return evaluateTruth(parseWhere(sql).expr, row, links);
}

/** Three-valued constants as SQL literals. */
const lit = (t: Truth): string => (t === null ? 'NULL' : t ? 'TRUE' : 'FALSE');
const T: readonly Truth[] = [true, false, null];

describe('three-valued logic', () => {
  // Expected truth tables, written out rather than computed.
  const AND: Record<string, Truth> = {
    'TRUE,TRUE': true, 'TRUE,FALSE': false, 'TRUE,NULL': null,
    'FALSE,TRUE': false, 'FALSE,FALSE': false, 'FALSE,NULL': false,
    'NULL,TRUE': null, 'NULL,FALSE': false, 'NULL,NULL': null,
  };
  const OR: Record<string, Truth> = {
    'TRUE,TRUE': true, 'TRUE,FALSE': true, 'TRUE,NULL': true,
    'FALSE,TRUE': true, 'FALSE,FALSE': false, 'FALSE,NULL': null,
    'NULL,TRUE': true, 'NULL,FALSE': null, 'NULL,NULL': null,
  };

  for (const a of T) {
    for (const b of T) {
      const key = `${lit(a)},${lit(b)}`;
      it(`${lit(a)} AND ${lit(b)} is ${lit(AND[key]!)}`, () => {
        // through columns (row values) and through literals
        expect(truthOf('x AND y', { x: a, y: b })).toBe(AND[key]);
        expect(truthOf(`${lit(a)} AND ${lit(b)}`)).toBe(AND[key]);
      });
      it(`${lit(a)} OR ${lit(b)} is ${lit(OR[key]!)}`, () => {
        expect(truthOf('x OR y', { x: a, y: b })).toBe(OR[key]);
        expect(truthOf(`${lit(a)} OR ${lit(b)}`)).toBe(OR[key]);
      });
    }
  }

  it('NOT', () => {
    expect(truthOf('NOT x', { x: true })).toBe(false);
    expect(truthOf('NOT x', { x: false })).toBe(true);
    expect(truthOf('NOT x', { x: null })).toBe(null);
    expect(truthOf('NOT x', {})).toBe(null); // missing column is NULL
  });

  it('AND/OR with many args', () => {
    expect(truthOf('a AND b AND c', { a: true, b: null, c: false })).toBe(false);
    expect(truthOf('a AND b AND c', { a: true, b: null, c: true })).toBe(null);
    expect(truthOf('a OR b OR c', { a: false, b: null, c: true })).toBe(true);
    expect(truthOf('a OR b OR c', { a: false, b: null, c: false })).toBe(null);
  });

  it('a row qualifies only when TRUE', () => {
    const { expr } = parseWhere('x');
    expect(evaluateWhere(expr, { x: true }, noLinks)).toBe(true);
    expect(evaluateWhere(expr, { x: false }, noLinks)).toBe(false);
    expect(evaluateWhere(expr, { x: null }, noLinks)).toBe(false);
    expect(evaluateWhere(parseWhere('NOT x').expr, { x: null }, noLinks)).toBe(false);
  });

  it('non-boolean values in boolean positions are UNKNOWN', () => {
    expect(truthOf('x', { x: 1 })).toBe(null);
    expect(truthOf('x', { x: 'true' })).toBe(null);
    expect(truthOf('NOT x', { x: 0 })).toBe(null);
  });
});

describe('comparisons', () => {
  it.each<[string, Row, Truth]>([
    ['a = 1', { a: 1 }, true],
    ['a = 1', { a: 2 }, false],
    ['a = 1', { a: null }, null],
    ['a = 1', {}, null],
    ['a <> 1', { a: null }, null],
    ['a = NULL', { a: null }, null],
    ['NULL = NULL', {}, null],
    ['a < 2', { a: 1 }, true],
    ['a <= 1', { a: 1 }, true],
    ['a > 1', { a: 1 }, false],
    ['a >= 1', { a: 1 }, true],
    ['a <> 1', { a: 1 }, false],
    ['a = b', { a: 3, b: 3 }, true],
    ['a < b', { a: 'abc', b: 'abd' }, true],
    // without declared types a value is of its JSON type: a string is text, and text = integer has no operator
    ['a = 7', { a: '7' }, null],
    ['a < 10', { a: '9' }, null],
    // a quoted literal takes the other side's type, read as Postgres reads it
    ["a = '7'", { a: 7 }, true],
    ["a = ' 7 '", { a: 7 }, true],
    ["a = '7.5'", { a: 7.5 }, true],
    ["a > '10'", { a: 9 }, false],
    // string vs string: by code point, never numerically
    ["a < '9'", { a: '10' }, true],
    ["a = '7'", { a: '7.0' }, false],
    // big numeric literals compare exactly
    // a JSON number is a double (float8): the literal is rounded to one to compare
    ['a = 99999999999999999999', { a: 1e20 }, true],
    ['a < 99999999999999999999', { a: 1e20 }, false],
    ['a = 0.1000000000000000000001', { a: 0.1 }, true],
    ['a = 0.1', { a: 0.1 }, true],
    // booleans
    ['a = TRUE', { a: true }, true],
    ['a > FALSE', { a: true }, true],
    ["a = 'yes'", { a: true }, true],
    ["a = 'f'", { a: false }, true],
    // type mismatches are UNKNOWN
    ["a = 'x'", { a: 1 }, null],
    ['a = 1', { a: true }, null],
    ['a = 1', { a: 'x' }, null],
    ["a = 'maybe'", { a: true }, null],
    ['a = 1', { a: { n: 1 } }, null],
  ])('%s on %j is %s', (sql, row, expected) => {
    expect(truthOf(sql, row)).toBe(expected);
  });

  it('compares strings by code point, not UTF-16 code unit', () => {
    // U+FF61 (BMP, above the surrogate range) < U+1F600 (astral) by code point,
    // but '\uFF61' > '\uD83D\uDE00' by UTF-16 code units.
    expect('\uFF61' < '😀').toBe(false);
    expect(truthOf("a < '😀'", { a: '\uFF61' })).toBe(true);
    expect(compareValues('😀', '\uFF61')).toBe(1);
    expect(compareValues('ab', 'abc')).toBe(-1);
    expect(compareValues('é', 'é')).toBe(0);
  });
});

describe('IN lists', () => {
  it.each<[string, Row, Truth]>([
    ['a IN (1, 2)', { a: 1 }, true],
    ['a IN (1, 2)', { a: 3 }, false],
    ['a IN (1, 2)', { a: null }, null],
    ['a IN (1, NULL)', { a: 1 }, true],
    ['a IN (1, NULL)', { a: 3 }, null],
    ['a NOT IN (1, 2)', { a: 3 }, true],
    ['a NOT IN (1, 2)', { a: 1 }, false],
    ['a NOT IN (1, 2)', { a: null }, null],
    ['a NOT IN (1, NULL)', { a: 3 }, null], // unknown unless a is in the list
    ['a NOT IN (1, NULL)', { a: 1 }, false],
    ["a IN ('x', 'y')", { a: 'y' }, true],
    ['a IN (b, c)', { a: 5, b: 4, c: 5 }, true],
    ['a IN (b, c)', { a: 5, b: 4, c: '5' }, null],
  ])('%s on %j is %s', (sql, row, expected) => {
    expect(truthOf(sql, row)).toBe(expected);
  });
});

describe('IS NULL / IS TRUE / IS DISTINCT FROM / BETWEEN / LIKE', () => {
  it.each<[string, Row, Truth]>([
    ['a IS NULL', { a: null }, true],
    ['a IS NULL', {}, true],
    ['a IS NULL', { a: 0 }, false],
    ['a IS NOT NULL', { a: null }, false],
    ['a IS NOT NULL', { a: '' }, true],
    ['(a = 1) IS NULL', { a: null }, true],
    ['a IS TRUE', { a: true }, true],
    ['a IS TRUE', { a: null }, false],
    ['a IS NOT TRUE', { a: null }, true],
    ['a IS FALSE', { a: false }, true],
    ['a IS NOT FALSE', { a: null }, true],
    ['a IS UNKNOWN', { a: null }, true],
    ['a IS NOT UNKNOWN', { a: false }, true],
    ['(a > 1) IS NOT TRUE', { a: null }, true],
    ['a IS DISTINCT FROM b', { a: null, b: null }, false],
    ['a IS DISTINCT FROM b', { a: 1, b: null }, true],
    ['a IS DISTINCT FROM b', { a: 1, b: 1.0 }, false],
    ['a IS DISTINCT FROM b', { a: 1, b: '1' }, true], // no = between them: distinct
    ['a IS NOT DISTINCT FROM b', { a: null, b: null }, true],
    ['a IS NOT DISTINCT FROM b', { a: 2, b: 1 }, false],
    ['a BETWEEN 1 AND 3', { a: 1 }, true],
    ['a BETWEEN 1 AND 3', { a: 3 }, true],
    ['a BETWEEN 1 AND 3', { a: 4 }, false],
    ['a BETWEEN 3 AND 1', { a: 2 }, false],
    ['a BETWEEN SYMMETRIC 3 AND 1', { a: 2 }, true],
    ['a NOT BETWEEN SYMMETRIC 3 AND 1', { a: 2 }, false],
    ['a BETWEEN 1 AND NULL', { a: 0 }, false],
    ['a BETWEEN 1 AND NULL', { a: 2 }, null],
    ['a NOT BETWEEN 1 AND 3', { a: null }, null],
    ["a LIKE 'ab%'", { a: 'abc' }, true],
    ["a LIKE 'ab%'", { a: 'xabc' }, false],
    ["a LIKE 'a_c'", { a: 'abc' }, true],
    ["a LIKE 'a_c'", { a: 'a😀c' }, true], // _ is one character
    ["a LIKE 'a_c'", { a: 'ac' }, false],
    ["a LIKE 'a\\%'", { a: 'a%' }, true],
    ["a LIKE 'a\\%'", { a: 'ab' }, false],
    ["a LIKE '%.%'", { a: 'x.y' }, true],
    ["a LIKE '%.%'", { a: 'xy' }, false],
    ["a LIKE 'a%'", { a: 'a\nb' }, true],
    ["a LIKE 'ABC'", { a: 'abc' }, false],
    ["a ILIKE 'ABC'", { a: 'abc' }, true],
    ["a NOT LIKE 'a%'", { a: 'b' }, true],
    ["a LIKE 'a%'", { a: null }, null],
    ["a LIKE 'a%'", { a: 12 }, null],
    // a pattern ending in the escape character: an error in Postgres only where matching reaches it
    ["a LIKE 'a\\'", { a: 'a' }, false],
    ["a LIKE 'a\\'", { a: 'b' }, false],
    ["a LIKE 'a\\'", { a: 'ab' }, null],
    ["a LIKE '%\\'", { a: '' }, false],
    ["a LIKE '%\\'", { a: 'x' }, null],
    // ILIKE folds ASCII letters only (the C collation)
    ["a ILIKE 'É%'", { a: 'é' }, false],
    ["a ILIKE 'é%'", { a: 'éa' }, true],
    ["a ILIKE '\\A%'", { a: 'ab' }, true],
  ])('%s on %j is %s', (sql, row, expected) => {
    expect(truthOf(sql, row)).toBe(expected);
  });
});

describe('sublinks', () => {
  const where = 'id IN (SELECT user_id FROM memberships WHERE org_id = 7)';

  it('looks the test value up in the dependency value set', () => {
    const calls: number[] = [];
    const links: LinkValues = (dep) => {
      calls.push(dep);
      return linkSetOf([linkKey([1])!, linkKey([2])!]);
    };
    expect(truthOf(where, { id: 1 }, links)).toBe(true);
    expect(truthOf(where, { id: '2' }, links)).toBe(false); // text '2' is not the number 2
    expect(truthOf(where, { id: 3 }, links)).toBe(false);
    expect(calls).toEqual([0, 0, 0]);
  });

  it('NOT IN and NULL test values', () => {
    const links: LinkValues = () => linkSetOf([linkKey([1])!]);
    const notIn = 'id NOT IN (SELECT user_id FROM memberships)';
    expect(truthOf(notIn, { id: 1 }, links)).toBe(false);
    expect(truthOf(notIn, { id: 2 }, links)).toBe(true);
    expect(truthOf(notIn, { id: null }, links)).toBe(null);
    expect(truthOf(notIn, {}, links)).toBe(null);
    expect(truthOf(where, { id: null }, links)).toBe(null);
    // NULL against an empty subquery: IN is FALSE, NOT IN TRUE
    expect(truthOf(notIn, { id: null }, () => linkSetOf([]))).toBe(true);
    expect(truthOf(where, { id: null }, () => linkSetOf([]))).toBe(false);
  });

  it('a NULL selected by the subquery makes IN UNKNOWN, never FALSE, and NOT IN never TRUE', () => {
    const withNull: LinkValues = () => linkSetOf([linkKey([1])!, tupleKey(linkElements([null]))]);
    const notIn = 'id NOT IN (SELECT user_id FROM memberships)';
    expect(truthOf(where, { id: 1 }, withNull)).toBe(true);
    expect(truthOf(where, { id: 2 }, withNull)).toBe(null);
    expect(truthOf(notIn, { id: 2 }, withNull)).toBe(null);
    expect(truthOf(notIn, { id: 1 }, withNull)).toBe(false);
    expect(truthOf(`(${where}) IS FALSE`, { id: 2 }, withNull)).toBe(false);
    expect(truthOf(`(${where}) IS UNKNOWN`, { id: 2 }, withNull)).toBe(true);
  });

  it('row comparisons use the tuple key', () => {
    const links: LinkValues = () => linkSetOf([linkKey([1, 'a'])!]);
    const sql = '(a, b) IN (SELECT x, y FROM s)';
    expect(truthOf(sql, { a: 1, b: 'a' }, links)).toBe(true);
    expect(truthOf(sql, { a: 1, b: 'b' }, links)).toBe(false);
    expect(truthOf(sql, { a: 'a', b: 1 }, links)).toBe(false);
    expect(truthOf(sql, { a: 1, b: null }, links)).toBe(null); // (1, NULL) could be (1, 'a')
    expect(truthOf(sql, { a: 2, b: null }, links)).toBe(false); // 2 <> 1 whatever the NULL is
    const partial: LinkValues = () => linkSetOf([tupleKey(linkElements([1, null]))]);
    expect(truthOf(sql, { a: 1, b: 'z' }, partial)).toBe(null);
    expect(truthOf(sql, { a: 3, b: 'z' }, partial)).toBe(false);
    expect(truthOf(`NOT ${sql}`, { a: 3, b: 'z' }, partial)).toBe(true);
  });

  it('routes each sublink to its own dependency', () => {
    const sets = { 0: linkSetOf([linkKey([1])!]), 1: linkSetOf([linkKey([2])!]) } as const;
    const links: LinkValues = (dep) => sets[dep as 0 | 1];
    const sql = 'a IN (SELECT x FROM s) AND b IN (SELECT y FROM t)';
    expect(truthOf(sql, { a: 1, b: 2 }, links)).toBe(true);
    expect(truthOf(sql, { a: 2, b: 1 }, links)).toBe(false);
    expect(truthOf('a IN (SELECT x FROM s) OR NOT b IN (SELECT y FROM t)', { a: 5, b: 5 }, links)).toBe(true);
  });

  it('evaluates hand-built trees too', () => {
    const expr: WhereExpr = {
      kind: 'not',
      arg: { kind: 'sublink', test: [{ kind: 'column', name: 'k' }], dependency: 3 },
    };
    expect(evaluateWhere(expr, { k: 'z' }, (d) => linkSetOf(d === 3 ? [linkKey(['z'])!] : []))).toBe(false);
    expect(evaluateWhere(expr, { k: 'y' }, (d) => linkSetOf(d === 3 ? [linkKey(['z'])!] : []))).toBe(true);
  });
});
