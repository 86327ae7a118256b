/**
 * Parameterised SQL from our where-clause AST (shapes/where/ast.ts), for the
 * queries the Postgres source sends. Values never reach the SQL text: string
 * and number constants become `$n` parameters; only identifiers (quoted),
 * operators, `TRUE`/`FALSE`/`NULL` and casts are printed.
 *
 * Constants: a string parameter is left untyped, exactly like a string literal
 * in SQL (Postgres gives it the type of what it is compared with: text,
 * varchar, uuid, a date...); a number parameter is cast to `numeric`, so it
 * compares as a number with any numeric column (`int_col = 1.5` is false, not
 * an input error), as the where evaluator does.
 *
 * Sublinks (`x IN (SELECT ...)`), by `sublinks`:
 * - `'subquery'`: printed as the subquery itself, its where clause built the
 *   same way (recursively, nested subqueries included): the shape's where
 *   clause as Postgres evaluates it (the integration tests compare shape logs
 *   with it);
 * - `'unknown'`: printed as `NULL::boolean`. With SQL's three-valued logic a
 *   clause that is FALSE with a sublink UNKNOWN is FALSE whatever the sublink
 *   says (Kleene logic is monotone), so `(<where>) IS NOT FALSE` keeps every
 *   row that could qualify for some value of the sublinks: a sound prefilter
 *   for move-in queries, whose dependency values live in the runtime, not in
 *   the database. That holds for AND, OR, NOT and comparisons, not for the tests that turn
 *   UNKNOWN into TRUE or FALSE (`IS [NOT] TRUE/FALSE/UNKNOWN`, `IS [NOT] NULL`, `IS [NOT]
 *   DISTINCT FROM`): such a test of an operand holding a sublink is printed as `NULL::boolean`
 *   too (`(x NOT IN (SELECT ...)) IS FALSE` could be TRUE or FALSE).
 * - a function: prints the sublink itself (e.g. `col = ANY($n)` over given values).
 */
import { columnNames, normalizeShape, type ShapeDefinition } from '../../shapes/definition.ts';
import { childrenOf, type SublinkExpr, type WhereExpr } from '../../shapes/where/ast.ts';

/** Always-quoted identifier (generated SQL need not be pretty). */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error('an identifier cannot contain a NUL character');
  return `"${name.replaceAll('"', '""')}"`;
}

