import { beforeAll, describe, expect, it } from 'vitest';
import { constKeys, equalityKey } from '../../../src/shapes/where-index/equality-keys.ts';
import { linkSetOf } from '../../../src/shapes/where/link-set.ts';
import { columnType } from '../../../src/shapes/column-types.ts';
import { sqlTypeOf } from '../../../src/shapes/where/sql-types.ts';
import { planRoutes } from '../../../src/shapes/where-index/routes.ts';
import { WhereIndex, type IndexedShape, type LinkLookup } from '../../../src/shapes/where-index/where-index.ts';
import type { Row } from '../../../src/shapes/where/evaluate.ts';
import { linkKey } from '../../../src/shapes/where/link-key.ts';
import { parseWhere } from '../../../src/shapes/where/parse.ts';
import { loadSqlParser } from '../../../src/shapes/where/sql-parser.ts';
import { substituteParams } from '../../../src/http/where-params.ts';

beforeAll(loadSqlParser);

const T = 'public.items';

function indexOf(shapes: Record<string, string | undefined>, dependencyHandles: readonly string[] = []): WhereIndex {
  const index = new WhereIndex();
  for (const [handle, where] of Object.entries(shapes)) {
    index.add({ handle, table: T, where: where === undefined ? undefined : parseWhere(where).expr, dependencyHandles });
  }
  return index;
}

const noLinks: LinkLookup = () => undefined;

function candidates(index: WhereIndex, row: Row, table = T): string[] {
  const out = new Set<IndexedShape>();
  index.candidates(table, row, out);
  return handlesOf(out);
}

function matching(index: WhereIndex, row: Row, links: LinkLookup = noLinks): string[] {
  const out = new Set<IndexedShape>();
  index.matching(T, row, links, out);
  return handlesOf(out);
}

/** The handles of the shapes the index answered, sorted. */
function handlesOf(shapes: ReadonlySet<IndexedShape>): string[] {
  return [...shapes].map((s) => s.handle).sort();
}

describe('planRoutes', () => {
  const plan = (sql: string) => planRoutes(parseWhere(sql).expr);

  it('files equalities, IN lists, IS NULL and subqueries under routes', () => {
    expect(plan('user_id = 7')).toEqual({ kind: 'routes', routes: [{ kind: 'value', column: 'user_id', keys: [7] }] });
    // a quoted literal: as each type it can be read as (the number 7, the text '7')
    expect(plan("'7' = user_id")).toEqual({ kind: 'routes', routes: [{ kind: 'value', column: 'user_id', keys: [7, 's7'] }] });
    expect(plan("' 7 ' = user_id")).toEqual({ kind: 'routes', routes: [{ kind: 'value', column: 'user_id', keys: [7, 's 7 '] }] });
    // a long decimal: as a numeric, and rounded to a float4 and to a float8 (compared with such a column)
    expect(plan('x = 0.1000000000000000000001')).toEqual({ kind: 'routes', routes: [{ kind: 'value', column: 'x', keys: ['n1000000000000000000001e-22', 'n10000000149011612e-17', 'n1e-1'] }] });
    expect(plan('k IN (1, 2, NULL)')).toEqual({ kind: 'routes', routes: [{ kind: 'value', column: 'k', keys: [1, 2] }] });
    expect(plan('k IS NULL')).toEqual({ kind: 'routes', routes: [{ kind: 'null', column: 'k' }] });
    expect(plan('(a, b) IN (SELECT x, y FROM public.d)')).toEqual({ kind: 'routes', routes: [{ kind: 'link', columns: ['a', 'b'], dependency: 0 }] });
  });

  it('takes one indexable side of AND, every branch of OR, and nothing for what can never be true', () => {
    expect(plan("title LIKE 'a%' AND k = 1 AND j IS NULL")).toEqual({ kind: 'routes', routes: [{ kind: 'value', column: 'k', keys: [1] }] });
    expect(plan('k = 1 OR j = 2')).toEqual({
      kind: 'routes',
      routes: [
        { kind: 'value', column: 'k', keys: [1] },
        { kind: 'value', column: 'j', keys: [2] },
      ],
    });
    expect(plan('k = NULL')).toEqual({ kind: 'routes', routes: [] });
    expect(plan('k = 1 AND FALSE')).toEqual({ kind: 'routes', routes: [] });
  });

  it('leaves ranges, LIKE, NOT IN, negations, column comparisons and OR with a linear branch linear', () => {
    for (const sql of [
      'k > 1',
      "title LIKE 'a%'",
      'k NOT IN (1, 2)',
      'k NOT IN (SELECT x FROM public.d)',
      'NOT (k = 1)',
      'k = j',
      'k = 1 OR j > 2',
      'k IS NOT NULL',
      'k <> 1',
      'TRUE',
    ]) {
      expect(plan(sql), sql).toEqual({ kind: 'linear' });
    }
  });
});

