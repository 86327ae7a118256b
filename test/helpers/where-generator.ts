/**
 * Random where clauses and histories for the differential test against Postgres
 * (test/integration/where-differential.test.ts): clauses over typed tables in the grammar the
 * runtime supports (and some it refuses, or Postgres rejects: mixed types, quoted numbers it
 * cannot read, outer columns in subqueries), histories of transactions that change rows several
 * times, touch only a subquery's table, and move rows in and out. Everything is a fast-check
 * arbitrary, so a failure shrinks to a minimal clause and history.
 */
import fc from 'fast-check';

type Family = 'int' | 'exact' | 'float' | 'text' | 'bool';

interface TableSpec {
  readonly name: string;
  /** Column -> family (and SQL type, for CREATE TABLE). */
  readonly columns: Readonly<Record<string, { readonly family: Family; readonly sql: string }>>;
}

export const TABLES: readonly TableSpec[] = [
  {
    name: 'items',
    columns: {
      i2: { family: 'int', sql: 'int2' },
      i4: { family: 'int', sql: 'int4' },
      i8: { family: 'int', sql: 'int8' },
      n: { family: 'exact', sql: 'numeric' },
      f4: { family: 'float', sql: 'float4' },
      f8: { family: 'float', sql: 'float8' },
      t: { family: 'text', sql: 'text' },
      v: { family: 'text', sql: 'varchar(12)' },
      b: { family: 'bool', sql: 'bool' },
    },
  },
  {
    name: 'other',
    columns: {
      ox: { family: 'int', sql: 'int4' },
      o8: { family: 'int', sql: 'int8' },
      onum: { family: 'exact', sql: 'numeric' },
      of8: { family: 'float', sql: 'float8' },
      ot: { family: 'text', sql: 'text' },
      ob: { family: 'bool', sql: 'bool' },
    },
  },
  {
    name: 'third',
    columns: {
      tw: { family: 'int', sql: 'int4' },
      tn: { family: 'exact', sql: 'numeric' },
      tv: { family: 'text', sql: 'text' },
    },
  },
];

export const tableSpec = (name: string): TableSpec => TABLES.find((t) => t.name === name)!;

/** `CREATE TABLE` statements (C collation: the database is created with it). */
export function createTablesSql(): string {
  return TABLES.map((t) => `CREATE TABLE ${t.name} (id int4 PRIMARY KEY, ${Object.entries(t.columns).map(([c, { sql }]) => `${c} ${sql}`).join(', ')});`).join('\n');
}

// ------------------------------------------------------------------------------- constants

const LITERALS: Readonly<Record<Family, readonly string[]>> = {
  int: ['0', '1', '-1', '2', '7', '32767', '-32768', '2147483647', '2147483648', '9007199254740993', "' 5'", "'7 '", "'1.5'"],
  exact: ['1.5', '1.50', '0.1', '7', '0.100000000000000000001', '99999999999999999999', '1e3', "'NaN'", "' 1.5 '", "'Infinity'", '-0.0', "'1.50 '"],
  float: ['0.1', '1.5', '7', "'NaN'", "'Infinity'", "'-inf'", '0.100000000000000000001', '1e300', '16777217', '1e400', "' 0.1'"],
  text: ["'a'", "'A'", "'é'", "'É'", "'07'", "'7'", "''", "'ab'", "'b'", "'ß'", "' 5'"],
  bool: ['TRUE', 'FALSE', "'t'", "'yes'", "' off '", "'maybe'"],
};
const ALL_LITERALS = [...new Set(Object.values(LITERALS).flat()), 'NULL'];

const PATTERNS = ["'a%'", "'%a'", "'_'", "'A%'", "'%'", "'a\\%'", "'_b'", "'%7'", "'ab'"];
/** Letters beyond ASCII in both cases: ILIKE folds ASCII only under the C collation. */
const UNICODE_PATTERNS = ["'é%'", "'É%'", "'%É'", "'é'", "'É'", "'_a'"];
/**
 * Patterns ending in a lone escape: Postgres matches up to it and raises only once a row reaches
 * it (`'%\'` always; `'a\'` for a row starting with a; `'x\'`, `'_x\'` never here).
 */
const ESCAPE_PATTERNS = ["'a\\'", "'%\\'", "'x\\'", "'_x\\'"];

function literalArb(family: Family): fc.Arbitrary<string> {
  return fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...LITERALS[family]) }, { weight: 1, arbitrary: fc.constant('NULL') }, { weight: 1, arbitrary: fc.constantFrom(...ALL_LITERALS) });
}

// --------------------------------------------------------------------------------- clauses

const OPS = ['=', '<>', '<', '<=', '>', '>=', '!='] as const;

