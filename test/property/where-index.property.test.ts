/**
 * Nothing missed, ever (issue 12): on random where clauses of the supported grammar, random rows
 * with edge values and random link-value moves, the index's candidates are a superset of the
 * shapes the plain evaluator says a row matches, and after the residual check exactly that set;
 * and a model run of shapes added and removed between lookups and moves (fast-check commands).
 */
import { linkSetOf, type TupleIndex } from '../../src/shapes/where/link-set.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CompareOp, ConstExpr, WhereExpr } from '../../src/shapes/where/ast.ts';
import { COMPARE_OPS } from '../../src/shapes/where/ast.ts';
import { evaluateWhere, type Row } from '../../src/shapes/where/evaluate.ts';
import { decodeLinkKey, linkKey } from '../../src/shapes/where/link-key.ts';
import { WhereIndex, type IndexedShape } from '../../src/shapes/where-index/where-index.ts';

const TABLES = ['public.a', 'public.b'] as const;
const COLUMNS = ['x', 'y', 'z', 'constructor'] as const;
/** Two dependencies: one selects one column, the other two (row-value subqueries). */
const DEPENDENCIES = ['dep-1', 'dep-2'] as const;
const WIDTH = [1, 2] as const;

/** Row values that the evaluator compares in different ways (numbers as text, booleans as text, NaN, ...). */
const VALUES: readonly unknown[] = [
  null, 0, -0, 1, 7, 1.5, -1, 1e21, 1e15, 999_999_999_999_999, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 + 2,
  '0', '1', '7', '07', '1.5', '1.50', '1e21', '1e15', '999999999999999.0', '-0.0', 't', 'true', 'yes', 'f', 'off', '', 'abc', ' 5', 'NaN', 'Infinity',
  '99999999999999999999', true, false, { v: 1 }, [1],
];
const valueArb = fc.constantFrom(...VALUES);

const CONSTS: readonly ConstExpr[] = [
  { kind: 'const', value: null }, { kind: 'const', value: true }, { kind: 'const', value: false },
  { kind: 'const', value: 0 }, { kind: 'const', value: 1 }, { kind: 'const', value: 7 }, { kind: 'const', value: 1.5 },
  { kind: 'const', value: -1 }, { kind: 'const', value: 1e21 }, { kind: 'const', value: 1e15 },
  { kind: 'const', value: '99999999999999999999', numeric: true }, { kind: 'const', value: '0.100000000000000000001', numeric: true },
  { kind: 'const', value: '1' }, { kind: 'const', value: '1.50' }, { kind: 'const', value: '07' }, { kind: 'const', value: 't' },
  { kind: 'const', value: 'abc' }, { kind: 'const', value: '' }, { kind: 'const', value: ' 5' }, { kind: 'const', value: 'NaN' },
];
const constArb = fc.constantFrom(...CONSTS);
const columnArb = fc.constantFrom(...COLUMNS).map((name): WhereExpr => ({ kind: 'column', name }));
const operandArb = fc.oneof({ weight: 3, arbitrary: columnArb }, { weight: 3, arbitrary: constArb });

