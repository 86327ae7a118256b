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
 * CASE, EXISTS, scalar subqueries, `ALL (...)`, bit strings, and so on.
 */
import type {
  A_Const,
  A_Expr,
  BooleanTest,
  BoolExpr,
  ColumnRef,
  Node,
  NullTest,
  ParseResult,
  RangeVar,
  SelectStmt,
  SubLink,
} from 'libpg-query';
import { definitionKey } from '../definition-key.ts';
import type { ShapeDefinition } from '../definition-key.ts';
import { ShapeDefinitionError } from '../errors.ts';
import type { ShapeDefinitionErrorCode } from '../errors.ts';
import { printTableName, quoteIdentifier } from '../identifiers.ts';
import type { ColumnExpr, CompareOp, WhereExpr } from './ast.ts';
import { printWhere } from './print.ts';
import { parseSqlSync, sqlErrorInfo } from './sql-parser.ts';
import { numericLiteral } from './values.ts';

export interface ParsedWhere {
  readonly expr: WhereExpr;
  /** Canonical text (printWhere of expr). */
  readonly sql: string;
  /** Direct subquery dependencies, normalized, in order of first appearance, deduplicated. */
  readonly dependencies: ShapeDefinition[];
}

const PREFIX = 'SELECT 1 FROM t WHERE ';
const PREFIX_BYTES = Buffer.byteLength(PREFIX, 'utf8');
const MAX_DEPTH = 200;

/** SelectStmt fields, in words, for error messages. */
const CLAUSE_NAMES: Readonly<Record<string, string>> = {
  distinctClause: 'DISTINCT',
  intoClause: 'INTO',
  groupClause: 'GROUP BY',
  groupDistinct: 'GROUP BY DISTINCT',
  havingClause: 'HAVING',
  windowClause: 'WINDOW',
  valuesLists: 'VALUES',
  sortClause: 'ORDER BY',
  limitOffset: 'OFFSET',
  limitCount: 'LIMIT',
  lockingClause: 'FOR UPDATE/SHARE',
  withClause: 'WITH',
  larg: 'UNION/INTERSECT/EXCEPT',
  rarg: 'UNION/INTERSECT/EXCEPT',
  all: 'UNION/INTERSECT/EXCEPT ALL',
};
const ALLOWED_SELECT_KEYS = new Set(['targetList', 'fromClause', 'whereClause', 'limitOption', 'op']);

/** Shortens long SQL for messages. */
function excerpt(s: string, max = 200): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

class Ctx {
  readonly deps: ShapeDefinition[] = [];
  private readonly depIndex = new Map<string, number>();
  depth = 0;

  constructor(
    /** The user's where text. */
    readonly where: string,
    /** UTF-8 bytes of PREFIX + where (node locations are byte offsets into it). */
    readonly bytes: Buffer,
  ) {}

  child(): Ctx {
    const c = new Ctx(this.where, this.bytes);
    c.depth = this.depth;
    return c;
  }

  addDependency(def: ShapeDefinition): number {
    const key = definitionKey(def);
    const existing = this.depIndex.get(key);
    if (existing !== undefined) return existing;
    this.deps.push(def);
    this.depIndex.set(key, this.deps.length - 1);
    return this.deps.length - 1;
  }

  /** 1-based character (code point) position in the where text of a node location (a byte offset), if known. */
  position(location: number | undefined): number | undefined {
    if (location === undefined || location < PREFIX_BYTES) return undefined;
    return Array.from(this.bytes.subarray(PREFIX_BYTES, location).toString('utf8')).length + 1;
  }

  fragment(location: number | undefined): string {
    if (location === undefined || location < PREFIX_BYTES) return this.where;
    const rest = this.bytes.subarray(location).toString('utf8');
    return rest.length <= 40 ? rest : `${rest.slice(0, 40)}...`;
  }

  fail(code: ShapeDefinitionErrorCode, problem: string, location?: number): never {
    const pos = this.position(location);
    const at = pos === undefined ? '' : ` (position ${pos})`;
    throw new ShapeDefinitionError(
      code,
      `${code}: ${problem}${at} in "${excerpt(this.where)}"`,
      this.fragment(location),
    );
  }

  unsupported(what: string, location?: number, hint?: string): never {
    return this.fail('unsupported-where', `${what} is not supported${hint === undefined ? '' : `: ${hint}`}`, location);
  }
}

/** The node's type name (`A_Expr`, `FuncCall`, ...). */
function nodeType(node: Node): string {
  return Object.keys(node)[0] ?? 'unknown node';
}

function nodeLocation(node: Node): number | undefined {
  const inner = Object.values(node)[0] as { location?: unknown } | undefined;
  return typeof inner?.location === 'number' && inner.location >= 0 ? inner.location : undefined;
}

