/**
 * The metadata log (version 2) stores parsed where clauses packed as arrays (packWhere): on random
 * clauses of the supported grammar, parsed by the real parser, a clause packed, written as JSON and
 * read back unpacks to the parser's own expression, with its fields in the parser's order (one
 * hidden class per node kind for the evaluator); every node kind is drawn; and a stored value
 * that is not a packed clause is refused with a named PackedWhereError, never half-read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { childrenOf, type WhereExpr, type WhereExprKind } from '../../src/shapes/where/ast.ts';
import { packWhere, PackedWhereError, unpackWhere } from '../../src/shapes/where/packed-where.ts';
import { parseWhere } from '../../src/shapes/where/parse.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { clauseArb } from '../helpers/where-generator.ts';

await loadSqlParser();

function parsedOrNull(sql: string): WhereExpr | null {
  try {
    return parseWhere(sql).expr;
  } catch {
    return null; // (the generator also draws clauses the runtime refuses)
  }
}

function kindsOf(expr: WhereExpr, into: Set<WhereExprKind>): void {
  into.add(expr.kind);
  for (const child of childrenOf(expr)) kindsOf(child, into);
}

describe('packed where clauses (metadata log version 2)', () => {
  it('unpack to the parser\'s expression, field for field and in its order, after a JSON round trip', () => {
    const seen = new Set<WhereExprKind>();
    fc.assert(
      fc.property(clauseArb, (sql) => {
        const expr = parsedOrNull(sql);
        if (!expr) return;
        kindsOf(expr, seen);
        const stored = JSON.parse(JSON.stringify(packWhere(expr))) as unknown;
        const back = unpackWhere(stored);
        expect(back).toStrictEqual(expr);
        expect(JSON.stringify(back)).toBe(JSON.stringify(expr));
      }),
      { numRuns: 600 },
    );
    // Every node kind went through the round trip (`IS TRUE` and `IS DISTINCT FROM` below, if the generator lacks them).
    for (const sql of ['k IS NOT TRUE', 'k IS DISTINCT FROM 1', 'NOT (k = 1)', 'k BETWEEN SYMMETRIC 1 AND 2', 'k = 99999999999999999999']) {
      const expr = parseWhere(sql).expr!;
      kindsOf(expr, seen);
      expect(unpackWhere(JSON.parse(JSON.stringify(packWhere(expr))))).toStrictEqual(expr);
    }
    expect([...seen].sort()).toEqual(['and', 'between', 'column', 'compare', 'const', 'distinct', 'inList', 'isBool', 'isNull', 'like', 'not', 'or', 'sublink']);
  });

  it('refuses what is not a packed clause, naming the node', () => {
    const cases: [unknown, RegExp][] = [
      [null, /not a non-empty array/],
      [[], /not a non-empty array/],
      [['zz', 1], /unknown node "zz"/],
      [['=', ['c', 'k']], /malformed = node/],
      [['=', ['c', ''], ['v', 1]], /malformed c node/],
      [['v', { x: 1 }], /malformed v node/],
      [['num', 5], /malformed num node/],
      [['and', ['c', 'a']], /malformed and node/],
      [['isNull', 'yes', ['c', 'k']], /malformed isNull node/],
      [['isBool', 'maybe', false, ['c', 'k']], /malformed isBool node/],
      [['sublink', -1, 'k'], /malformed sublink node/],
      [['sublink', 0], /malformed sublink node/],
      [['in', false, ['c', 'k']], /malformed in node/],
      [['not', ['=', ['c', 'k'], ['oops']]], /unknown node "oops"/],
    ];
    for (const [value, reason] of cases) {
      expect(() => unpackWhere(value)).toThrow(PackedWhereError);
      expect(() => unpackWhere(value)).toThrow(reason);
    }
  });
});
