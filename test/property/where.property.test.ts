import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShapeDefinition } from '../../src/shapes/definition.ts';
import { definitionKey, normalizeShape } from '../../src/shapes/definition.ts';
import { quoteIdentifier } from '../../src/shapes/identifiers.ts';
import type { ColumnExpr, CompareOp, WhereExpr } from '../../src/shapes/where/ast.ts';
import { COMPARE_OPS, childrenOf } from '../../src/shapes/where/ast.ts';
import { evaluateTruth } from '../../src/shapes/where/evaluate.ts';
import type { LinkValues, Row } from '../../src/shapes/where/evaluate.ts';
import { linkElements, tupleKey } from '../../src/shapes/where/link-key.ts';
import { linkSetOf } from '../../src/shapes/where/link-set.ts';
import { parseWhere } from '../../src/shapes/where/parse.ts';
import { printConst, printWhere } from '../../src/shapes/where/print.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { numericLiteral } from '../../src/shapes/where/values.ts';

beforeAll(async () => {
  await loadSqlParser();
});

// ---------------------------------------------------------------------------------------------
// Generators for canonical ASTs of the supported grammar
// ---------------------------------------------------------------------------------------------

/** Column names: plain, needing quotes (case, spaces, quotes, non-ASCII, keywords), unreserved keywords. */
const COLUMN_NAMES = ['a', 'b', 'id', 'org_id', 'Name', 'user id', 'x"y', 'é', 'select', 'user', 'like', 'between', 'at', 'version', 'a$b'];

/** Dependency definitions in normal form (checked below), with 1 or 2 selected columns. */
const DEPENDENCY_POOL: readonly ShapeDefinition[] = [
  { table: 'public.memberships', where: 'org_id = 7', columns: ['user_id'], replica: 'default' },
  { table: 'public.s', columns: ['x'], replica: 'default' },
  { table: 'app."Pairs"', where: "k <> 'z' OR k IS NULL", columns: ['x', '"Y"'], replica: 'default' },
  {
    table: 'public.r',
    where: 'z IN (SELECT q FROM public.u WHERE q > 0)',
    columns: ['w'],
    replica: 'default',
  },
];

const columnArb: fc.Arbitrary<ColumnExpr> = fc.constantFrom(...COLUMN_NAMES).map((name) => ({ kind: 'column', name }));

const stringValueArb = fc
  .string({
    unit: fc.oneof(
      fc.constantFrom("'", '\\', '"', '%', '_', ' ', '\n', '$', 'a', 'A', 'é', '😀', '\uFF61'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
    ),
    maxLength: 8,
  })
  .filter((s) => !s.includes('\u0000'));

/** Numeric literals in their canonical constant form (as the parser would produce them). */
const numberConstArb: fc.Arbitrary<WhereExpr> = fc
  .oneof(
    fc.integer({ min: -1000, max: 1000 }).map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
    fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 25n }), fc.integer({ min: 1, max: 30 })).map(([d, s]) => {
      const t = d.toString().padStart(s + 1, '0');
      return `${t.slice(0, -s)}.${t.slice(-s)}`;
    }),
  )
  .map((text) => {
    const lit = numericLiteral(text);
    return 'numeric' in lit ? { kind: 'const', value: lit.value, numeric: true } : { kind: 'const', value: lit.value };
  });

const constArb: fc.Arbitrary<WhereExpr> = fc.oneof(
  fc.constant<WhereExpr>({ kind: 'const', value: null }),
  fc.boolean().map((value): WhereExpr => ({ kind: 'const', value })),
  numberConstArb,
  stringValueArb.map((value): WhereExpr => ({ kind: 'const', value })),
);

const boolConstArb: fc.Arbitrary<WhereExpr> = fc.constantFrom<WhereExpr>(
  { kind: 'const', value: true },
  { kind: 'const', value: false },
  { kind: 'const', value: null },
);

