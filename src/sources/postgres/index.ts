/**
 * `shape-actors/postgres`: the runtime beside a real Postgres (logical replication). Needs the
 * optional packages `pg` and `pg-logical-replication`, loaded when a source connects.
 */
export { PostgresSource, type PostgresSourceOptions, type PostgresSourceStatus } from './source.ts';
export { tablesOf } from './definition-check.ts';
export { startPostgresRuntime, type PostgresRuntime, type PostgresRuntimeOptions } from './runtime.ts';
export { PostgresRowStore, followsPostgres, openOfflinePostgresRowStore } from './pg-row-store.ts';
export { PostgresSourceError, redactUrl, type PostgresSourceErrorCode } from './errors.ts';
export { shapeQuery, whereToSql, SqlParams, quoteIdent } from './sql.ts';
export { parseLsn, formatLsn } from './lsn.ts';
export { decodeText } from './values.ts';
export { postgresCatalog } from './column-catalog.ts';
export { POSTGRES_PACKAGES } from './packages.ts';