describe('equalityKey', () => {
  const type = (t: string) => sqlTypeOf(columnType(t));
  it('keys a value in its column type: equal values share the key, unequal ones do not', () => {
    const same = (a: unknown, b: unknown, t?: string): boolean => equalityKey(a, t === undefined ? undefined : type(t)) === equalityKey(b, t === undefined ? undefined : type(t));
    expect(same(1.5, '1.50', 'numeric')).toBe(true);
    expect(same(7, '7', 'int8')).toBe(true);
    expect(same(70, '7e1', 'numeric')).toBe(true);
    expect(same(-0, 0)).toBe(true);
    expect(same('abc', 'abc', 'text')).toBe(true);
    expect(same(Number.NaN, 'NaN', 'float8')).toBe(true);
    // Integers below 10^15 are keyed by the number, larger ones by their decimal text: each value one way.
    expect(equalityKey(7)).toBe(7);
    expect(same(999_999_999_999_999, '999999999999999.0', 'numeric')).toBe(true);
    expect(same(1e15, '1000000000000000', 'numeric')).toBe(true);
    expect(same(2 ** 53 + 2, '9007199254740994', 'int8')).toBe(true);
    expect(same('99999999999999999999', '99999999999999999999.00', 'numeric')).toBe(true);
    expect(same(1e15, 1e15 + 1)).toBe(false);
    expect(same(7, 8)).toBe(false);
    expect(same('07', '7', 'text')).toBe(false);
    // without a declared type a value has its JSON type: the string '7' is not the number 7
    expect(same(7, '7')).toBe(false);
    expect(same(1, true)).toBe(false);
    // a float4 column holds float4 values: 0.1 there is 0.100000001490116...
    expect(equalityKey(0.1, type('float4'))).toBe('n10000000149011612e-17');
    expect(equalityKey(null)).toBeNull();
    expect(equalityKey('abc', type('int4'))).toBeNull();
  });

  it('a constant has the key of every value it may equal', () => {
    const keys = (sql: string) => {
      const where = parseWhere(sql).expr;
      return where.kind === 'compare' && where.right.kind === 'const' ? constKeys(where.right) : [];
    };
    expect(keys("x = ' 5'")).toContain(equalityKey(5, type('int4')));
    expect(keys("x = 't'")).toContain(equalityKey(true, type('bool')));
    expect(keys("x = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'")).toContain(equalityKey('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', type('uuid')));
    expect(keys('x = 0.1000000000000000000001')).toContain(equalityKey(0.1, type('float8')));
  });
});

