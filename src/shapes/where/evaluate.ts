/**
 * Evaluates a WhereExpr against a row as Postgres would: SQL's three-valued logic (`null` is
 * UNKNOWN; a row qualifies only when the where clause is TRUE), values read in their column's
 * type (`types`: the table's ColumnTypes; a column without one is typed by its value's JSON
 * type), each comparison made in the type Postgres picks for it (sql-types.ts).
 *
 * - A comparison with NULL is UNKNOWN; so is one Postgres has no operator for when the types
 *   are only known per row (a text value against a number; with declared types such a clause is
 *   refused at `add`, see check-types.ts), and one whose constant Postgres cannot convert.
 * - `x [NOT] IN (list)`: Postgres casts the list's constants to one common type when there are
 *   two or more of them (`f4 IN (0.1, 0.2)` compares in float4, `f4 = 0.1` in float8); items with
 *   columns are compared one by one. TRUE if x equals an item; else UNKNOWN if any comparison
 *   was; else FALSE (negated for NOT IN).
 * - BETWEEN is `x >= low AND x <= high` (SYMMETRIC: or with the bounds swapped).
 * - LIKE / ILIKE: like.ts. IS DISTINCT FROM: NULL-safe, never UNKNOWN.
 * - `test IN (SELECT ...)`: the test values' canonical keys against the dependency's link set,
 *   with SQL's NULL rules: TRUE when the subquery selects the tuple; else UNKNOWN when it selects
 *   a tuple that could equal it but for NULLs (a NULL selected, or a NULL tested against a
 *   non-empty subquery); else FALSE (so `NULL IN (empty)` is FALSE, `NULL NOT IN (empty)` TRUE).
 */
import type { TableColumnTypes } from '../column-types.ts';
import type { CompareOp, InListExpr, WhereExpr } from './ast.ts';
import { childrenOf } from './ast.ts';
import { castConst, constType, constValue } from './constants.ts';
import { likeMatch } from './like.ts';
import type { LinkValues } from './link-set.ts';
import { linkElements, tupleKey } from './link-key.ts';
import { InputError } from './sql-input.ts';
import type { SqlType } from './sql-types.ts';
import { columnSqlTypes, commonType, comparisonType, valueSqlType } from './sql-types.ts';
import type { Order } from './sql-values.ts';
import { compareIn, convertValue, INVALID, readValue } from './sql-values.ts';

/** Three-valued truth: `null` is UNKNOWN. */
export type Truth = boolean | null;

export type { LinkSet, LinkValues } from './link-set.ts';

export type Row = Readonly<Record<string, unknown>>;

interface Env {
  readonly row: Row;
  readonly links: LinkValues;
  readonly types: ReadonlyMap<string, SqlType> | undefined;
}

/** True when the row satisfies the where clause (its value is TRUE, not FALSE nor UNKNOWN). */
export function evaluateWhere(expr: WhereExpr, row: Row, links: LinkValues, types?: TableColumnTypes): boolean {
  return truth(evaluateValue(expr, { row, links, types: types && columnSqlTypes(types) })) === true;
}

/** The three-valued truth of a where clause on a row. */
export function evaluateTruth(expr: WhereExpr, row: Row, links: LinkValues, types?: TableColumnTypes): Truth {
  return truth(evaluateValue(expr, { row, links, types: types && columnSqlTypes(types) }));
}

function truth(v: unknown): Truth {
  return typeof v === 'boolean' ? v : null;
}

function not(t: Truth): Truth {
  return t === null ? null : !t;
}

function and(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}

function or(a: Truth, b: Truth): Truth {
  if (a === true || b === true) return true;
  return a === null || b === null ? null : false;
}

function rawOf(row: Row, name: string): unknown {
  const v = Object.hasOwn(row, name) ? row[name] : undefined;
  return v === undefined ? null : v;
}

function operandType(e: WhereExpr, env: Env): SqlType {
  if (e.kind === 'column') return env.types?.get(e.name) ?? valueSqlType(rawOf(env.row, e.name));
  if (e.kind === 'const') return constType(e);
  return 'bool';
}

/** An operand's value in its own type's form; null for NULL. */
function operandValue(e: WhereExpr, t: SqlType, env: Env): unknown {
  if (e.kind === 'column') {
    const raw = rawOf(env.row, e.name);
    return raw === null ? null : readValue(raw, t);
  }
  if (e.kind === 'const') return constValue(e);
  return truth(evaluateValue(e, env));
}

/** An operand's value as a value of `to`; INVALID when it cannot be. */
function operandAs(e: WhereExpr, t: SqlType, v: unknown, to: SqlType): unknown {
  if (v === INVALID || v instanceof InputError) return INVALID;
  if (e.kind === 'const') {
    const cast = castConst(e, to);
    return cast instanceof InputError ? INVALID : cast;
  }
  return convertValue(v, t, to);
}

function applyCompare(op: CompareOp, c: Order): Truth {
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
      return c !== 0;
    case '<':
      return c === 2 ? null : c < 0;
    case '<=':
      return c === 2 ? null : c <= 0;
    case '>':
      return c === 2 ? null : c > 0;
    case '>=':
      return c === 2 ? null : c >= 0;
  }
}

/** `l op r` in the type Postgres compares them in. */
function compare(op: CompareOp, l: WhereExpr, r: WhereExpr, env: Env): Truth {
  const lt = operandType(l, env);
  const rt = operandType(r, env);
  const a = operandValue(l, lt, env);
  const b = operandValue(r, rt, env);
  if (a === null || b === null) return null;
  const c = comparisonType(lt, rt);
  if (c === null) return null;
  const x = operandAs(l, lt, a, c);
  const y = operandAs(r, rt, b, c);
  return x === INVALID || y === INVALID ? null : applyCompare(op, compareIn(c, x, y));
}