/** Collects parameter values; `add` returns the placeholder. */
export class SqlParams {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export type SublinkPolicy = 'subquery' | 'unknown' | ((sublink: SublinkExpr, params: SqlParams) => string);

export interface WhereSqlOptions {
  readonly params: SqlParams;
  /** The definitions the sublinks index (NormalizedShape.dependencies); needed for `'subquery'`. */
  readonly dependencies?: readonly ShapeDefinition[];
  readonly sublinks: SublinkPolicy;
  /**
   * Columns of an integer type (int2, int4, int8): an integer constant compared with one is a
   * parameter cast to `int8` (Postgres compares integers of any width with it, by the column's
   * index) instead of `numeric` (which would compare the column cast to numeric, row by row).
   */
  readonly integerColumns?: ReadonlySet<string>;
}

/** A where expression as SQL with parameters (see the module doc). */
export function whereToSql(expr: WhereExpr, options: WhereSqlOptions): string {
  const { params } = options;
  const p = (e: WhereExpr): string => whereToSql(e, options);
  const operand = (e: WhereExpr): string => (e.kind === 'column' || e.kind === 'const' ? p(e) : `(${p(e)})`);
  // An integer compared with an integer column: typed so the column's index serves.
  const against = (column: WhereExpr, e: WhereExpr): string =>
    column.kind === 'column' && e.kind === 'const' && Number.isSafeInteger(e.value) && options.integerColumns?.has(column.name) ? `${params.add(String(e.value))}::int8` : operand(e);
  const not = (negated: boolean): string => (negated ? 'NOT ' : '');
  if (options.sublinks === 'unknown' && SETTLES_UNKNOWN.has(expr.kind) && childrenOf(expr).some(holdsSublink)) return 'NULL::boolean';

  switch (expr.kind) {
    case 'column':
      return quoteIdent(expr.name);
    case 'const': {
      const { value } = expr;
      if (value === null) return 'NULL';
      if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
      if (typeof value === 'number' || expr.numeric === true) return `${params.add(String(value))}::numeric`;
      return params.add(value);
    }
    case 'compare':
      return `${against(expr.right, expr.left)} ${expr.op} ${against(expr.left, expr.right)}`;
    case 'and':
      return expr.args.map((a) => `(${p(a)})`).join(' AND ');
    case 'or':
      return expr.args.map((a) => `(${p(a)})`).join(' OR ');
    case 'not':
      return `NOT (${p(expr.arg)})`;
    case 'inList':
      return `${operand(expr.expr)} ${not(expr.negated)}IN (${expr.list.map((e) => against(expr.expr, e)).join(', ')})`;
    case 'isNull':
      return `${operand(expr.expr)} IS ${not(expr.negated)}NULL`;
    case 'isBool':
      return `${operand(expr.expr)} IS ${not(expr.negated)}${expr.test.toUpperCase()}`;
    case 'between':
      return `${operand(expr.expr)} ${not(expr.negated)}BETWEEN ${expr.symmetric ? 'SYMMETRIC ' : ''}${against(expr.expr, expr.low)} AND ${against(expr.expr, expr.high)}`;
    case 'like':
      return `${operand(expr.expr)} ${not(expr.negated)}${expr.caseInsensitive ? 'ILIKE' : 'LIKE'} ${operand(expr.pattern)}`;
    case 'distinct':
      return `${operand(expr.left)} IS ${not(expr.negated)}DISTINCT FROM ${operand(expr.right)}`;
    case 'sublink':
      return sublinkSql(expr, options);
  }
}

/** Tests whose value is TRUE or FALSE even when an operand is UNKNOWN (not monotone in Kleene logic). */
const SETTLES_UNKNOWN: ReadonlySet<WhereExpr['kind']> = new Set(['isBool', 'isNull', 'distinct']);

function holdsSublink(expr: WhereExpr): boolean {
  return expr.kind === 'sublink' || childrenOf(expr).some(holdsSublink);
}

function sublinkSql(expr: SublinkExpr, options: WhereSqlOptions): string {
  const policy = options.sublinks;
  if (policy === 'unknown') return 'NULL::boolean';
  if (typeof policy === 'function') return policy(expr, options.params);
  const dependency = options.dependencies?.[expr.dependency];
  if (!dependency) throw new Error(`sublink refers to dependency ${expr.dependency}, which was not given`);
  const inner = normalizeShape(dependency);
  const columns = dependency.columns ?? [];
  if (columns.length === 0) throw new Error(`dependency ${expr.dependency} (${dependency.table}) selects no columns`);
  const test = expr.test.length === 1 ? quoteIdent(expr.test[0]!.name) : `(${expr.test.map((c) => quoteIdent(c.name)).join(', ')})`;
  // Dependency columns are normalized identifiers (printed canonically, quoted where needed): valid SQL as they are.
  const where = inner.where ? ` WHERE ${whereToSql(inner.where, { ...options, dependencies: inner.dependencies })}` : '';
  return `${test} IN (SELECT ${columns.join(', ')} FROM ${dependency.table}${where})`;
}

/**
 * `SELECT <columns> FROM <table> WHERE <where>`: the rows a shape holds, as
 * Postgres evaluates its definition (key columns always selected).
 */
export function shapeQuery(definition: ShapeDefinition, keyColumns: readonly string[]): { text: string; values: unknown[] } {
  const shape = normalizeShape(definition);
  const params = new SqlParams();
  const columns = columnNames(shape.definition);
  const selected = columns ? [...new Set([...keyColumns, ...columns])].map(quoteIdent) : ['*'];
  const where = shape.where ? ` WHERE ${whereToSql(shape.where, { params, dependencies: shape.dependencies, sublinks: 'subquery' })}` : '';
  return { text: `SELECT ${selected.join(', ')} FROM ${shape.definition.table}${where}`, values: params.values };
}
