import { beforeAll, describe, expect, it } from 'vitest';
import { equalityKeys } from '../../../src/shapes/where-index/equality-keys.ts';
import { planRoutes } from '../../../src/shapes/where-index/routes.ts';
import { WhereIndex, type LinkLookup } from '../../../src/shapes/where-index/where-index.ts';
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
  const out = new Set<string>();
  index.candidates(table, row, out);
  return [...out].sort();
}

function matching(index: WhereIndex, row: Row, links: LinkLookup = noLinks): string[] {
  const out = new Set<string>();
  index.matching(T, row, links, out);
  return [...out].sort();
}

describe('planRoutes', () => {
  const plan = (sql: string) => planRoutes(parseWhere(sql).expr);

  it('files equalities, IN lists, IS NULL and subqueries under routes', () => {
    expect(plan('user_id = 7')).toEqual({ kind: 'routes', routes: [{ kind: 'value', column: 'user_id', keys: [7] }] });
    expect(plan("'7' = user_id")).toEqual({ kind: 'routes', routes: [{ kind: 'value', column: 'user_id', keys: ['s7', 7] }] });
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

describe('equalityKeys', () => {
  it('gives equal values a shared key, across the ways the evaluator compares them', () => {
    const shares = (a: unknown, b: unknown): boolean => equalityKeys(a).some((k) => equalityKeys(b).includes(k));
    expect(shares(1.5, '1.50')).toBe(true);
    expect(shares(7, '7')).toBe(true);
    expect(shares(70, '7e1')).toBe(true);
    expect(shares(-0, 0)).toBe(true);
    expect(shares(true, 't')).toBe(true);
    expect(shares(false, 'no')).toBe(true);
    expect(shares('abc', 'abc')).toBe(true);
    expect(shares(Number.NaN, Number.NaN)).toBe(true);
    // Integers below 10^15 are keyed by the number, larger ones by their decimal text: each value one way.
    expect(shares(999_999_999_999_999, '999999999999999.0')).toBe(true);
    expect(shares(1e15, '1000000000000000')).toBe(true);
    expect(shares(2 ** 53 + 2, '9007199254740994')).toBe(true);
    expect(shares(99999999999999999999n, '99999999999999999999')).toBe(true);
    expect(shares(1e15, 1e15 + 1)).toBe(false);
    expect(shares(7, 8)).toBe(false);
    expect(shares('abc', 'abd')).toBe(false);
    expect(shares(1, true)).toBe(false);
    expect(equalityKeys(null)).toEqual([]);
    expect(equalityKeys(undefined)).toEqual([]);
    expect(equalityKeys({ a: 1 })).toEqual([]);
  });
});

describe('WhereIndex', () => {
  it('finds a row by hash lookup, exactly the shapes of its value', () => {
    const shapes: Record<string, string> = {};
    for (let k = 0; k < 1000; k++) shapes[`s${k}`] = `user_id = ${k}`;
    const index = indexOf(shapes);
    expect(candidates(index, { id: 1, user_id: 42 })).toEqual(['s42']);
    expect(candidates(index, { id: 1, user_id: '42.0' })).toEqual(['s42']);
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
    expect(candidates(index, { id: 1, user_id: '8' })).toEqual(['s2']);
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
    const values = new Set([linkKey([7])!]);
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
    expect(candidates(index, { id: 1, org: '8.0' })).toEqual(['p']);
    expect(candidates(index, { id: 1, org: 'x' })).toEqual(['p']);
    expect(candidates(index, { id: 1, user_id: 8 })).toEqual([]);
  });

  it('refuses a shape indexed twice', () => {
    const index = indexOf({ a: 'k = 1' });
    expect(() => index.add({ handle: 'a', table: T, where: undefined, dependencyHandles: [] })).toThrow(/indexed already/);
  });
});
