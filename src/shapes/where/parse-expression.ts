/**
 * libpg-query's expression nodes as WhereExpr (ast.ts), for the supported subset (parse.ts
 * lists it); anything else is `unsupported-where` naming the construct and its position.
 */
import type { A_Const, A_Expr, BooleanTest, BoolExpr, Node, NullTest, SubLink } from 'libpg-query';
import type { ColumnExpr, CompareOp, WhereExpr } from './ast.ts';
import { convertColumnRef, type Ctx, MAX_DEPTH, nodeLocation, nodeType, operatorName, stringValue } from './parse-context.ts';
import { subqueryDefinition } from './parse-subquery.ts';
import { numericLiteral } from './values.ts';

const COMPARE_OPS: ReadonlySet<string> = new Set<CompareOp>(['=', '<>', '<', '<=', '>', '>=']);

/** Converts a node in a boolean position (WHERE, AND, OR, NOT argument). */
export function convertBoolean(node: Node, ctx: Ctx, position: string): WhereExpr {
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
  const dep = subqueryDefinition(sub.SelectStmt, ctx, s.location, convertBoolean);
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