/** Sublinks carry a pool index for now; `finish` renumbers them to dependency indices. */
const sublinkArb: fc.Arbitrary<WhereExpr> = fc.integer({ min: 0, max: DEPENDENCY_POOL.length - 1 }).chain((pool) =>
  fc
    .array(columnArb, {
      minLength: DEPENDENCY_POOL[pool]!.columns!.length,
      maxLength: DEPENDENCY_POOL[pool]!.columns!.length,
    })
    .map((test): WhereExpr => ({ kind: 'sublink', test, dependency: pool })),
);

const { bool: boolArb } = fc.letrec<{ bool: WhereExpr; operand: WhereExpr }>((tie) => {
  const bool = tie('bool');
  const operand = tie('operand');
  return {
    operand: fc.oneof({ depthSize: 'medium', withCrossShrink: true }, columnArb, constArb, constArb, bool),
    bool: fc.oneof(
      { depthSize: 'medium', withCrossShrink: true },
      columnArb,
      boolConstArb,
      sublinkArb,
      fc
        .tuple(fc.constantFrom<CompareOp>(...COMPARE_OPS), operand, operand)
        .map(([op, left, right]): WhereExpr => ({ kind: 'compare', op, left, right })),
      fc.array(bool, { minLength: 2, maxLength: 4 }).map((args): WhereExpr => ({ kind: 'and', args })),
      fc.array(bool, { minLength: 2, maxLength: 4 }).map((args): WhereExpr => ({ kind: 'or', args })),
      bool.map((arg): WhereExpr => ({ kind: 'not', arg })),
      fc
        .tuple(operand, fc.array(operand, { minLength: 1, maxLength: 4 }), fc.boolean())
        .map(([expr, list, negated]): WhereExpr => ({ kind: 'inList', expr, list, negated })),
      fc.tuple(operand, fc.boolean()).map(([expr, negated]): WhereExpr => ({ kind: 'isNull', expr, negated })),
      fc
        .tuple(operand, fc.constantFrom<'true' | 'false' | 'unknown'>('true', 'false', 'unknown'), fc.boolean())
        .map(([expr, test, negated]): WhereExpr => ({ kind: 'isBool', expr, test, negated })),
      fc
        .tuple(operand, operand, operand, fc.boolean(), fc.boolean())
        .map(([expr, low, high, negated, symmetric]): WhereExpr => ({ kind: 'between', expr, low, high, negated, symmetric })),
      fc
        .tuple(operand, operand, fc.boolean(), fc.boolean())
        .map(([expr, pattern, negated, caseInsensitive]): WhereExpr => ({ kind: 'like', expr, pattern, negated, caseInsensitive })),
      fc
        .tuple(operand, operand, fc.boolean())
        .map(([left, right, negated]): WhereExpr => ({ kind: 'distinct', left, right, negated })),
    ),
  };
});

/** Flattens AND-in-AND / OR-in-OR (the parser's canonical form). */
function flatten(e: WhereExpr): WhereExpr {
  switch (e.kind) {
    case 'and':
    case 'or': {
      const args = e.args.map(flatten).flatMap((a) => (a.kind === e.kind ? a.args : [a]));
      return { kind: e.kind, args };
    }
    case 'not':
      return { kind: 'not', arg: flatten(e.arg) };
    case 'compare':
      return { ...e, left: flatten(e.left), right: flatten(e.right) };
    case 'distinct':
      return { ...e, left: flatten(e.left), right: flatten(e.right) };
    case 'inList':
      return { ...e, expr: flatten(e.expr), list: e.list.map(flatten) };
    case 'isNull':
    case 'isBool':
      return { ...e, expr: flatten(e.expr) };
    case 'between':
      return { ...e, expr: flatten(e.expr), low: flatten(e.low), high: flatten(e.high) };
    case 'like':
      return { ...e, expr: flatten(e.expr), pattern: flatten(e.pattern) };
    default:
      return e;
  }
}