function columnArb(table: TableSpec, family?: Family): fc.Arbitrary<string> {
  const names = Object.entries(table.columns)
    .filter(([, c]) => family === undefined || c.family === family || (family === 'exact' && c.family === 'int'))
    .map(([n]) => n);
  return fc.constantFrom(...(names.length > 0 ? names : Object.keys(table.columns)));
}

/** A column of the table and a family to draw its constants from (mostly its own). */
function typedColumnArb(table: TableSpec): fc.Arbitrary<{ column: string; family: Family }> {
  return fc.constantFrom(...Object.keys(table.columns)).chain((column) => {
    const own = table.columns[column]!.family;
    const families: Family[] = own === 'int' || own === 'exact' || own === 'float' ? [own, 'int', 'exact', 'float'] : [own];
    return fc.record({ column: fc.constant(column), family: fc.oneof({ weight: 6, arbitrary: fc.constant(own) }, { weight: 2, arbitrary: fc.constantFrom(...families) }, { weight: 1, arbitrary: fc.constantFrom<Family>('int', 'text', 'bool') }) });
  });
}

/** Predicates over `table`; `outer` is the table a subquery's clause may (wrongly) refer to. */
export function predicateArb(table: TableSpec, depth: number, outer?: TableSpec): fc.Arbitrary<string> {
  const leaves: fc.Arbitrary<string>[] = [
    typedColumnArb(table).chain(({ column, family }) =>
      fc.oneof(
        { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...OPS), literalArb(family)).map(([op, lit]) => `${column} ${op} ${lit}`) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...OPS), columnArb(table, table.columns[column]!.family)).map(([op, other]) => `${column} ${op} ${other}`) },
        { weight: 2, arbitrary: fc.tuple(fc.boolean(), fc.array(literalArb(family), { minLength: 1, maxLength: 3 })).map(([not, items]) => `${column} ${not ? 'NOT ' : ''}IN (${items.join(', ')})`) },
        {
          weight: 1,
          arbitrary: fc.tuple(fc.boolean(), fc.boolean(), literalArb(family), literalArb(family)).map(([not, sym, lo, hi]) => `${column} ${not ? 'NOT ' : ''}BETWEEN ${sym ? 'SYMMETRIC ' : ''}${lo} AND ${hi}`),
        },
        { weight: 1, arbitrary: fc.tuple(fc.boolean(), literalArb(family)).map(([not, lit]) => `${column} IS ${not ? 'NOT ' : ''}DISTINCT FROM ${lit}`) },
        { weight: 1, arbitrary: fc.boolean().map((not) => `${column} IS ${not ? 'NOT ' : ''}NULL`) },
      ),
    ),
    fc.tuple(columnArb(table, 'text'), fc.boolean(), fc.boolean(), fc.oneof(
        { weight: 9, arbitrary: fc.constantFrom(...PATTERNS) },
        { weight: 6, arbitrary: fc.constantFrom(...UNICODE_PATTERNS) },
        { weight: 2, arbitrary: fc.constantFrom(...ESCAPE_PATTERNS) },
        { weight: 2, arbitrary: columnArb(table, 'text') },
      )).map(
      ([column, not, ci, pattern]) => `${column} ${not ? 'NOT ' : ''}${ci ? 'ILIKE' : 'LIKE'} ${pattern}`,
    ),
    // Case folding beyond ASCII: rare through the leaf above, so drawn on its own too.
    fc.tuple(columnArb(table, 'text'), fc.boolean(), fc.constantFrom(...UNICODE_PATTERNS)).map(([column, not, pattern]) => `${column} ${not ? 'NOT ' : ''}ILIKE ${pattern}`),
    columnArb(table, 'bool').map((c) => (table.columns[c]!.family === 'bool' ? c : `${c} IS NULL`)),
  ];
  if (outer) leaves.push(fc.constantFrom(...Object.keys(outer.columns)).map((c) => `${c} IS NOT NULL`));
  const leaf = fc.oneof(...leaves.map((arbitrary, i) => ({ weight: i === 0 ? 6 : i === 1 ? 3 : 2, arbitrary })));
  if (depth <= 0) return leaf;
  const sub = predicateArb(table, depth - 1, outer);
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    { weight: 2, arbitrary: sublinkArb(table, depth - 1) },
    { weight: 1, arbitrary: fc.tuple(sub, sub).map(([a, b]) => `(${a}) AND (${b})`) },
    { weight: 1, arbitrary: fc.tuple(sub, sub).map(([a, b]) => `(${a}) OR (${b})`) },
    { weight: 1, arbitrary: sub.map((a) => `NOT (${a})`) },
    { weight: 1, arbitrary: fc.tuple(sub, fc.constantFrom('TRUE', 'FALSE', 'UNKNOWN'), fc.boolean()).map(([a, test, not]) => `(${a}) IS ${not ? 'NOT ' : ''}${test}`) },
    // The truth value of a subquery test itself: where a NULL it selects (UNKNOWN, not FALSE) shows.
    { weight: 1, arbitrary: fc.tuple(sublinkArb(table, depth - 1), fc.constantFrom('FALSE', 'UNKNOWN'), fc.boolean()).map(([a, test, not]) => `(${a}) IS ${not ? 'NOT ' : ''}${test}`) },
  );
}