const { where: whereArb } = fc.letrec<{ where: WhereExpr }>((tie) => ({
  where: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    // Indexable forms, weighted up.
    { weight: 4, arbitrary: fc.tuple(columnArb, constArb, fc.boolean()).map(([c, k, flip]): WhereExpr => ({ kind: 'compare', op: '=', left: flip ? k : c, right: flip ? c : k })) },
    { weight: 2, arbitrary: fc.tuple(columnArb, fc.array(operandArb, { minLength: 1, maxLength: 4 }), fc.boolean()).map(([expr, list, negated]): WhereExpr => ({ kind: 'inList', expr, list, negated })) },
    { weight: 2, arbitrary: fc.tuple(columnArb, fc.boolean()).map(([expr, negated]): WhereExpr => ({ kind: 'isNull', expr, negated })) },
    {
      weight: 3,
      arbitrary: fc.integer({ min: 0, max: 1 }).chain((dependency) =>
        fc.array(columnArb, { minLength: WIDTH[dependency]!, maxLength: WIDTH[dependency]! }).map((test): WhereExpr => ({ kind: 'sublink', dependency, test: test as never })),
      ),
    },
    { weight: 1, arbitrary: columnArb },
    { weight: 1, arbitrary: fc.tuple(columnArb, constArb, fc.boolean()).map(([left, right, negated]): WhereExpr => ({ kind: 'distinct', left, right, negated })) },
    { weight: 1, arbitrary: fc.tuple(columnArb, fc.constantFrom<'true' | 'false' | 'unknown'>('true', 'false', 'unknown'), fc.boolean()).map(([expr, test, negated]): WhereExpr => ({ kind: 'isBool', expr, test, negated })) },
    // The rest: linear.
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom<CompareOp>(...COMPARE_OPS), operandArb, operandArb).map(([op, left, right]): WhereExpr => ({ kind: 'compare', op, left, right })) },
    { weight: 1, arbitrary: fc.tuple(columnArb, fc.constantFrom('a%', '%1', '_', 't%')).map(([expr, p]): WhereExpr => ({ kind: 'like', expr, pattern: { kind: 'const', value: p }, negated: false, caseInsensitive: false })) },
    { weight: 1, arbitrary: constArb },
    { weight: 2, arbitrary: fc.array(tie('where'), { minLength: 2, maxLength: 3 }).map((args): WhereExpr => ({ kind: 'and', args })) },
    { weight: 2, arbitrary: fc.array(tie('where'), { minLength: 2, maxLength: 3 }).map((args): WhereExpr => ({ kind: 'or', args })) },
    { weight: 1, arbitrary: tie('where').map((arg): WhereExpr => ({ kind: 'not', arg })) },
  ),
}));

const shapeArb = fc.record({ table: fc.constantFrom(...TABLES), where: fc.option(whereArb, { nil: undefined, freq: 8 }) });

const rowArb: fc.Arbitrary<Row> = fc
  .record({ x: valueArb, y: valueArb, z: valueArb, constructor: valueArb }, { requiredKeys: [] })
  .map((row) => Object.fromEntries(Object.entries(row)));

/** Link values a dependency may hold: keys of single values, or of pairs for the two-column one. */
const LINK_POOL: readonly (readonly string[])[] = WIDTH.map((width) => {
  const keys = new Set<string>();
  const plain = VALUES.filter((v) => v !== null);
  if (width === 1) for (const v of plain) keys.add(linkKey([v])!);
  else for (const a of plain.slice(0, 12)) for (const b of plain.slice(0, 12)) keys.add(linkKey([a, b])!);
  return [...keys];
});
const linkSetArb = (dependency: number) => fc.subarray([...LINK_POOL[dependency]!]).map((values) => linkSetOf(values));
const linksArb = fc.tuple(linkSetArb(0), linkSetArb(1));
const moveArb = fc.record({ dependency: fc.integer({ min: 0, max: 1 }), value: fc.nat(), in: fc.boolean() });

type Links = [TupleIndex, TupleIndex];

function shapeOf(handle: string, shape: { table: string; where: WhereExpr | undefined }): IndexedShape {
  return { handle, table: shape.table, where: shape.where, dependencyHandles: [...DEPENDENCIES] };
}

function expected(shapes: ReadonlyMap<string, IndexedShape>, table: string, row: Row, links: Links): string[] {
  const out: string[] = [];
  for (const shape of shapes.values()) {
    if (shape.table !== table) continue;
    if (shape.where === undefined || evaluateWhere(shape.where, row, (i) => links[i]!)) out.push(shape.handle);
  }
  return out.sort();
}

function lookup(index: WhereIndex, table: string, row: Row, links: Links): { candidates: Set<string>; matching: string[] } {
  const candidates = new Set<IndexedShape>();
  index.candidates(table, row, candidates);
  const matching = new Set<IndexedShape>();
  index.matching(table, row, (handle) => links[DEPENDENCIES.indexOf(handle as (typeof DEPENDENCIES)[number])], matching);
  return { candidates: new Set([...candidates].map((s) => s.handle)), matching: [...matching].map((s) => s.handle).sort() };
}

