import { COMPARE_OPS, type ColumnExpr, type CompareOp, type WhereExpr } from './ast.ts';

/**
 * A where clause as nested arrays, for storage (the metadata log, version 2): the tag first, then
 * the node's fields in a fixed order, children packed the same way. About a third of the JSON of
 * the expression's objects, and arrays parse faster than objects with keys: restore reads one
 * per shape.
 *
 *   column `["c", name]`                 const `["v", value]` (`["num", text]`: numeric)
 *   compare `[op, left, right]`          and / or `["and" | "or", ...args]`      not `["not", arg]`
 *   inList `["in", negated, expr, ...list]`       isNull `["isNull", negated, expr]`
 *   isBool `["isBool", test, negated, expr]`      between `["between", negated, symmetric, expr, low, high]`
 *   like `["like", negated, caseInsensitive, expr, pattern]`      distinct `["distinct", negated, left, right]`
 *   sublink `["sublink", dependency, ...test column names]`
 */
export type PackedWhere = readonly unknown[];

export function packWhere(expr: WhereExpr): PackedWhere {
  switch (expr.kind) {
    case 'column':
      return ['c', expr.name];
    case 'const':
      return expr.numeric ? ['num', expr.value] : ['v', expr.value];
    case 'compare':
      return [expr.op, packWhere(expr.left), packWhere(expr.right)];
    case 'and':
    case 'or':
      return [expr.kind, ...expr.args.map(packWhere)];
    case 'not':
      return ['not', packWhere(expr.arg)];
    case 'inList':
      return ['in', expr.negated, packWhere(expr.expr), ...expr.list.map(packWhere)];
    case 'isNull':
      return ['isNull', expr.negated, packWhere(expr.expr)];
    case 'isBool':
      return ['isBool', expr.test, expr.negated, packWhere(expr.expr)];
    case 'between':
      return ['between', expr.negated, expr.symmetric, packWhere(expr.expr), packWhere(expr.low), packWhere(expr.high)];
    case 'like':
      return ['like', expr.negated, expr.caseInsensitive, packWhere(expr.expr), packWhere(expr.pattern)];
    case 'distinct':
      return ['distinct', expr.negated, packWhere(expr.left), packWhere(expr.right)];
    case 'sublink':
      return ['sublink', expr.dependency, ...expr.test.map((c) => c.name)];
  }
}

/** Why a stored value is not a packed where clause. */
export class PackedWhereError extends Error {}

/** The expression `packWhere` packed; a PackedWhereError naming the first node that is not one. */
export function unpackWhere(value: unknown): WhereExpr {
  if (!Array.isArray(value) || value.length === 0) throw new PackedWhereError('a node is not a non-empty array');
  const tag: unknown = value[0];
  const n = value.length;
  switch (tag) {
    case 'c':
      if (n !== 2) throw bad(tag);
      return column(value[1]);
    case 'v': {
      const v: unknown = value[1];
      if (n !== 2 || !(v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) throw bad(tag);
      return { kind: 'const', value: v };
    }
    case 'num':
      if (n !== 2 || typeof value[1] !== 'string') throw bad(tag);
      return { kind: 'const', value: value[1], numeric: true };
    case 'and':
    case 'or':
      if (n < 3) throw bad(tag);
      return { kind: tag, args: value.slice(1).map(unpackWhere) };
    case 'not':
      if (n !== 2) throw bad(tag);
      return { kind: 'not', arg: unpackWhere(value[1]) };
    case 'in':
      if (n < 4) throw bad(tag);
      return { kind: 'inList', expr: unpackWhere(value[2]), list: value.slice(3).map(unpackWhere), negated: flag(value[1], tag) };
    case 'isNull':
      if (n !== 3) throw bad(tag);
      return { kind: 'isNull', expr: unpackWhere(value[2]), negated: flag(value[1], tag) };
    case 'isBool': {
      const test: unknown = value[1];
      if (n !== 4 || (test !== 'true' && test !== 'false' && test !== 'unknown')) throw bad(tag);
      return { kind: 'isBool', expr: unpackWhere(value[3]), test, negated: flag(value[2], tag) };
    }
    case 'between':
      if (n !== 6) throw bad(tag);
      return { kind: 'between', expr: unpackWhere(value[3]), low: unpackWhere(value[4]), high: unpackWhere(value[5]), negated: flag(value[1], tag), symmetric: flag(value[2], tag) };
    case 'like':
      if (n !== 5) throw bad(tag);
      return { kind: 'like', expr: unpackWhere(value[3]), pattern: unpackWhere(value[4]), negated: flag(value[1], tag), caseInsensitive: flag(value[2], tag) };
    case 'distinct':
      if (n !== 4) throw bad(tag);
      return { kind: 'distinct', left: unpackWhere(value[2]), right: unpackWhere(value[3]), negated: flag(value[1], tag) };
    case 'sublink': {
      const dependency: unknown = value[1];
      if (n < 3 || typeof dependency !== 'number' || !Number.isInteger(dependency) || dependency < 0) throw bad(tag);
      return { kind: 'sublink', test: value.slice(2).map(column), dependency };
    }
    default:
      if (isCompareOp(tag)) {
        if (n !== 3) throw bad(tag);
        return { kind: 'compare', op: tag, left: unpackWhere(value[1]), right: unpackWhere(value[2]) };
      }
      throw new PackedWhereError(`unknown node ${JSON.stringify(tag)}`);
  }
}

function column(name: unknown): ColumnExpr {
  if (typeof name !== 'string' || name.length === 0) throw bad('c');
  return { kind: 'column', name };
}

function flag(value: unknown, tag: string): boolean {
  if (typeof value !== 'boolean') throw bad(tag);
  return value;
}

function isCompareOp(tag: unknown): tag is CompareOp {
  return typeof tag === 'string' && (COMPARE_OPS as readonly string[]).includes(tag);
}

function bad(tag: string): PackedWhereError {
  return new PackedWhereError(`malformed ${tag} node`);
}
