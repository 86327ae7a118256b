/**
 * Shape definitions: validation (zod for the object's structure, Postgres rules for names and
 * the where clause) and normalization to a canonical form with a canonical key.
 *
 * Normal form:
 * - `table`: schema-qualified and printed canonically (`users` -> `public.users`,
 *   `Public.Users` -> `public.users`, `"Users"` -> `public."Users"`);
 * - `where`: printed canonically (`ID=7` -> `id = 7`), absent when missing or blank;
 * - `columns`: each printed canonically (`ID` -> `id`, `"userId"` stays `"userId"`), order kept,
 *   absent when missing; use `columnNames()` for the raw names (row keys);
 * - `replica`: defaults to `'default'`.
 * normalizeShape(normalizeShape(x).definition) returns an identical definition and key.
 *
 * Where clauses need the WASM SQL parser: `await loadSqlParser()` once before normalizing a
 * definition that has one (definitions without a where need nothing).
 */
import { z } from 'zod';
import { definitionKey } from './definition-key.ts';
import type { Replica, ShapeDefinition } from './definition-key.ts';
import { ShapeDefinitionError } from './errors.ts';
import type { ShapeDefinitionErrorCode } from './errors.ts';
import { IdentifierSyntaxError, parseColumnName, parseIdentifierChain, parseTableName, printTableName, quoteIdentifier } from './identifiers.ts';
import type { TableName } from './identifiers.ts';
import type { WhereExpr } from './where/ast.ts';
import { parseWhere } from './where/parse.ts';

export type { Replica, ShapeDefinition } from './definition-key.ts';
export { definitionKey } from './definition-key.ts';

export interface NormalizedShape {
  /** The normalized definition (see module doc). */
  readonly definition: ShapeDefinition;
  /** definitionKey(definition): equal definitions <=> equal keys. */
  readonly key: string;
  /** The parsed where clause; absent when the shape has none. */
  readonly where?: WhereExpr;
  /** Direct subquery dependencies (normalized), in order of first appearance, deduplicated by key. */
  readonly dependencies: readonly ShapeDefinition[];
}

const inputSchema = z.strictObject({
  table: z.string(),
  where: z.string().optional(),
  columns: z.array(z.string()).optional(),
  replica: z.enum(['default', 'full']).optional(),
});

function codeForPath(path: readonly PropertyKey[]): ShapeDefinitionErrorCode {
  switch (path[0]) {
    case 'table':
      return 'invalid-table';
    case 'columns':
      return 'invalid-columns';
    case 'where':
      return 'invalid-where';
    default:
      return 'invalid-definition';
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function shown(v: unknown): string {
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return typeof v;
  }
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const where = issue.path.length === 0 ? 'shape definition' : issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (allowed: table, where, columns, replica)`;
  }
  if (issue.code === 'invalid_value') {
    return `${where} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${shown(valueAt(input, issue.path))})`;
  }
  if (issue.code === 'invalid_type') {
    const got = valueAt(input, issue.path);
    const article = issue.expected === 'object' || issue.expected === 'array' ? 'an' : 'a';
    return `${where} must be ${article} ${issue.expected} (got ${got === null ? 'null' : Array.isArray(got) ? 'an array' : typeof got})`;
  }
  return `${where}: ${issue.message}`;
}

function identifierError(code: ShapeDefinitionErrorCode, what: string, raw: string, e: unknown): never {
  if (e instanceof IdentifierSyntaxError) {
    throw new ShapeDefinitionError(code, `${code}: invalid ${what} ${JSON.stringify(raw)}: ${e.message}`, raw);
  }
  throw e;
}

function normalizeTable(raw: string): string {
  try {
    return printTableName(parseTableName(raw));
  } catch (e) {
    return identifierError('invalid-table', 'table name', raw, e);
  }
}

function normalizeColumns(raw: readonly string[]): string[] {
  if (raw.length === 0) {
    throw new ShapeDefinitionError(
      'invalid-columns',
      'invalid-columns: columns must not be empty (omit it to select all columns)',
      '[]',
    );
  }
  const out: string[] = [];
  for (const c of raw) {
    let printed: string;
    try {
      printed = quoteIdentifier(parseColumnName(c));
    } catch (e) {
      return identifierError('invalid-columns', 'column name', c, e);
    }
    if (out.includes(printed)) {
      throw new ShapeDefinitionError('invalid-columns', `invalid-columns: column ${printed} is listed twice (as ${JSON.stringify(c)})`, c);
    }
    out.push(printed);
  }
  return out;
}

/**
 * Validates and normalizes a shape definition. Throws ShapeDefinitionError: `invalid-definition`
 * (not an object, unknown keys, bad replica), `invalid-table`, `invalid-columns` (empty,
 * not identifiers, duplicates), `invalid-where` / `unsupported-where` / `subquery-*` (see
 * parseWhere).
 */
export function normalizeShape(input: unknown): NormalizedShape {
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const first = issues[0];
    const code = first === undefined ? 'invalid-definition' : codeForPath(first.path);
    throw new ShapeDefinitionError(code, `${code}: ${issues.map((i) => describeIssue(i, input)).join('; ')}`);
  }
  const data = parsed.data;
  const table = normalizeTable(data.table);
  const columns = data.columns === undefined ? undefined : Object.freeze(normalizeColumns(data.columns));
  const replica: Replica = data.replica ?? 'default';
  const whereText = data.where === undefined || data.where.trim() === '' ? undefined : data.where;
  const parsedWhere = whereText === undefined ? undefined : parseWhere(whereText);

  const definition: ShapeDefinition = Object.freeze({
    table,
    ...(parsedWhere === undefined ? {} : { where: parsedWhere.sql }),
    ...(columns === undefined ? {} : { columns }),
    replica,
  });
  const dependencies = Object.freeze(
    (parsedWhere?.dependencies ?? []).map((d) => Object.freeze({ ...d, ...(d.columns ? { columns: Object.freeze([...d.columns]) } : {}) })),
  );
  return Object.freeze({
    definition,
    key: definitionKey(definition),
    ...(parsedWhere === undefined ? {} : { where: parsedWhere.expr }),
    dependencies,
  });
}

/** Schema and table name (raw, unquoted) of a normalized definition's table. */
export function tableNameOf(def: ShapeDefinition): TableName {
  const parts = parseIdentifierChain(def.table);
  if (parts.length !== 2) throw new Error(`not a normalized table name: ${def.table}`);
  return { schema: parts[0]!.name, name: parts[1]!.name };
}

/** Raw column names (row keys) of a normalized definition's columns; undefined = all columns. */
export function columnNames(def: ShapeDefinition): string[] | undefined {
  return def.columns?.map((c) => {
    const parts = parseIdentifierChain(c);
    if (parts.length !== 1) throw new Error(`not a normalized column name: ${c}`);
    return parts[0]!.name;
  });
}