function checkRows(index: WhereIndex, shapes: ReadonlyMap<string, IndexedShape>, rows: readonly Row[], links: Links): void {
  for (const table of TABLES) {
    for (const row of rows) {
      const want = expected(shapes, table, row, links);
      const got = lookup(index, table, row, links);
      for (const handle of want) expect(got.candidates.has(handle), `${handle} missed for ${JSON.stringify(row)} on ${table}`).toBe(true);
      expect(got.matching).toEqual(want);
      // A bare subquery is found by its link value alone: a candidate exactly when it matches (stale values would widen it).
      for (const shape of shapes.values()) {
        if (shape.table === table && shape.where?.kind === 'sublink' && index.dependenciesToSeed().size === 0) expect(got.candidates.has(shape.handle)).toBe(want.includes(shape.handle));
      }
    }
  }
}

/** Rows whose columns hold the values of a link key, in every arrangement (so a moved value is looked up). */
function rowsHolding(key: string): Row[] {
  const values = decodeLinkKey(key);
  const rows: Row[] = [];
  for (let mask = 0; mask < values.length ** COLUMNS.length; mask++) {
    const row: Record<string, unknown> = {};
    COLUMNS.forEach((c, i) => (row[c] = values[Math.floor(mask / values.length ** i) % values.length]));
    rows.push(row);
  }
  return rows;
}

function seed(index: WhereIndex, links: Links): void {
  for (const dependency of [...index.dependenciesToSeed()]) index.seedLinks(dependency, links[DEPENDENCIES.indexOf(dependency as (typeof DEPENDENCIES)[number])]!);
}

