/** A definition against the catalog: tables, keys and every column it names. */
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableInfo } from '../../../src/sources/postgres/catalog.ts';
import { definitionProblem, tablesOf } from '../../../src/sources/postgres/definition-check.ts';
import { loadSqlParser } from '../../../src/shapes/where/sql-parser.ts';
import { normalizeShape } from '../../../src/shapes/definition.ts';

const table = (name: string, columns: string[], keyColumns = ['id']): TableInfo => ({
  table: name,
  oid: 1,
  replicaIdentity: 'd',
  keyColumns,
  columns: columns.map((c) => ({ name: c, typeOid: 23, typeMod: -1 })),
  columnTypes: Object.fromEntries(columns.map((c) => [c, 'integer'])),
  types: Object.fromEntries(columns.map((c) => [c, { type: 'int4' }])),
});
const CATALOG = new Map([
  ['public.users', table('public.users', ['id', 'name', 'org_id'])],
  ['public.memberships', table('public.memberships', ['user_id', 'org_id'], ['user_id', 'org_id'])],
  ['public.nokey', table('public.nokey', ['v'], [])],
]);
const problem = (definition: Record<string, unknown>): string | null => definitionProblem(normalizeShape(definition).definition, (t) => CATALOG.get(t) ?? null, 'db');

describe('definitionProblem', () => {
  beforeAll(loadSqlParser);

  it('takes a definition whose tables and columns all exist, nested subqueries included', () => {
    const definition = { table: 'users', where: 'id IN (SELECT user_id FROM memberships WHERE org_id IN (SELECT org_id FROM users WHERE name IS NOT NULL))', columns: ['name'] };
    expect(problem(definition)).toBeNull();
    expect(tablesOf(normalizeShape(definition).definition)).toEqual(['public.users', 'public.memberships']);
  });

  it('names the table that does not exist or has no key, and the column a table lacks', () => {
    expect(problem({ table: 'gone' })).toBe('table public.gone does not exist in db');
    expect(problem({ table: 'nokey' })).toMatch(/public\.nokey has no primary key/);
    expect(problem({ table: 'users', where: 'nosuch = 1' })).toMatch(/^column nosuch does not exist in table public\.users \(its columns: id, name, org_id\)/);
    expect(problem({ table: 'users', columns: ['name', 'email'] })).toMatch(/column email does not exist in table public\.users/);
    expect(problem({ table: 'users', where: 'id IN (SELECT nosuch FROM memberships)' })).toMatch(/column nosuch does not exist in table public\.memberships/);
    expect(problem({ table: 'users', where: 'id IN (SELECT user_id FROM memberships WHERE other = 1)' })).toMatch(/column other does not exist in table public\.memberships/);
    expect(problem({ table: 'users', where: 'nosuch IN (SELECT user_id FROM memberships)' })).toMatch(/column nosuch does not exist in table public\.users/);
  });
});
