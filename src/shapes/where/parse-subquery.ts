/**
 * A subquery of a where clause (`x IN (SELECT col FROM table [WHERE ...])`) as the dependency
 * shape it stands for: exactly one plain table, plain distinct columns, and its own where clause
 * (converted by the caller's converter, kept as canonical text), or `unsupported-where` /
 * `subquery-shape` / `subquery-without-column` naming what is not allowed.
 */
import type { Node, RangeVar, SelectStmt } from 'libpg-query';
import type { ShapeDefinition } from '../definition-key.ts';
import { printTableName, quoteIdentifier } from '../identifiers.ts';
import type { WhereExpr } from './ast.ts';
import { ALLOWED_SELECT_KEYS, CLAUSE_NAMES, convertColumnRef, type Ctx, nodeLocation, nodeType } from './parse-context.ts';
import { printWhere } from './print.ts';

/** Converts a where clause in a boolean position (parse-expression.ts: convertBoolean). */
export type WhereConverter = (node: Node, ctx: Ctx, position: string) => WhereExpr;

/** Validates a subquery and builds its (normalized) dependency definition. */
export function subqueryDefinition(sel: SelectStmt, ctx: Ctx, location: number | undefined, convertWhere: WhereConverter): ShapeDefinition {
  if (sel.op !== undefined && sel.op !== 'SETOP_NONE') {
    ctx.unsupported('UNION/INTERSECT/EXCEPT in a subquery', location);
  }
  for (const key of Object.keys(sel)) {
    if (!ALLOWED_SELECT_KEYS.has(key)) ctx.unsupported(`${CLAUSE_NAMES[key] ?? key} in a subquery`, location);
  }
  if (sel.limitOption !== undefined && sel.limitOption !== 'LIMIT_OPTION_DEFAULT') {
    ctx.unsupported('LIMIT/FETCH in a subquery', location);
  }
  // FROM: exactly one plain table.
  const from = sel.fromClause ?? [];
  const oneTable = 'a subquery must select from exactly one plain table';
  if (from.length === 0) ctx.unsupported('a subquery without FROM', location, oneTable);
  if (from.length > 1) ctx.unsupported('a subquery FROM several tables', nodeLocation(from[1]!) ?? location, oneTable);
  const item = from[0]!;
  if (!('RangeVar' in item)) {
    const what = 'JoinExpr' in item ? 'a JOIN (JoinExpr)' : `${nodeType(item)}`;
    ctx.unsupported(`${what} in a subquery's FROM`, nodeLocation(item) ?? location, oneTable);
  }
  const rv: RangeVar = item.RangeVar;
  if (rv.catalogname !== undefined) {
    ctx.fail('subquery-shape', `the catalog-qualified table ${rv.catalogname}.${rv.schemaname ?? ''}.${rv.relname ?? ''} in a subquery`, rv.location);
  }
  if (rv.alias !== undefined) ctx.unsupported(`the table alias ${rv.alias.aliasname ?? ''} in a subquery`, rv.location);
  // protobuf JSON omits false: `inh` is absent for `FROM ONLY x`
  if (rv.inh !== true) ctx.unsupported('ONLY in a subquery', rv.location);
  if (rv.relname === undefined) ctx.unsupported('this subquery table', rv.location);
  const table = printTableName({ schema: rv.schemaname ?? 'public', name: rv.relname! });

  // Selected columns: plain, unqualified, distinct columns.
  const targets = sel.targetList ?? [];
  if (targets.length === 0) {
    ctx.fail('subquery-without-column', `the subquery on ${table} selects no column`, location);
  }
  const columns: string[] = [];
  for (const t of targets) {
    if (!('ResTarget' in t)) ctx.unsupported(`the select item ${nodeType(t)}`, location);
    const rt = t.ResTarget;
    const val = rt.val;
    if (val === undefined || !('ColumnRef' in val)) {
      ctx.fail(
        'subquery-without-column',
        `the subquery on ${table} selects an expression (${val === undefined ? 'none' : nodeType(val)}), not a column`,
        rt.location,
      );
    }
    const fields = val.ColumnRef.fields ?? [];
    if (fields.some((f) => 'A_Star' in f)) {
      ctx.fail('subquery-without-column', `the subquery on ${table} selects *; it must select the linked column(s) by name`, rt.location);
    }
    if (rt.name !== undefined) ctx.unsupported(`the column alias AS ${rt.name} in a subquery`, rt.location);
    const col = convertColumnRef(val.ColumnRef, ctx).name;
    const printed = quoteIdentifier(col);
    if (columns.includes(printed)) {
      ctx.fail('subquery-shape', `the subquery on ${table} selects column ${printed} twice`, rt.location);
    }
    columns.push(printed);
  }

  // Its own where clause: a shape of its own, with its own dependencies (kept as text).
  let where: string | undefined;
  if (sel.whereClause !== undefined) {
    const inner = ctx.child();
    const expr = convertWhere(sel.whereClause, inner, 'WHERE');
    where = printWhere(expr, inner.deps);
  }
  return where === undefined ? { table, columns, replica: 'default' } : { table, where, columns, replica: 'default' };
}
