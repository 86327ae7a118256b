/** Pure shape modules: definitions, handles, where clauses. No XState here. */
export type { NormalizedShape, Replica, ShapeDefinition } from './definition.ts';
export { columnNames, definitionKey, normalizeShape, tableNameOf } from './definition.ts';
export type { ColumnType, ColumnTypesOf, TableColumnTypes } from './column-types.ts';
export { columnType, tableColumnTypes } from './column-types.ts';
export type { ShapeDefinitionErrorCode } from './errors.ts';
export { isShapeDefinitionError, ShapeDefinitionError } from './errors.ts';
export { createHandle, definitionHash, handleCreatedAtMicros, handleHash, isHandle, monotonicMicros, strictlyIncreasing } from './handle.ts';
export type { TableName } from './identifiers.ts';
export { identifierNeedsQuoting, parseColumnName, parseTableName, printTableName, quoteIdentifier } from './identifiers.ts';
export * from './where/index.ts';