/** Renumbers pool references to dependency indices in order of first appearance. */
function finish(e: WhereExpr): { expr: WhereExpr; deps: ShapeDefinition[] } {
  const flat = flatten(e);
  const index = new Map<number, number>();
  const deps: ShapeDefinition[] = [];
  const visit = (x: WhereExpr): void => {
    if (x.kind === 'sublink' && !index.has(x.dependency)) {
      index.set(x.dependency, deps.length);
      deps.push(DEPENDENCY_POOL[x.dependency]!);
    }
    for (const c of childrenOf(x)) visit(c);
  };
  visit(flat);
  const renumber = (x: WhereExpr): WhereExpr => {
    if (x.kind === 'sublink') return { ...x, dependency: index.get(x.dependency)! };
    switch (x.kind) {
      case 'and':
      case 'or':
        return { kind: x.kind, args: x.args.map(renumber) };
      case 'not':
        return { kind: 'not', arg: renumber(x.arg) };
      case 'compare':
      case 'distinct':
        return { ...x, left: renumber(x.left), right: renumber(x.right) };
      case 'inList':
        return { ...x, expr: renumber(x.expr), list: x.list.map(renumber) };
      case 'isNull':
      case 'isBool':
        return { ...x, expr: renumber(x.expr) };
      case 'between':
        return { ...x, expr: renumber(x.expr), low: renumber(x.low), high: renumber(x.high) };
      case 'like':
        return { ...x, expr: renumber(x.expr), pattern: renumber(x.pattern) };
      default:
        return x;
    }
  };
  return { expr: renumber(flat), deps };
}

const whereArb = boolArb.map(finish);

// ---------------------------------------------------------------------------------------------
// A "messy" printer: same AST, different spelling (keyword case, != for <>, extra parentheses,
// whitespace, needlessly quoted or upper-cased identifiers, dollar-quoted strings, NOT x IN ...)
// ---------------------------------------------------------------------------------------------

function messyPrint(expr: WhereExpr, deps: readonly ShapeDefinition[], noise: readonly number[]): string {
  let i = 0;
  const pick = (n: number): number => noise[i++ % noise.length]! % n;
  const kw = (word: string): string => {
    const v = pick(3);
    return v === 0 ? word : v === 1 ? word.toLowerCase() : word[0] + word.slice(1).toLowerCase();
  };
  const ws = (): string => [' ', '  ', '\n', ' \t '][pick(4)]!;
  const maybeParen = (s: string): string => (pick(4) === 0 ? `(${ws()}${s}${ws()})` : s);
  const column = (name: string): string => {
    const printed = quoteIdentifier(name);
    if (printed !== name) return printed; // quoting required
    const v = pick(3);
    return v === 0 ? name : v === 1 ? `"${name}"` : name.toUpperCase();
  };
  const operand = (e: WhereExpr): string =>
    e.kind === 'column' || e.kind === 'const' ? maybeParen(p(e)) : `(${ws()}${p(e)}${ws()})`;
  const subquery = (dep: ShapeDefinition): string =>
    `${kw('SELECT')} ${dep.columns!.join(`,${ws()}`)} ${kw('FROM')} ${dep.table}` +
    (dep.where === undefined ? '' : ` ${kw('WHERE')} ${dep.where}`);
  const sublink = (e: WhereExpr & { kind: 'sublink' }, negated: boolean): string => {
    const cols = e.test.map((c) => column(c.name));
    const test = cols.length === 1 ? cols[0]! : `(${cols.join(`,${ws()}`)})`;
    const sub = subquery(deps[e.dependency]!);
    if (!negated) return pick(2) === 0 ? `${test} ${kw('IN')} (${sub})` : `${test}${ws()}=${ws()}${kw('ANY')} (${sub})`;
    const v = pick(3);
    if (v === 0) return `${test} ${kw('NOT')} ${kw('IN')}${ws()}(${sub})`;
    if (v === 1) return `${kw('NOT')} ${test} ${kw('IN')} (${sub})`;
    return `${kw('NOT')}${ws()}(${test} ${kw('IN')} (${sub}))`;
  };
  const p = (e: WhereExpr): string => {
    const not = (neg: boolean): string => (neg ? `${kw('NOT')} ` : '');
    switch (e.kind) {
      case 'column':
        return column(e.name);
      case 'const': {
        if (e.value === null) return kw('NULL');
        if (typeof e.value === 'boolean') return kw(e.value ? 'TRUE' : 'FALSE');
        if (typeof e.value === 'string' && e.numeric !== true && !e.value.includes('$q$') && pick(3) === 0) {
          return `$q$${e.value}$q$`;
        }
        return printConst(e.value, e.numeric);
      }
      case 'compare': {
        const op = e.op === '<>' && pick(2) === 0 ? '!=' : e.op;
        return `${operand(e.left)}${ws()}${op}${ws()}${operand(e.right)}`;
      }
      case 'and':
      case 'or':
        return e.args
          .map((a) => (a.kind === 'and' || a.kind === 'or' ? `(${p(a)})` : maybeParen(p(a))))
          .join(`${ws()}${kw(e.kind.toUpperCase())}${ws()}`);
      case 'not':
        if (e.arg.kind === 'sublink') return sublink(e.arg, true);
        return `${kw('NOT')}${ws()}${operand(e.arg)}`;
      case 'inList':
        return `${operand(e.expr)} ${not(e.negated)}${kw('IN')}${ws()}(${e.list.map(operand).join(`,${ws()}`)})`;
      case 'isNull':
        return `${operand(e.expr)} ${kw('IS')} ${not(e.negated)}${kw('NULL')}`;
      case 'isBool':
        return `${operand(e.expr)} ${kw('IS')} ${not(e.negated)}${kw(e.test.toUpperCase())}`;
      case 'between':
        return `${operand(e.expr)} ${not(e.negated)}${kw('BETWEEN')} ${e.symmetric ? `${kw('SYMMETRIC')} ` : ''}${operand(e.low)} ${kw('AND')} ${operand(e.high)}`;
      case 'like':
        return `${operand(e.expr)} ${not(e.negated)}${kw(e.caseInsensitive ? 'ILIKE' : 'LIKE')} ${operand(e.pattern)}`;
      case 'distinct':
        return `${operand(e.left)} ${kw('IS')} ${not(e.negated)}${kw('DISTINCT')} ${kw('FROM')} ${operand(e.right)}`;
      case 'sublink':
        return sublink(e, false);
    }
  };
  return `${ws()}${maybeParen(p(expr))}${ws()}`;
}

