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
export type { Row, Truth } from './evaluate.ts';
export { evaluateTruth, evaluateWhere } from './evaluate.ts';
export type { LinkSet, LinkValues } from './link-set.ts';
export { linkSetOf, TupleIndex } from './link-set.ts';
export { decodeLinkKey, linkElements, linkKey, tupleKey } from './link-key.ts';
export { canonicalKey, compareValues } from './sql-values.ts';
export { constantKeys } from './constants.ts';
export type { SqlType } from './sql-types.ts';
export { commonType, comparisonType, sqlTypeOf } from './sql-types.ts';
export type { ParsedWhere } from './parse.ts';
export { parseWhere } from './parse.ts';
export { printConst, printStringLiteral, printWhere } from './print.ts';
export { isSqlParserLoaded, loadSqlParser } from './sql-parser.ts';