const inListPlans = new WeakMap<InListExpr, { readonly vars: readonly WhereExpr[]; readonly constants: readonly WhereExpr[] }>();

/** Which list items contain columns (compared one by one) and which do not (one array when two or more). */
export function inListPlan(e: InListExpr): { readonly vars: readonly WhereExpr[]; readonly constants: readonly WhereExpr[] } {
  let plan = inListPlans.get(e);
  if (!plan) {
    const hasColumn = (x: WhereExpr): boolean => x.kind === 'column' || x.kind === 'sublink' || childrenOf(x).some(hasColumn);
    const vars = e.list.filter(hasColumn);
    const constants = e.list.filter((x) => !hasColumn(x));
    plan = constants.length > 1 ? { vars, constants } : { vars: e.list, constants: [] };
    inListPlans.set(e, plan);
  }
  return plan;
}

function evalInList(e: InListExpr, env: Env): Truth {
  const plan = inListPlan(e);
  let result: Truth = false;
  let rest = plan.vars;
  if (plan.constants.length > 0) {
    const lt = operandType(e.expr, env);
    const common = commonType([lt, ...plan.constants.map((c) => operandType(c, env))]);
    if (common === null) rest = e.list;
    else {
      const c = comparisonType(lt, common);
      const a = operandValue(e.expr, lt, env);
      const x = a === null || c === null ? a : operandAs(e.expr, lt, a, c);
      for (const item of plan.constants) {
        const v = operandValue(item, operandType(item, env), env);
        const inCommon = v === null ? null : operandAs(item, operandType(item, env), v, common);
        if (c === null || x === INVALID || inCommon === INVALID) return null;
        const y = inCommon === null ? null : convertValue(inCommon, common, c);
        if (y === INVALID) return null;
        result = or(result, x === null || y === null ? null : compareIn(c!, x, y) === 0);
        if (result === true) break;
      }
    }
  }
  for (const item of rest) {
    if (result === true) break;
    result = or(result, compare('=', e.expr, item, env));
  }
  return e.negated ? not(result) : result;
}

function evalLike(e: Extract<WhereExpr, { kind: 'like' }>, env: Env): Truth {
  const vt = operandType(e.expr, env);
  const pt = operandType(e.pattern, env);
  if ((vt !== 'text' && vt !== 'unknown') || (pt !== 'text' && pt !== 'unknown')) return null;
  const v = operandValue(e.expr, vt, env);
  const p = operandValue(e.pattern, pt, env);
  if (typeof v !== 'string' || typeof p !== 'string') return null;
  const m = likeMatch(v, p, e.caseInsensitive);
  if (m === 'error') return null;
  return e.negated ? !m : m;
}

function evalDistinct(e: Extract<WhereExpr, { kind: 'distinct' }>, env: Env): Truth {
  const lt = operandType(e.left, env);
  const rt = operandType(e.right, env);
  const a = operandValue(e.left, lt, env);
  const b = operandValue(e.right, rt, env);
  let same: boolean;
  if (a === null || b === null) same = a === b;
  else {
    const c = comparisonType(lt, rt);
    const x = c === null ? INVALID : operandAs(e.left, lt, a, c);
    const y = c === null ? INVALID : operandAs(e.right, rt, b, c);
    same = x !== INVALID && y !== INVALID && compareIn(c!, x, y) === 0;
  }
  return e.negated ? same : !same;
}

function evalSublink(e: Extract<WhereExpr, { kind: 'sublink' }>, env: Env): Truth {
  const elements = linkElements(
    e.test.map((c) => rawOf(env.row, c.name)),
    e.test.map((c) => env.types?.get(c.name)),
  );
  const set = env.links(e.dependency);
  if (!elements.includes(null) && set.has(tupleKey(elements))) return true;
  return set.compatibleCount(elements) > 0 ? null : false;
}

/**
 * The value of any node: predicates give true/false/null, columns the row's value (a missing
 * column is NULL), constants their value.
 */
function evaluateValue(expr: WhereExpr, env: Env): unknown {
  switch (expr.kind) {
    case 'column':
      return rawOf(env.row, expr.name);
    case 'const':
      return expr.value;
    case 'compare':
      return compare(expr.op, expr.left, expr.right, env);
    case 'and': {
      let result: Truth = true;
      for (const a of expr.args) {
        result = and(result, truth(evaluateValue(a, env)));
        if (result === false) return false;
      }
      return result;
    }
    case 'or': {
      let result: Truth = false;
      for (const a of expr.args) {
        result = or(result, truth(evaluateValue(a, env)));
        if (result === true) return true;
      }
      return result;
    }
    case 'not':
      return not(truth(evaluateValue(expr.arg, env)));
    case 'inList':
      return evalInList(expr, env);
    case 'isNull': {
      const isNull = operandValue(expr.expr, operandType(expr.expr, env), env) === null;
      return expr.negated ? !isNull : isNull;
    }
    case 'isBool': {
      const v = truth(evaluateValue(expr.expr, env));
      const t = expr.test === 'unknown' ? v === null : v === (expr.test === 'true');
      return expr.negated ? !t : t;
    }
    case 'between': {
      const { expr: x, low, high } = expr;
      let t = and(compare('>=', x, low, env), compare('<=', x, high, env));
      if (expr.symmetric && t !== true) t = or(t, and(compare('>=', x, high, env), compare('<=', x, low, env)));
      return expr.negated ? not(t) : t;
    }
    case 'like':
      return evalLike(expr, env);
    case 'distinct':
      return evalDistinct(expr, env);
    case 'sublink':
      return evalSublink(expr, env);
  }
}