describe('where-clause index: never misses a shape', () => {
  it('candidates are a superset of the matching shapes, and the residual check gives exactly them', () => {
    fc.assert(
      fc.property(fc.array(shapeArb, { minLength: 1, maxLength: 10 }), fc.array(rowArb, { minLength: 1, maxLength: 8 }), linksArb, fc.boolean(), (defs, rows, links, seeded) => {
        const index = new WhereIndex();
        const shapes = new Map(defs.map((d, i) => [`s${i}`, shapeOf(`s${i}`, d)]));
        for (const shape of shapes.values()) index.add(shape);
        // Unseeded, the link routes fall back to every linked shape: still never missing one.
        if (seeded) seed(index, links);
        checkRows(index, shapes, rows, links as Links);
      }),
      { numRuns: 400 },
    );
  });

  it('stays exact while the link values move in and out', () => {
    fc.assert(
      fc.property(fc.array(shapeArb, { minLength: 1, maxLength: 8 }), fc.array(rowArb, { minLength: 1, maxLength: 5 }), linksArb, fc.array(moveArb, { minLength: 1, maxLength: 12 }), (defs, rows, start, moves) => {
        const index = new WhereIndex();
        const shapes = new Map(defs.map((d, i) => [`s${i}`, shapeOf(`s${i}`, d)]));
        for (const shape of shapes.values()) index.add(shape);
        const links: Links = [linkSetOf(start[0]), linkSetOf(start[1])];
        seed(index, links);
        for (const move of moves) {
          const pool = LINK_POOL[move.dependency]!;
          const value = pool[move.value % pool.length]!;
          const held = links[move.dependency]!;
          // A materializer reports a value moving in only when it was absent, out only when present.
          if (move.in && !held.has(value)) {
            held.add(value);
            index.moveLinks(DEPENDENCIES[move.dependency]!, [value], []);
          } else if (!move.in && held.has(value)) {
            held.delete(value);
            index.moveLinks(DEPENDENCIES[move.dependency]!, [], [value]);
          }
          checkRows(index, shapes, [...rows, ...rowsHolding(value)], links);
        }
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------- model: add and remove between lookups

interface Model {
  readonly shapes: Map<string, IndexedShape>;
  readonly links: Links;
  readonly removed: Set<string>;
  next: number;
}

class AddShape implements fc.Command<Model, WhereIndex> {
  constructor(readonly shape: { table: string; where: WhereExpr | undefined }) {}
  check = (): boolean => true;
  run(model: Model, index: WhereIndex): void {
    const handle = `s${model.next++}`;
    const shape = shapeOf(handle, this.shape);
    index.add(shape);
    model.shapes.set(handle, shape);
    seed(index, model.links);
  }
  toString = (): string => `add(${JSON.stringify(this.shape)})`;
}

class RemoveShape implements fc.Command<Model, WhereIndex> {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>): boolean => model.shapes.size > 0;
  run(model: Model, index: WhereIndex): void {
    const handle = [...model.shapes.keys()][this.pick % model.shapes.size]!;
    index.remove(handle);
    model.shapes.delete(handle);
    model.removed.add(handle);
  }
  toString = (): string => `remove(#${this.pick})`;
}

class MoveLink implements fc.Command<Model, WhereIndex> {
  constructor(readonly move: { dependency: number; value: number; in: boolean }) {}
  check = (): boolean => true;
  run(model: Model, index: WhereIndex): void {
    const pool = LINK_POOL[this.move.dependency]!;
    const value = pool[this.move.value % pool.length]!;
    const held = model.links[this.move.dependency]!;
    if (this.move.in === held.has(value)) return;
    if (this.move.in) held.add(value);
    else held.delete(value);
    index.moveLinks(DEPENDENCIES[this.move.dependency]!, this.move.in ? [value] : [], this.move.in ? [] : [value]);
  }
  toString = (): string => `move(${JSON.stringify(this.move)})`;
}

/** A change: the old and the new row are both looked up (an update that leaves a shape still reaches it). */
class RouteChange implements fc.Command<Model, WhereIndex> {
  constructor(
    readonly table: string,
    readonly oldRow: Row | null,
    readonly row: Row | null,
  ) {}
  check = (): boolean => true;
  run(model: Model, index: WhereIndex): void {
    const lookups = (links: Links): Set<string> => {
      const out = new Set<IndexedShape>();
      const at = (handle: string) => links[DEPENDENCIES.indexOf(handle as (typeof DEPENDENCIES)[number])];
      for (const row of [this.oldRow, this.row]) if (row) index.matching(this.table, row, at, out);
      return new Set([...out].map((s) => s.handle));
    };
    const got = lookups(model.links);
    const want = new Set<string>();
    for (const row of [this.oldRow, this.row]) if (row) for (const h of expected(model.shapes, this.table, row, model.links)) want.add(h);
    expect([...got].sort()).toEqual([...want].sort());
    for (const handle of got) expect(model.removed.has(handle), `removed shape ${handle} routed`).toBe(false);
  }
  toString = (): string => `route(${this.table}, ${JSON.stringify(this.oldRow)} -> ${JSON.stringify(this.row)})`;
}

describe('where-clause index: model of adds and removes between changes', () => {
  it('routes each change to exactly the live shapes it affects, never to a removed one', () => {
    const commands = [
      shapeArb.map((s) => new AddShape(s)),
      fc.nat().map((n) => new RemoveShape(n)),
      moveArb.map((m) => new MoveLink(m)),
      fc.tuple(fc.constantFrom(...TABLES), fc.option(rowArb, { nil: null }), fc.option(rowArb, { nil: null })).map(([t, o, n]) => new RouteChange(t, o, n)),
      fc.tuple(fc.constantFrom(...TABLES), fc.option(rowArb, { nil: null }), fc.option(rowArb, { nil: null })).map(([t, o, n]) => new RouteChange(t, o, n)),
    ];
    fc.assert(
      fc.property(linksArb, fc.commands(commands, { maxCommands: 40 }), (start, cmds) => {
        const model: Model = { shapes: new Map(), links: [linkSetOf(start[0]), linkSetOf(start[1])], removed: new Set(), next: 0 };
        fc.modelRun(() => ({ model, real: new WhereIndex() }), cmds);
      }),
      { numRuns: 300 },
    );
  });
});