function stringValue(node: Node | undefined): string | undefined {
  return node !== undefined && 'String' in node ? node.String.sval : undefined;
}

/** The single operator name of an A_Expr / SubLink (`=`), or undefined if qualified/absent. */
function operatorName(names: readonly Node[] | undefined): string | undefined {
  if (names === undefined || names.length !== 1) return undefined;
  return stringValue(names[0]);
}

const COMPARE_OPS: ReadonlySet<string> = new Set<CompareOp>(['=', '<>', '<', '<=', '>', '>=']);

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

/** Converts a node in a boolean position (WHERE, AND, OR, NOT argument). */
function convertBoolean(node: Node, ctx: Ctx, position: string): WhereExpr {
  const expr = convert(node, ctx);
  if (expr.kind === 'const' && expr.value !== null && typeof expr.value !== 'boolean') {
    const what = typeof expr.value === 'number' || expr.numeric === true ? 'a number' : 'a string';
    if (what === 'a number') {
      ctx.fail('invalid-where', `argument of ${position} must be a boolean, not ${what}`, nodeLocation(node));
    }
    ctx.unsupported(`a string literal as the argument of ${position} (write TRUE or FALSE)`, nodeLocation(node));
  }
  return expr;
}

function convert(node: Node, ctx: Ctx): WhereExpr {
  if (ctx.depth >= MAX_DEPTH) ctx.unsupported(`an expression nested more than ${MAX_DEPTH} levels deep`, nodeLocation(node));
  ctx.depth++;
  try {
    return convertInner(node, ctx);
  } finally {
    ctx.depth--;
  }
}

function convertInner(node: Node, ctx: Ctx): WhereExpr {
  if ('ColumnRef' in node) return convertColumnRef(node.ColumnRef, ctx);
  if ('A_Const' in node) return convertConst(node.A_Const, ctx);
  if ('A_Expr' in node) return convertAExpr(node.A_Expr, ctx);
  if ('BoolExpr' in node) return convertBoolExpr(node.BoolExpr, ctx);
  if ('NullTest' in node) return convertNullTest(node.NullTest, ctx);
  if ('BooleanTest' in node) return convertBooleanTest(node.BooleanTest, ctx);
  if ('SubLink' in node) return convertSubLink(node.SubLink, ctx);
  if ('TypeCast' in node) {
    return ctx.unsupported('a type cast (TypeCast)', nodeLocation(node), 'write the literal without `::type` or CAST');
  }
  if ('FuncCall' in node) {
    const name = (node.FuncCall.funcname ?? []).map((n) => stringValue(n) ?? '?').join('.');
    return ctx.unsupported(`the function call ${name}(...) (FuncCall)`, nodeLocation(node));
  }
  if ('ParamRef' in node) return ctx.unsupported('a parameter ($n) (ParamRef)', nodeLocation(node));
  if ('RowExpr' in node) return ctx.unsupported('a row expression (RowExpr) outside `(a, b) IN (SELECT ...)`', nodeLocation(node));
  return ctx.unsupported(`the expression node ${nodeType(node)}`, nodeLocation(node));
}

function convertColumnRef(ref: ColumnRef, ctx: Ctx): ColumnExpr {
  const fields = ref.fields ?? [];
  if (fields.some((f) => 'A_Star' in f)) return ctx.unsupported('`*` (A_Star)', ref.location);
  if (fields.length !== 1) {
    const text = fields.map((f) => stringValue(f) ?? '?').join('.');
    return ctx.unsupported(
      `the qualified column reference ${text} (ColumnRef)`,
      ref.location,
      "refer to the shape's columns without a qualifier",
    );
  }
  const name = stringValue(fields[0]);
  if (name === undefined) return ctx.unsupported('this column reference (ColumnRef)', ref.location);
  return { kind: 'column', name };
}

function convertConst(c: A_Const, ctx: Ctx): WhereExpr {
  if (c.isnull === true) return { kind: 'const', value: null };
  if (c.ival !== undefined) return { kind: 'const', value: c.ival.ival ?? 0 };
  if (c.fval !== undefined) {
    const lit = numericLiteral(c.fval.fval ?? '0');
    return 'numeric' in lit ? { kind: 'const', value: lit.value, numeric: true } : { kind: 'const', value: lit.value };
  }
  if (c.boolval !== undefined) return { kind: 'const', value: c.boolval.boolval ?? false };
  if (c.sval !== undefined) return { kind: 'const', value: c.sval.sval ?? '' };
  if (c.bsval !== undefined) return ctx.unsupported('a bit-string literal (BitString)', c.location);
  return ctx.unsupported('this constant (A_Const)', c.location);
}