// ---------------------------------------------------------------------------------------------
// Rows and link sets
// ---------------------------------------------------------------------------------------------

const cellArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom('0', '1', '-2', '1.50', '99999999999999999999', 't', 'no', '', 'a', 'A', 'a%', "'", '😀'),
  stringValueArb,
);

const rowArb: fc.Arbitrary<Row> = fc.dictionary(fc.constantFrom(...COLUMN_NAMES), cellArb, { noNullPrototype: true });

const linksArb: fc.Arbitrary<LinkValues> = fc
  .array(fc.array(fc.tuple(cellArb, cellArb), { maxLength: 6 }), {
    minLength: DEPENDENCY_POOL.length,
    maxLength: DEPENDENCY_POOL.length,
  })
  .map((perDep) => {
    const sets = perDep.map((tuples) => linkSetOf(tuples.flatMap(([x, y]) => [tupleKey(linkElements([x])), tupleKey(linkElements([x, y]))])));
    return (dep: number) => sets[dep] ?? linkSetOf([]);
  });

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('where: properties', () => {
  it('the dependency pool is in normal form', () => {
    for (const dep of DEPENDENCY_POOL) expect(normalizeShape(dep).definition).toEqual(dep);
  });

  it('print -> parse gives back the same AST, dependencies, text and key', () => {
    fc.assert(
      fc.property(whereArb, ({ expr, deps }) => {
        const sql = printWhere(expr, deps);
        const parsed = parseWhere(sql);
        expect(parsed.expr).toEqual(expr);
        expect(parsed.dependencies).toEqual(deps);
        expect(parsed.sql).toBe(sql);
        const a = normalizeShape({ table: 'public.t', where: sql });
        const b = normalizeShape({ table: 'public.t', where: parsed.sql });
        expect(b.key).toBe(a.key);
        expect(a.definition.where).toBe(sql);
      }),
      { numRuns: 400 },
    );
  });

  it('any spelling of an expression parses to the same AST and key', () => {
    fc.assert(
      fc.property(whereArb, fc.array(fc.nat(), { minLength: 1, maxLength: 64 }), ({ expr, deps }, noise) => {
        const messy = messyPrint(expr, deps, noise);
        const parsed = parseWhere(messy);
        expect(parsed.expr).toEqual(expr);
        expect(parsed.dependencies).toEqual(deps);
        expect(normalizeShape({ table: 'T', where: messy }).key).toBe(
          normalizeShape({ table: 'public.t', where: printWhere(expr, deps) }).key,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('evaluating the printed-then-parsed expression equals evaluating the original', () => {
    fc.assert(
      fc.property(whereArb, fc.array(rowArb, { minLength: 1, maxLength: 5 }), linksArb, ({ expr, deps }, rows, links) => {
        const reparsed = parseWhere(printWhere(expr, deps)).expr;
        for (const row of rows) expect(evaluateTruth(reparsed, row, links)).toBe(evaluateTruth(expr, row, links));
      }),
      { numRuns: 300 },
    );
  });

  it('normalizeShape is idempotent', () => {
    const tableArb = fc.constantFrom('users', 'Users', 'public.users', '"Users"', 'app."Order Items"', ' APP . items ', '"select"');
    const columnsArb = fc.option(
      fc.uniqueArray(fc.constantFrom('id', 'ID', '"Name"', 'org_id', '"user id"', 'at', '"select"'), {
        minLength: 1,
        maxLength: 4,
        selector: (c) => quoteIdentifier(c.startsWith('"') ? c.slice(1, -1) : c.toLowerCase()),
      }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(
        tableArb,
        fc.option(whereArb, { nil: undefined }),
        columnsArb,
        fc.option(fc.constantFrom<'default' | 'full'>('default', 'full'), { nil: undefined }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 32 }),
        (table, where, columns, replica, noise) => {
          const input = {
            table,
            ...(where === undefined ? {} : { where: messyPrint(where.expr, where.deps, noise) }),
            ...(columns === undefined ? {} : { columns }),
            ...(replica === undefined ? {} : { replica }),
          };
          const once = normalizeShape(input);
          const twice = normalizeShape(once.definition);
          expect(twice.definition).toEqual(once.definition);
          expect(twice.key).toBe(once.key);
          expect(twice.where).toEqual(once.where);
          expect(twice.dependencies).toEqual(once.dependencies);
          expect(once.key).toBe(definitionKey(once.definition));
          // dependencies are themselves in normal form
          for (const dep of once.dependencies) expect(normalizeShape(dep).definition).toEqual(dep);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('three-valued logic laws hold on random rows', () => {
    const truth = (sql: string) => parseWhere(sql).expr;
    const laws: Array<[WhereExpr, WhereExpr]> = [
      [truth('NOT (a AND b)'), truth('NOT a OR NOT b')],
      [truth('NOT (a OR b)'), truth('NOT a AND NOT b')],
      [truth('a NOT IN (b, id, 1)'), truth('NOT (a IN (b, id, 1))')],
      [truth('a IN (b, id, 1)'), truth('a = b OR a = id OR a = 1')],
      [truth('a NOT IN (b, id)'), truth('a <> b AND a <> id')],
      [truth('a BETWEEN b AND id'), truth('a >= b AND a <= id')],
      [truth('a BETWEEN SYMMETRIC b AND id'), truth('(a >= b AND a <= id) OR (a >= id AND a <= b)')],
      [truth('a NOT BETWEEN b AND id'), truth('NOT (a BETWEEN b AND id)')],
      [truth('a IS NOT DISTINCT FROM b'), truth('(a IS NULL AND b IS NULL) OR (a = b) IS TRUE')],
      [truth('(a = b) IS UNKNOWN'), truth('a IS NULL OR b IS NULL OR (a = b) IS NULL')],
      [truth('a <> b'), truth('NOT (a = b)')],
      [truth('a < b'), truth('b > a')],
      [truth('a <= b'), truth('a < b OR a = b')],
      [truth('id NOT IN (SELECT x FROM s)'), truth('NOT (id IN (SELECT x FROM s))')],
    ];
    fc.assert(
      fc.property(rowArb, linksArb, (row, links) => {
        for (const [l, r] of laws) expect(evaluateTruth(l, row, links)).toBe(evaluateTruth(r, row, links));
      }),
      { numRuns: 300 },
    );
  });
});
