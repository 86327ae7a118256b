/**
 * Canonical SQL printer for WhereExpr (libpg-query 18 has no deparser).
 *
 * Rules: keywords upper case; one space around binary operators; identifiers quoted only when
 * required; strings in '...' with '' doubling (standard_conforming_strings); numbers in JS's
 * shortest round-trip spelling (`1e+21`, `0.1`); operands that are not a column or a constant are
 * parenthesized; AND/OR groups nested in AND/OR are parenthesized; `not(sublink)` prints as
 * `x NOT IN (SELECT ...)`. Parsing the output gives back the same AST (for ASTs in the canonical
 * form described in ast.ts), and printing is idempotent.
 */
import type { ShapeDefinition } from '../definition-key.ts';
import { quoteIdentifier } from '../identifiers.ts';
import type { SublinkExpr, WhereExpr } from './ast.ts';

export function printStringLiteral(s: string): string {
  if (s.includes('\u0000')) throw new Error('a SQL string literal cannot contain a NUL character');
  return `'${s.replaceAll("'", "''")}'`;
}

export function printConst(value: string | number | boolean | null, numeric?: boolean): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot print non-finite number ${value}`);
    return String(value); // String(-0) === '0'
  }
  return numeric === true ? value : printStringLiteral(value);
}

/**
 * Prints a where expression. `dependencies` are the definitions its sublinks index (as returned
 * by parseWhere / NormalizedShape.dependencies); each sublink prints as its subquery
 * `SELECT <columns> FROM <table> [WHERE <where>]`.
 */
export function printWhere(expr: WhereExpr, dependencies: readonly ShapeDefinition[]): string {
  const p = (e: WhereExpr): string => printWhere(e, dependencies);
  const operand = (e: WhereExpr): string => (e.kind === 'column' || e.kind === 'const' ? p(e) : `(${p(e)})`);
  const boolArg = (e: WhereExpr): string => (e.kind === 'and' || e.kind === 'or' ? `(${p(e)})` : p(e));
  const not = (negated: boolean): string => (negated ? 'NOT ' : '');

  switch (expr.kind) {
    case 'column':
      return quoteIdentifier(expr.name);
    case 'const':
      return printConst(expr.value, expr.numeric);
    case 'compare':
      return `${operand(expr.left)} ${expr.op} ${operand(expr.right)}`;
    case 'and':
      return expr.args.map(boolArg).join(' AND ');
    case 'or':
      return expr.args.map(boolArg).join(' OR ');
    case 'not':
      if (expr.arg.kind === 'sublink') return printSublink(expr.arg, dependencies, true);
      return `NOT ${operand(expr.arg)}`;
    case 'inList':
      return `${operand(expr.expr)} ${not(expr.negated)}IN (${expr.list.map(operand).join(', ')})`;
    case 'isNull':
      return `${operand(expr.expr)} IS ${not(expr.negated)}NULL`;
    case 'isBool':
      return `${operand(expr.expr)} IS ${not(expr.negated)}${expr.test.toUpperCase()}`;
    case 'between':
      return (
        `${operand(expr.expr)} ${not(expr.negated)}BETWEEN ${expr.symmetric ? 'SYMMETRIC ' : ''}` +
        `${operand(expr.low)} AND ${operand(expr.high)}`
      );
    case 'like':
      return `${operand(expr.expr)} ${not(expr.negated)}${expr.caseInsensitive ? 'ILIKE' : 'LIKE'} ${operand(expr.pattern)}`;
    case 'distinct':
      return `${operand(expr.left)} IS ${not(expr.negated)}DISTINCT FROM ${operand(expr.right)}`;
    case 'sublink':
      return printSublink(expr, dependencies, false);
  }
}

function printSublink(expr: SublinkExpr, dependencies: readonly ShapeDefinition[], negated: boolean): string {
  const dep = dependencies[expr.dependency];
  if (dep === undefined) {
    throw new Error(`sublink refers to dependency ${expr.dependency}, but only ${dependencies.length} were given`);
  }
  if (dep.columns === undefined || dep.columns.length === 0) {
    throw new Error(`dependency ${expr.dependency} (${dep.table}) selects no columns`);
  }
  if (expr.test.length === 0) throw new Error('sublink without test columns');
  const cols = expr.test.map((c) => quoteIdentifier(c.name));
  const test = cols.length === 1 ? cols[0]! : `(${cols.join(', ')})`;
  const where = dep.where === undefined ? '' : ` WHERE ${dep.where}`;
  return `${test} ${negated ? 'NOT ' : ''}IN (SELECT ${dep.columns.join(', ')} FROM ${dep.table}${where})`;
}
