/**
 * Our own where-clause expression type: the supported subset of Postgres boolean expressions.
 * Every node yields a value (booleans for predicates), so operands may be any node; the parser
 * only rejects obviously non-boolean constants in boolean positions (`WHERE 1`).
 *
 * Canonical-form rules the parser guarantees (and the printer relies on):
 * - `and` / `or` have at least two args and never directly contain a node of their own kind
 *   (nested ANDs / ORs are flattened: `a AND (b AND c)` is `and[a, b, c]`);
 * - `NOT x IN (SELECT ...)` and `x NOT IN (SELECT ...)` are both `not(sublink)`;
 * - `-0` is `0`; `!=` is `<>`; string constants are already unescaped.
 */

/**
 * The version of this expression type as stored (the metadata log keeps parsed where clauses so
 * restore parses no SQL). Change it with any change to the types below or to what the parser
 * produces: a stored expression of another version is parsed again from its SQL.
 */
export const WHERE_AST_VERSION = 1;

export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

export const COMPARE_OPS: readonly CompareOp[] = ['=', '<>', '<', '<=', '>', '>='];

/** A column of the shape's own table, by raw name (`"userId"` in SQL is `userId` here). */
export interface ColumnExpr {
  readonly kind: 'column';
  readonly name: string;
}

/**
 * A literal. Numeric literals are JS numbers when the double denotes exactly the literal's
 * decimal value as written (`1.5`, `0.1`, `1e21`, `0x1F` = 31); otherwise (`99999999999999999999`,
 * `1e400`, `0.1000000000000000000001`) they are kept as their decimal text with `numeric: true`
 * (compared exactly, as decimals, by the evaluator). `numeric` is absent otherwise.
 * `1.0` and `1` therefore denote the same constant (number 1).
 */
export interface ConstExpr {
  readonly kind: 'const';
  readonly value: string | number | boolean | null;
  readonly numeric?: true;
}

/** `left op right`; `!=` parses as `<>`. */
export interface CompareExpr {
  readonly kind: 'compare';
  readonly op: CompareOp;
  readonly left: WhereExpr;
  readonly right: WhereExpr;
}

export interface AndExpr {
  readonly kind: 'and';
  readonly args: readonly WhereExpr[];
}

export interface OrExpr {
  readonly kind: 'or';
  readonly args: readonly WhereExpr[];
}

export interface NotExpr {
  readonly kind: 'not';
  readonly arg: WhereExpr;
}

/** `expr [NOT] IN (list...)` with a literal list (at least one item). */
export interface InListExpr {
  readonly kind: 'inList';
  readonly expr: WhereExpr;
  readonly list: readonly WhereExpr[];
  readonly negated: boolean;
}

/** `expr IS [NOT] NULL`. */
export interface IsNullExpr {
  readonly kind: 'isNull';
  readonly expr: WhereExpr;
  readonly negated: boolean;
}

/** `expr IS [NOT] TRUE | FALSE | UNKNOWN`. */
export interface IsBoolExpr {
  readonly kind: 'isBool';
  readonly expr: WhereExpr;
  readonly test: 'true' | 'false' | 'unknown';
  readonly negated: boolean;
}

/** `expr [NOT] BETWEEN [SYMMETRIC] low AND high`. */
export interface BetweenExpr {
  readonly kind: 'between';
  readonly expr: WhereExpr;
  readonly low: WhereExpr;
  readonly high: WhereExpr;
  readonly negated: boolean;
  readonly symmetric: boolean;
}

/** `expr [NOT] LIKE pattern` / `expr [NOT] ILIKE pattern` (default escape `\`, no ESCAPE clause). */
export interface LikeExpr {
  readonly kind: 'like';
  readonly expr: WhereExpr;
  readonly pattern: WhereExpr;
  readonly negated: boolean;
  readonly caseInsensitive: boolean;
}

/** `left IS [NOT] DISTINCT FROM right`. */
export interface DistinctExpr {
  readonly kind: 'distinct';
  readonly left: WhereExpr;
  readonly right: WhereExpr;
  readonly negated: boolean;
}

/**
 * `test IN (SELECT ...)` / `(a, b) IN (SELECT x, y ...)`. `test` holds one column, or several for a
 * row comparison. `dependency` indexes `NormalizedShape.dependencies` (equivalently
 * `parseWhere(...).dependencies`). `x NOT IN (SELECT ...)` is `not` over a sublink.
 */
export interface SublinkExpr {
  readonly kind: 'sublink';
  readonly test: readonly ColumnExpr[];
  readonly dependency: number;
}

export type WhereExpr =
  | ColumnExpr
  | ConstExpr
  | CompareExpr
  | AndExpr
  | OrExpr
  | NotExpr
  | InListExpr
  | IsNullExpr
  | IsBoolExpr
  | BetweenExpr
  | LikeExpr
  | DistinctExpr
  | SublinkExpr;

export type WhereExprKind = WhereExpr['kind'];

/** Direct children of a node, in source order. */
export function childrenOf(expr: WhereExpr): readonly WhereExpr[] {
  switch (expr.kind) {
    case 'column':
    case 'const':
      return [];
    case 'compare':
    case 'distinct':
      return [expr.left, expr.right];
    case 'and':
    case 'or':
      return expr.args;
    case 'not':
      return [expr.arg];
    case 'inList':
      return [expr.expr, ...expr.list];
    case 'isNull':
    case 'isBool':
      return [expr.expr];
    case 'between':
      return [expr.expr, expr.low, expr.high];
    case 'like':
      return [expr.expr, expr.pattern];
    case 'sublink':
      return expr.test;
  }
}