describe('WhereIndex', () => {
  it('finds a row by hash lookup, exactly the shapes of its value', () => {
    const shapes: Record<string, string> = {};
    for (let k = 0; k < 1000; k++) shapes[`s${k}`] = `user_id = ${k}`;
    const index = indexOf(shapes);
    expect(candidates(index, { id: 1, user_id: 42 })).toEqual(['s42']);
    expect(candidates(index, { id: 1, user_id: '42.0' })).toEqual([]); // text, not a number (no declared type)
    expect(candidates(index, { id: 1, user_id: 5000 })).toEqual([]);
    expect(candidates(index, { id: 1 })).toEqual([]);
    expect(candidates(index, { id: 1, user_id: 42 }, 'public.other')).toEqual([]);
  });

  it('answers a superset through a route, and the residual narrows it to the matches', () => {
    const index = indexOf({ a: "k = 1 AND title LIKE 'x%'", b: 'k IN (1, 2)', c: 'k IS NULL OR j = 3', d: undefined, e: 'k > 0' });
    const row = { id: 1, k: 1, title: 'y' };
    expect(candidates(index, row)).toEqual(['a', 'b', 'd', 'e']);
    expect(matching(index, row)).toEqual(['b', 'd', 'e']);
    expect(matching(index, { id: 2, j: 3 })).toEqual(['c', 'd']);
    expect(index.routeKind('a')).toBe('indexed');
    expect(index.routeKind('d')).toBe('every-row');
    expect(index.routeKind('e')).toBe('linear');
  });

  it('a removed shape is never a candidate again, and removal leaves the others in place', () => {
    const index = indexOf({ a: 'k = 1', b: 'k = 1', c: 'k > 0', d: undefined });
    for (const handle of ['a', 'c', 'd']) index.remove(handle);
    expect(candidates(index, { id: 1, k: 1 })).toEqual(['b']);
    index.remove('b');
    expect(candidates(index, { id: 1, k: 1 })).toEqual([]);
    expect(index.size).toBe(0);
    index.remove('b');
    index.add({ handle: 'b', table: T, where: parseWhere('k = 2').expr, dependencyHandles: [] });
    expect(candidates(index, { id: 1, k: 2 })).toEqual(['b']);
  });

  it('finds subquery shapes by link value, and follows the values as they move', () => {
    const index = new WhereIndex();
    const where = parseWhere('user_id IN (SELECT user_id FROM public.memberships WHERE org_id = 1)').expr;
    index.add({ handle: 's1', table: T, where, dependencyHandles: ['dep1'] });
    index.add({ handle: 's2', table: T, where, dependencyHandles: ['dep2'] });
    // Unseeded: every linked shape is a candidate.
    expect([...index.dependenciesToSeed()].sort()).toEqual(['dep1', 'dep2']);
    expect(candidates(index, { id: 1, user_id: 9 })).toEqual(['s1', 's2']);
    index.seedLinks('dep1', [linkKey([7])!]);
    index.seedLinks('dep2', [linkKey([8])!]);
    expect(index.dependenciesToSeed().size).toBe(0);
    expect(candidates(index, { id: 1, user_id: 7 })).toEqual(['s1']);
    expect(candidates(index, { id: 1, user_id: 8 })).toEqual(['s2']);
    expect(candidates(index, { id: 1, user_id: '8' })).toEqual([]); // the text '8' is not the number 8
    expect(candidates(index, { id: 1, user_id: 9 })).toEqual([]);
    index.moveLinks('dep2', [linkKey([9])!], [linkKey([8])!]);
    expect(candidates(index, { id: 1, user_id: 9 })).toEqual(['s2']);
    expect(candidates(index, { id: 1, user_id: 8 })).toEqual([]);
    // A stopped materializer: its dependents are candidates again until seeded anew.
    index.unseedLinks('dep2');
    expect(candidates(index, { id: 1, user_id: 1 })).toEqual(['s2']);
    index.remove('s2');
    expect(index.linkValuesOf('dep2')).toBeUndefined();
    expect(candidates(index, { id: 1, user_id: 1 })).toEqual([]);
  });

  it('checks a subquery residual with the link values it is given; without them, the shape is a candidate', () => {
    const index = new WhereIndex();
    index.add({ handle: 'n', table: T, where: parseWhere('user_id NOT IN (SELECT user_id FROM public.memberships)').expr, dependencyHandles: ['dep'] });
    const values = linkSetOf([linkKey([7])!]);
    expect(matching(index, { id: 1, user_id: 7 }, () => values)).toEqual([]);
    expect(matching(index, { id: 1, user_id: 8 }, () => values)).toEqual(['n']);
    expect(matching(index, { id: 1, user_id: 7 })).toEqual(['n']);
  });

  it('a column named like an Object property is read from the row only', () => {
    const index = indexOf({ a: 'constructor IS NULL', b: "constructor = 'x'" });
    expect(candidates(index, { id: 1 })).toEqual(['a']);
    expect(candidates(index, { id: 1, constructor: 'x' })).toEqual(['b']);
  });

  it('positional parameters index like the constants they become', () => {
    // Electric's params[n]: `$1` is substituted as a literal of unknown type (src/http/where-params.ts).
    const substituted = substituteParams('user_id = $1 OR org IN ($2, $3)', new Map([[1, '7'], [2, '8'], [3, 'x']]));
    if (!substituted.ok) throw new Error(substituted.reason);
    const index = indexOf({ p: substituted.sql });
    expect(index.routeKind('p')).toBe('indexed');
    expect(candidates(index, { id: 1, user_id: 7 })).toEqual(['p']);
    expect(candidates(index, { id: 1, org: 8 })).toEqual(['p']); // '8' read as the number
    expect(candidates(index, { id: 1, org: '8' })).toEqual(['p']); // or as the text
    expect(candidates(index, { id: 1, org: '8.0' })).toEqual([]); // the text '8.0' is not '8' (no declared type)
    expect(candidates(index, { id: 1, org: 'x' })).toEqual(['p']);
    expect(candidates(index, { id: 1, user_id: 8 })).toEqual([]);
  });

  it('refuses a shape indexed twice', () => {
    const index = indexOf({ a: 'k = 1' });
    expect(() => index.add({ handle: 'a', table: T, where: undefined, dependencyHandles: [] })).toThrow(/indexed already/);
  });
});
