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
  // The helpers live at module level, not as closures here: tsx (esbuild keepNames) wraps every
  // closure it creates in a name-setting call, which cost 4% of a 10k-shape restore.
  switch (expr.kind) {
    case 'column':
      return quoteIdentifier(expr.name);
    case 'const':
      return printConst(expr.value, expr.numeric);
    case 'compare':
      return `${printOperand(expr.left, dependencies)} ${expr.op} ${printOperand(expr.right, dependencies)}`;
    case 'and':
      return printBoolArgs(expr.args, dependencies, ' AND ');
    case 'or':
      return printBoolArgs(expr.args, dependencies, ' OR ');
    case 'not':
      if (expr.arg.kind === 'sublink') return printSublink(expr.arg, dependencies, true);
      return `NOT ${printOperand(expr.arg, dependencies)}`;
    case 'inList':
      return `${printOperand(expr.expr, dependencies)} ${not(expr.negated)}IN (${printOperands(expr.list, dependencies)})`;
    case 'isNull':
      return `${printOperand(expr.expr, dependencies)} IS ${not(expr.negated)}NULL`;
    case 'isBool':
      return `${printOperand(expr.expr, dependencies)} IS ${not(expr.negated)}${expr.test.toUpperCase()}`;
    case 'between':
      return (
        `${printOperand(expr.expr, dependencies)} ${not(expr.negated)}BETWEEN ${expr.symmetric ? 'SYMMETRIC ' : ''}` +
        `${printOperand(expr.low, dependencies)} AND ${printOperand(expr.high, dependencies)}`
      );
    case 'like':
      return `${printOperand(expr.expr, dependencies)} ${not(expr.negated)}${expr.caseInsensitive ? 'ILIKE' : 'LIKE'} ${printOperand(expr.pattern, dependencies)}`;
    case 'distinct':
      return `${printOperand(expr.left, dependencies)} IS ${not(expr.negated)}DISTINCT FROM ${printOperand(expr.right, dependencies)}`;
    case 'sublink':
      return printSublink(expr, dependencies, false);
  }
}

function printOperand(e: WhereExpr, dependencies: readonly ShapeDefinition[]): string {
  return e.kind === 'column' || e.kind === 'const' ? printWhere(e, dependencies) : `(${printWhere(e, dependencies)})`;
}

function printOperands(list: readonly WhereExpr[], dependencies: readonly ShapeDefinition[]): string {
  let out = '';
  for (let i = 0; i < list.length; i++) out += (i > 0 ? ', ' : '') + printOperand(list[i]!, dependencies);
  return out;
}

function printBoolArgs(args: readonly WhereExpr[], dependencies: readonly ShapeDefinition[], separator: string): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    const e = args[i]!;
    const printed = printWhere(e, dependencies);
    out += (i > 0 ? separator : '') + (e.kind === 'and' || e.kind === 'or' ? `(${printed})` : printed);
  }
  return out;
}

function not(negated: boolean): string {
  return negated ? 'NOT ' : '';
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