function listItems(node: Node | undefined, ctx: Ctx, location: number | undefined): readonly Node[] {
  if (node !== undefined && 'List' in node) return node.List.items ?? [];
  return ctx.unsupported(`a non-list right-hand side (${node === undefined ? 'none' : nodeType(node)})`, location);
}

function binaryOperands(e: A_Expr, ctx: Ctx, what: string): [WhereExpr, WhereExpr] {
  if (e.lexpr === undefined || e.rexpr === undefined) {
    ctx.unsupported(`the prefix operator ${what}`, e.location);
  }
  return [convert(e.lexpr!, ctx), convert(e.rexpr!, ctx)];
}

function convertAExpr(e: A_Expr, ctx: Ctx): WhereExpr {
  const op = operatorName(e.name);
  switch (e.kind) {
    case 'AEXPR_OP': {
      if (e.lexpr === undefined) return ctx.unsupported(`the prefix operator ${op ?? '?'} (A_Expr)`, e.location);
      if (op === undefined || !COMPARE_OPS.has(op)) {
        const shown = op ?? (e.name ?? []).map((n) => stringValue(n) ?? '?').join('.');
        return ctx.unsupported(`the operator ${shown} (A_Expr)`, e.location, 'only = <> != < <= > >= are');
      }
      const [left, right] = binaryOperands(e, ctx, op);
      return { kind: 'compare', op: op as CompareOp, left, right };
    }
    case 'AEXPR_IN': {
      if (op !== '=' && op !== '<>') return ctx.unsupported(`IN with operator ${op ?? '?'}`, e.location);
      const expr = convert(e.lexpr!, ctx);
      const list = listItems(e.rexpr, ctx, e.location).map((n) => convert(n, ctx));
      return { kind: 'inList', expr, list, negated: op === '<>' };
    }
    case 'AEXPR_LIKE':
    case 'AEXPR_ILIKE': {
      const ci = e.kind === 'AEXPR_ILIKE';
      const positive = ci ? '~~*' : '~~';
      if (op !== positive && op !== `!${positive}`) return ctx.unsupported(`LIKE with operator ${op ?? '?'}`, e.location);
      const [expr, pattern] = binaryOperands(e, ctx, op);
      return { kind: 'like', expr, pattern, negated: op.startsWith('!'), caseInsensitive: ci };
    }
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN':
    case 'AEXPR_BETWEEN_SYM':
    case 'AEXPR_NOT_BETWEEN_SYM': {
      const expr = convert(e.lexpr!, ctx);
      const items = listItems(e.rexpr, ctx, e.location);
      if (items.length !== 2) return ctx.unsupported('BETWEEN without exactly two bounds', e.location);
      const low = convert(items[0]!, ctx);
      const high = convert(items[1]!, ctx);
      return {
        kind: 'between',
        expr,
        low,
        high,
        negated: e.kind === 'AEXPR_NOT_BETWEEN' || e.kind === 'AEXPR_NOT_BETWEEN_SYM',
        symmetric: e.kind === 'AEXPR_BETWEEN_SYM' || e.kind === 'AEXPR_NOT_BETWEEN_SYM',
      };
    }
    case 'AEXPR_DISTINCT':
    case 'AEXPR_NOT_DISTINCT': {
      const [left, right] = binaryOperands(e, ctx, 'IS DISTINCT FROM');
      return { kind: 'distinct', left, right, negated: e.kind === 'AEXPR_NOT_DISTINCT' };
    }
    case 'AEXPR_OP_ANY':
      return ctx.unsupported(`${op ?? '?'} ANY (array) (AEXPR_OP_ANY)`, e.location);
    case 'AEXPR_OP_ALL':
      return ctx.unsupported(`${op ?? '?'} ALL (array) (AEXPR_OP_ALL)`, e.location);
    case 'AEXPR_NULLIF':
      return ctx.unsupported('NULLIF (AEXPR_NULLIF)', e.location);
    case 'AEXPR_SIMILAR':
      return ctx.unsupported('SIMILAR TO (AEXPR_SIMILAR)', e.location);
    default:
      return ctx.unsupported(`the expression ${e.kind ?? 'A_Expr'}`, e.location);
  }
}

function convertBoolExpr(b: BoolExpr, ctx: Ctx): WhereExpr {
  const args = b.args ?? [];
  switch (b.boolop) {
    case 'AND_EXPR':
    case 'OR_EXPR': {
      const kind = b.boolop === 'AND_EXPR' ? 'and' : 'or';
      const word = kind.toUpperCase();
      const flat: WhereExpr[] = [];
      for (const a of args) {
        const x = convertBoolean(a, ctx, word);
        if (x.kind === kind) flat.push(...x.args);
        else flat.push(x);
      }
      return { kind, args: flat };
    }
    case 'NOT_EXPR': {
      const arg = args[0];
      if (args.length !== 1 || arg === undefined) return ctx.unsupported('NOT without exactly one argument', b.location);
      return { kind: 'not', arg: convertBoolean(arg, ctx, 'NOT') };
    }
    default:
      return ctx.unsupported(`the boolean operator ${b.boolop ?? '?'}`, b.location);
  }
}

