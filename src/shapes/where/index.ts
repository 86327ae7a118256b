export type {
  AndExpr,
  BetweenExpr,
  ColumnExpr,
  CompareExpr,
  CompareOp,
  ConstExpr,
  DistinctExpr,
  InListExpr,
  IsBoolExpr,
  IsNullExpr,
  LikeExpr,
  NotExpr,
  OrExpr,
  SublinkExpr,
  WhereExpr,
  WhereExprKind,
} from './ast.ts';
export { COMPARE_OPS, childrenOf } from './ast.ts';
export { referencedColumns, referencedDependencies, sublinkTestColumns } from './columns.ts';
export type { LinkSet, LinkValues, Row, Truth } from './evaluate.ts';
export { compareValues, evaluateTruth, evaluateWhere } from './evaluate.ts';
export { decodeLinkKey, linkKey } from './link-key.ts';
export type { ParsedWhere } from './parse.ts';
export { parseWhere } from './parse.ts';
export { printConst, printStringLiteral, printWhere } from './print.ts';
export { isSqlParserLoaded, loadSqlParser } from './sql-parser.ts';
