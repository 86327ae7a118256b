/**
 * Where-clause parsing: Postgres's own parser (libpg-query) reads `SELECT 1 FROM t WHERE <sql>`,
 * we check that the statement is exactly that (one statement, no `;`, no ORDER BY / LIMIT / UNION
 * / ... smuggled after the expression) and convert the expression to our WhereExpr, rejecting
 * anything outside the supported subset with `unsupported-where` naming the construct.
 *
 * Supported: columns of the shape's table (unqualified), literals (strings, numbers, TRUE/FALSE,
 * NULL), `= <> != < <= > >=`, AND / OR / NOT, `[NOT] IN (list)`, `IS [NOT] NULL`,
 * `IS [NOT] TRUE|FALSE|UNKNOWN`, `[NOT] BETWEEN [SYMMETRIC]`, `[NOT] LIKE / ILIKE` (no ESCAPE),
 * `IS [NOT] DISTINCT FROM`, and `x [NOT] IN (SELECT col FROM table [WHERE ...])` /
 * `(a, b) [NOT] IN (SELECT x, y FROM ...)` (also `= ANY (SELECT ...)`), nested to any depth.
 *
 * Not supported (unsupported-where): type casts (`'7'::int`, `CAST(...)`: write the literal without
 * a cast), function calls, arithmetic and other operators, qualified column references
 * (`users.id`), parameters (`$1`), arrays, row comparisons other than `(a, b) IN (SELECT ...)`,
 * CASE, EXISTS, scalar subqueries, `ALL (...)`, bit strings, and so on. What the column types
 * decide (no such column or operator, a correlated subquery) is checked at `add` (check-types.ts).
 *
 * This file reads the statement; parse-expression.ts converts its expressions, parse-subquery.ts
 * its subqueries (as dependency shapes), parse-context.ts carries positions and node readers.
 */
import type { Node, ParseResult } from 'libpg-query';
import type { ShapeDefinition } from '../definition-key.ts';
import { ShapeDefinitionError } from '../errors.ts';
import type { WhereExpr } from './ast.ts';
import { ALLOWED_SELECT_KEYS, CLAUSE_NAMES, Ctx, excerpt, PREFIX } from './parse-context.ts';
import { convertBoolean } from './parse-expression.ts';
import { printWhere } from './print.ts';
import { parseSqlSync, sqlErrorInfo } from './sql-parser.ts';

export interface ParsedWhere {
  readonly expr: WhereExpr;
  /** Canonical text (printWhere of expr). */
  readonly sql: string;
  /** Direct subquery dependencies, normalized, in order of first appearance, deduplicated. */
  readonly dependencies: ShapeDefinition[];
}

/**
 * Parses and canonicalizes a where clause. Requires `await loadSqlParser()` first.
 * Throws ShapeDefinitionError: `invalid-where` (syntax errors, with position; not a single
 * boolean expression), `unsupported-where`, `subquery-without-column`, `subquery-shape`.
 */
export function parseWhere(sql: string): ParsedWhere {
  if (typeof sql !== 'string' || sql.trim() === '') {
    throw new ShapeDefinitionError('invalid-where', 'invalid-where: the where clause is empty', '');
  }
  const nul = sql.indexOf('\u0000');
  if (nul >= 0) {
    // libpg-query reads a C string: everything after a NUL would be silently ignored.
    throw new ShapeDefinitionError(
      'invalid-where',
      `invalid-where: the where clause contains a NUL character (position ${Array.from(sql.slice(0, nul)).length + 1})`,
      sql.slice(nul, nul + 40),
    );
  }
  const full = PREFIX + sql;
  const ctx = new Ctx(sql, Buffer.from(full, 'utf8'));
  let result: ParseResult;
  try {
    result = parseSqlSync(full);
  } catch (e) {
    const info = sqlErrorInfo(e);
    if (info === undefined) throw e;
    const pos = info.cursorPosition === undefined ? undefined : Math.max(0, info.cursorPosition - PREFIX.length) + 1;
    const near = /at or near "(.*)"$/s.exec(info.message)?.[1];
    throw new ShapeDefinitionError(
      'invalid-where',
      `invalid-where: ${info.message}${pos === undefined ? '' : ` (position ${pos})`} in "${excerpt(sql)}"`,
      near ?? sql,
    );
  }
  const whereNode = checkWrapper(result, ctx);
  const expr = convertBoolean(whereNode, ctx, 'WHERE');
  return { expr, sql: printWhere(expr, ctx.deps), dependencies: ctx.deps };
}

/** Verifies the parse is exactly `SELECT 1 FROM t WHERE <expr>` and returns <expr>. */
function checkWrapper(result: ParseResult, ctx: Ctx): Node {
  const stmts = result.stmts ?? [];
  const notSingle = (why: string): never =>
    ctx.fail('invalid-where', `the where clause must be a single boolean expression, but ${why}`);
  if (stmts.length !== 1 || (stmts[0]!.stmt_len ?? 0) !== 0) {
    notSingle(`it contains ";"${stmts.length > 1 ? ' followed by another statement' : ''}`);
  }
  const stmt = stmts[0]!.stmt;
  if (stmt === undefined || !('SelectStmt' in stmt)) return notSingle('it does not read as one');
  const select = stmt.SelectStmt;
  for (const key of Object.keys(select)) {
    if (!ALLOWED_SELECT_KEYS.has(key)) notSingle(`it is followed by ${CLAUSE_NAMES[key] ?? key}`);
  }
  if (select.op !== 'SETOP_NONE') notSingle('it is followed by UNION/INTERSECT/EXCEPT');
  if (select.limitOption !== 'LIMIT_OPTION_DEFAULT') notSingle('it is followed by LIMIT/FETCH');
  const from = select.fromClause ?? [];
  const rv = from[0];
  if (
    from.length !== 1 ||
    rv === undefined ||
    !('RangeVar' in rv) ||
    rv.RangeVar.relname !== 't' ||
    select.targetList?.length !== 1 ||
    select.whereClause === undefined
  ) {
    return notSingle('it does not read as one');
  }
  return select.whereClause;
}