function convertNullTest(t: NullTest, ctx: Ctx): WhereExpr {
  if (t.arg === undefined) return ctx.unsupported('IS NULL without an argument', t.location);
  return { kind: 'isNull', expr: convert(t.arg, ctx), negated: t.nulltesttype === 'IS_NOT_NULL' };
}

function convertBooleanTest(t: BooleanTest, ctx: Ctx): WhereExpr {
  if (t.arg === undefined) return ctx.unsupported('IS TRUE/FALSE without an argument', t.location);
  const expr = convert(t.arg, ctx);
  switch (t.booltesttype) {
    case 'IS_TRUE':
      return { kind: 'isBool', expr, test: 'true', negated: false };
    case 'IS_NOT_TRUE':
      return { kind: 'isBool', expr, test: 'true', negated: true };
    case 'IS_FALSE':
      return { kind: 'isBool', expr, test: 'false', negated: false };
    case 'IS_NOT_FALSE':
      return { kind: 'isBool', expr, test: 'false', negated: true };
    case 'IS_UNKNOWN':
      return { kind: 'isBool', expr, test: 'unknown', negated: false };
    case 'IS_NOT_UNKNOWN':
      return { kind: 'isBool', expr, test: 'unknown', negated: true };
    default:
      return ctx.unsupported(`the boolean test ${t.booltesttype ?? '?'}`, t.location);
  }
}

function convertSubLink(s: SubLink, ctx: Ctx): WhereExpr {
  switch (s.subLinkType) {
    case 'ANY_SUBLINK':
      break;
    case 'EXISTS_SUBLINK':
      return ctx.unsupported('EXISTS (subquery) (EXISTS_SUBLINK)', s.location);
    case 'ALL_SUBLINK':
      return ctx.unsupported(`${operatorName(s.operName) ?? '?'} ALL (subquery) (ALL_SUBLINK)`, s.location);
    case 'EXPR_SUBLINK':
      return ctx.unsupported('a scalar subquery (EXPR_SUBLINK)', s.location, 'use `column IN (SELECT ...)`');
    default:
      return ctx.unsupported(`the subquery form ${s.subLinkType ?? '?'}`, s.location);
  }
  if (s.operName !== undefined && operatorName(s.operName) !== '=') {
    return ctx.unsupported(`${operatorName(s.operName) ?? '?'} ANY (subquery)`, s.location, 'only IN / = ANY are');
  }
  // Test expression: one column, or a row of columns.
  const testNode = s.testexpr;
  let testNodes: readonly Node[];
  if (testNode !== undefined && 'RowExpr' in testNode) testNodes = testNode.RowExpr.args ?? [];
  else if (testNode !== undefined) testNodes = [testNode];
  else return ctx.unsupported('a subquery without a left-hand side', s.location);
  const test: ColumnExpr[] = testNodes.map((n) => {
    if (!('ColumnRef' in n)) {
      return ctx.unsupported(
        `${nodeType(n)} on the left of IN (SELECT ...); only columns (or a row of columns) can be tested`,
        nodeLocation(n),
      );
    }
    return convertColumnRef(n.ColumnRef, ctx);
  });
  if (test.length === 0) return ctx.unsupported('an empty row on the left of IN (SELECT ...)', s.location);

  const sub = s.subselect;
  if (sub === undefined || !('SelectStmt' in sub)) return ctx.unsupported('this subquery', s.location);
  const dep = subqueryDefinition(sub.SelectStmt, ctx, s.location);
  const ncols = dep.columns?.length ?? 0;
  if (ncols !== test.length) {
    ctx.fail(
      'subquery-shape',
      `the subquery selects ${ncols} column${ncols === 1 ? '' : 's'} but ${test.length} ${test.length === 1 ? 'is' : 'are'} tested against it`,
      s.location,
    );
  }
  return { kind: 'sublink', test, dependency: ctx.addDependency(dep) };
}

/** Validates a subquery and builds its (normalized) dependency definition. */
function subqueryDefinition(sel: SelectStmt, ctx: Ctx, location: number | undefined): ShapeDefinition {
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
    const expr = convertBoolean(sel.whereClause, inner, 'WHERE');
    where = printWhere(expr, inner.deps);
  }
  return where === undefined ? { table, columns, replica: 'default' } : { table, where, columns, replica: 'default' };
}
