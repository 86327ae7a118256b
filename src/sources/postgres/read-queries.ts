/**
 * The queries the Postgres row store reads with, parameterised (sql.ts: no
 * constant reaches the SQL text). Each selects at least the rows the caller
 * judges (the where evaluator decides), ideally no more: the shape's where
 * clause with its subqueries as `= ANY(<their current values>)`, so an add
 * reads what its shape holds through the table's indexes.
 */
import type { WhereExpr } from '../../shapes/where/ast.ts';
import { sublinkTestColumns } from '../../shapes/where/columns.ts';
import { decodeLinkKey } from '../../shapes/where/link-key.ts';
import type { LinkValueSet, RowSelection } from '../../storage/rows/row-store.ts';
import type { TableInfo } from './catalog.ts';
import { quoteIdent, SqlParams, whereToSql } from './sql.ts';
import { encodeParam } from './values.ts';

export interface Sql {
  readonly text: string;
  readonly values: readonly unknown[];
}

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

/** A table's integer columns (their constants are typed for the index: sql.ts). */
export function integerColumns(info: TableInfo): Set<string> {
  return new Set(Object.entries(info.columnTypes).filter(([, type]) => INTEGER_TYPES.has(type)).map(([name]) => name));
}

/** Every row of the table (the fallback when Postgres refuses a filter: the caller judges each row). */
export function wholeTable(table: string): Sql {
  return { text: `SELECT * FROM ${table}`, values: [] };
}

/**
 * A shape's snapshot: `SELECT * FROM t WHERE <where, subqueries as their values>`, the where
 * clause as it is, so Postgres narrows it through the table's indexes (wrapped in `IS NOT
 * FALSE`, no index serves it: every add and resync on a 1M-row table read all of it). A row is
 * in a shape only where its where clause is TRUE (SQL's rule, which the evaluator keeps:
 * docs/guarantees.md); a subquery as `= ANY(its values)` may be FALSE where Postgres would say
 * NULL, never the reverse, and with Kleene logic a clause TRUE with a NULL in it is TRUE with
 * any value there: the rows selected are all the rows the shape holds, and the caller judges
 * each one.
 */
export function snapshotQuery(table: string, selection: RowSelection, info: TableInfo): Sql {
  if (!selection.where) return wholeTable(table);
  const params = new SqlParams();
  const filter = whereToSql(selection.where, {
    params,
    integerColumns: integerColumns(info),
    sublinks: (sublink, p) => linkTest(sublink.test.map((c) => c.name), selection.dependencies[sublink.dependency]?.values() ?? [], info, p),
  });
  return { text: `SELECT * FROM ${table} WHERE ${filter}`, values: params.values };
}

/** At most this many shapes' where clauses narrow a move-in query; with more, the link test alone. */
export const MAX_MOVE_IN_PREFILTERS = 32;

/**
 * A move-in: the rows whose link columns hold one of `values`, narrowed by the where clauses
 * of the table's shapes that link through those columns (their subqueries unknown: `IS NOT
 * FALSE` keeps every row that could qualify). The narrowing is dropped, and the link test is
 * the whole query, as soon as one of them is the subquery alone (it may hold any such row) or
 * more than MAX_MOVE_IN_PREFILTERS link: the query stays one short statement whatever the
 * number of shapes (it held an OR of every shape's clause, 100k terms at 100k shapes), and
 * `wheres` is read only that far.
 */
export function moveInQuery(table: string, info: TableInfo, columns: readonly string[], values: Iterable<string>, wheres: Iterable<WhereExpr>): Sql {
  const linkValues = [...values];
  const params = new SqlParams();
  const test = linkTest(columns, linkValues, info, params);
  const prefilters: string[] = [];
  for (const where of wheres) {
    const linked = [...sublinkTestColumns(where).values()].some((lists) => lists.some((l) => l.length === columns.length && l.every((c, i) => c === columns[i])));
    if (!linked) continue;
    const sql = prefilters.length < MAX_MOVE_IN_PREFILTERS ? whereToSql(where, { params, integerColumns: integerColumns(info), sublinks: 'unknown' }) : null;
    if (sql === null || sql === UNKNOWN) return moveInQuery(table, info, columns, linkValues, []);
    prefilters.push(`(${sql}) IS NOT FALSE`);
  }
  return { text: `SELECT * FROM ${table} WHERE ${test}${prefilters.length > 0 ? ` AND (${prefilters.join(' OR ')})` : ''}`, values: params.values };
}

/** How whereToSql prints a clause that is a subquery alone when subqueries are unknown. */
const UNKNOWN = 'NULL::boolean';

/** `col = ANY($n::type[])`, or `(a, b) IN (SELECT * FROM unnest(...))` for a tuple of columns. */
function linkTest(columns: readonly string[], values: Iterable<string>, info: TableInfo, params: SqlParams): string {
  const tuples = [...values].map(decodeLinkKey);
  if (columns.length === 1) {
    const c = columns[0]!;
    return `${quoteIdent(c)} = ANY(${params.add(tuples.map((t) => encodeParam(t[0])))}::${info.columnTypes[c] ?? 'text'}[])`;
  }
  const arrays = columns.map((c, i) => `${params.add(tuples.map((t) => encodeParam(t[i])))}::${info.columnTypes[c] ?? 'text'}[]`);
  return `(${columns.map(quoteIdent).join(', ')}) IN (SELECT * FROM unnest(${arrays.join(', ')}))`;
}

export type { LinkValueSet };