/** `col [NOT] IN (SELECT ...)` from `table` into another table (or itself), one or two columns. */
function sublinkArb(table: TableSpec, depth: number): fc.Arbitrary<string> {
  return fc.constantFrom(...TABLES).chain((target) =>
    fc
      .tuple(
        fc.boolean(),
        typedColumnArb(table),
        fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: predicateArb(target, depth, target === table ? undefined : table) }),
        fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(columnArb(table, 'text'), columnArb(target, 'text')) }),
      )
      .chain(([not, { column, family }, where, pair]) =>
        columnArb(target, family).map((selected) => {
          const test = pair ? `(${column}, ${pair[0]})` : column;
          const cols = pair ? `${selected}, ${pair[1]}` : selected;
          return `${test} ${not ? 'NOT ' : ''}IN (SELECT ${cols} FROM public.${target.name}${where === null ? '' : ` WHERE ${where}`})`;
        }),
      ),
  );
}

export const clauseArb: fc.Arbitrary<string> = predicateArb(tableSpec('items'), 2);

// -------------------------------------------------------------------------------- histories

const VALUES: Readonly<Record<string, readonly unknown[]>> = {
  int2: [0, 1, -1, 7, 5, 32767, -32768],
  int4: [0, 1, 2, 7, 5, -1, 2147483647],
  int8: [0, 1, 7, 5, '9007199254740993', '9007199254740992', '-9223372036854775808'],
  numeric: ['0', '1.5', '1.50', '7', '7.00', '0.1', '0.100000000000000000001', 'NaN', 'Infinity', '-Infinity', '99999999999999999999', '5', '1e300'],
  float4: [0, '0.1', 1.5, 7, 'NaN', 'Infinity', '-0', '16777217', 5],
  float8: [0, '0.1', 1.5, 7, 'NaN', '-Infinity', '1e300', '-0', '9007199254740993', 5],
  // Letters beyond ASCII often (ILIKE folds ASCII only under the C collation).
  text: ['7', '07', 'a', 'É', '7.0', 'é', 'A', '', 'ab', 'a%', 'a\\', ' 5', 'ß', 'Éa', 'é', 'É', 'éA'],
  'varchar(12)': ['7', '07', 'a', 'é', 'É', '7.0', '', 'ab', 'A', 'é', 'É'],
  bool: [true, false],
};

function valueArb(sql: string, nullWeight: number): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: nullWeight, arbitrary: fc.constant(null) }, { weight: 4, arbitrary: fc.constantFrom(...VALUES[sql]!) });
}

export type Op =
  | { readonly kind: 'upsert'; readonly table: string; readonly id: number; readonly values: Readonly<Record<string, unknown>> }
  | { readonly kind: 'update'; readonly table: string; readonly id: number; readonly values: Readonly<Record<string, unknown>> }
  | { readonly kind: 'delete'; readonly table: string; readonly id: number };

function opArb(table: TableSpec, nullWeight = 1): fc.Arbitrary<Op> {
  const values = Object.fromEntries(Object.entries(table.columns).map(([c, { sql }]) => [c, valueArb(sql, nullWeight)])) as Record<string, fc.Arbitrary<unknown>>;
  const full = fc.record(values);
  const partial = fc.record(values, { requiredKeys: [] });
  const id = fc.integer({ min: 1, max: 4 });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('upsert' as const), table: fc.constant(table.name), id, values: full }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('update' as const), table: fc.constant(table.name), id, values: partial }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), table: fc.constant(table.name), id }) },
  );
}

const anyOpArb = fc.oneof(...TABLES.map(opArb));

/** Changes to a subquery's tables only, NULL-heavy (a first NULL changes `x NOT IN` for every row). */
const subqueryOpArb = fc.oneof(opArb(tableSpec('other'), 3), opArb(tableSpec('third'), 3));

/** Transactions of one to eight changes: any tables, or only a subquery's tables. */
export const historyArb: fc.Arbitrary<Op[][]> = fc.array(
  fc.oneof({ weight: 3, arbitrary: fc.array(anyOpArb, { minLength: 1, maxLength: 8 }) }, { weight: 2, arbitrary: fc.array(subqueryOpArb, { minLength: 1, maxLength: 3 }) }),
  { minLength: 1, maxLength: 7 },
);
