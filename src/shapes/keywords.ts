/**
 * PostgreSQL 18 keywords that are NOT "unreserved", by category, as reported by the scanner of
 * libpg-query 18 (kwlist.h). Generated once from libpg-query's own keyword table; kept static so
 * identifier quoting and table-name validation stay pure (no WASM needed).
 *
 * - reserved / type-func-name keywords cannot be used unquoted as a column or table name;
 * - col-name keywords can be used unquoted as a name (ColId) but Postgres's quote_ident still
 *   quotes them, and so do we.
 */

/** RESERVED_KEYWORD */
export const RESERVED_KEYWORDS: ReadonlySet<string> = new Set([
  'all', 'analyse', 'analyze', 'and', 'any', 'array', 'as', 'asc', 'asymmetric', 'both', 'case',
  'cast', 'check', 'collate', 'column', 'constraint', 'create', 'current_catalog', 'current_date',
  'current_role', 'current_time', 'current_timestamp', 'current_user', 'default', 'deferrable',
  'desc', 'distinct', 'do', 'else', 'end', 'except', 'false', 'fetch', 'for', 'foreign', 'from',
  'grant', 'group', 'having', 'in', 'initially', 'intersect', 'into', 'lateral', 'leading',
  'limit', 'localtime', 'localtimestamp', 'not', 'null', 'offset', 'on', 'only', 'or', 'order',
  'placing', 'primary', 'references', 'returning', 'select', 'session_user', 'some', 'symmetric',
  'system_user', 'table', 'then', 'to', 'trailing', 'true', 'union', 'unique', 'user', 'using',
  'variadic', 'when', 'where', 'window', 'with',
]);

/** TYPE_FUNC_NAME_KEYWORD */
export const TYPE_FUNC_NAME_KEYWORDS: ReadonlySet<string> = new Set([
  'authorization', 'binary', 'collation', 'concurrently', 'cross', 'current_schema', 'freeze',
  'full', 'ilike', 'inner', 'is', 'isnull', 'join', 'left', 'like', 'natural', 'notnull', 'outer',
  'overlaps', 'right', 'similar', 'tablesample', 'verbose',
]);

/** COL_NAME_KEYWORD */
export const COL_NAME_KEYWORDS: ReadonlySet<string> = new Set([
  'between', 'bigint', 'bit', 'boolean', 'char', 'character', 'coalesce', 'dec', 'decimal',
  'exists', 'extract', 'float', 'greatest', 'grouping', 'inout', 'int', 'integer', 'interval',
  'json', 'json_array', 'json_arrayagg', 'json_exists', 'json_object', 'json_objectagg',
  'json_query', 'json_scalar', 'json_serialize', 'json_table', 'json_value', 'least',
  'merge_action', 'national', 'nchar', 'none', 'normalize', 'nullif', 'numeric', 'out', 'overlay',
  'position', 'precision', 'real', 'row', 'setof', 'smallint', 'substring', 'time', 'timestamp',
  'treat', 'trim', 'values', 'varchar', 'xmlattributes', 'xmlconcat', 'xmlelement', 'xmlexists',
  'xmlforest', 'xmlnamespaces', 'xmlparse', 'xmlpi', 'xmlroot', 'xmlserialize', 'xmltable',
]);

/** A few UNRESERVED_KEYWORDs (not exhaustive), useful in tests: they need no quoting. */
export const SOME_UNRESERVED_KEYWORDS: readonly string[] = ['abort', 'at', 'chain', 'connection', 'deallocate', 'domain', 'exclusive', 'functions', 'include', 'keep', 'logged', 'nested', 'of', 'parameter', 'prior', 'refresh', 'rollback', 'sequences', 'start', 'tablespace', 'unbounded', 'version'];
