import { beforeAll, describe, expect, it } from 'vitest';
import { columnNames, definitionKey, normalizeShape, tableNameOf } from '../../../src/shapes/definition.ts';
import { ShapeDefinitionError } from '../../../src/shapes/errors.ts';
import type { ShapeDefinitionErrorCode } from '../../../src/shapes/errors.ts';
import { loadSqlParser } from '../../../src/shapes/where/sql-parser.ts';

beforeAll(async () => {
  await loadSqlParser();
});

function rejects(input: unknown, code: ShapeDefinitionErrorCode, message: RegExp): ShapeDefinitionError {
  let error: unknown;
  try {
    normalizeShape(input);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ShapeDefinitionError);
  const e = error as ShapeDefinitionError;
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
  return e;
}

const key = (input: unknown): string => normalizeShape(input).key;

describe('normalizeShape: normal form', () => {
  it('qualifies and folds the table, defaults replica, omits absent fields', () => {
    const n = normalizeShape({ table: 'Users' });
    expect(n.definition).toEqual({ table: 'public.users', replica: 'default' });
    expect(Object.keys(n.definition)).toEqual(['table', 'replica']);
    expect(n.where).toBeUndefined();
    expect('where' in n).toBe(false);
    expect(n.dependencies).toEqual([]);
    expect(n.key).toBe(JSON.stringify(['public.users', null, null, 'default']));
    expect(n.key).toBe(definitionKey(n.definition));
  });

  it('prints the where canonically and keeps columns in order, printed', () => {
    const n = normalizeShape({
      table: 'app."Order Items"',
      where: "Status='open'  and qty>0",
      columns: ['ID', '"orderId"', 'qty'],
      replica: 'full',
    });
    expect(n.definition).toEqual({
      table: 'app."Order Items"',
      where: "status = 'open' AND qty > 0",
      columns: ['id', '"orderId"', 'qty'],
      replica: 'full',
    });
    expect(n.where).toEqual({
      kind: 'and',
      args: [
        { kind: 'compare', op: '=', left: { kind: 'column', name: 'status' }, right: { kind: 'const', value: 'open' } },
        { kind: 'compare', op: '>', left: { kind: 'column', name: 'qty' }, right: { kind: 'const', value: 0 } },
      ],
    });
    expect(columnNames(n.definition)).toEqual(['id', 'orderId', 'qty']);
    expect(tableNameOf(n.definition)).toEqual({ schema: 'app', name: 'Order Items' });
  });

  it('treats an empty or blank where as absent', () => {
    expect(normalizeShape({ table: 'users', where: '' }).definition).toEqual({ table: 'public.users', replica: 'default' });
    expect(key({ table: 'users', where: '  \n ' })).toBe(key({ table: 'users' }));
  });

  it('ID = 7 and id=7 have the same key', () => {
    expect(key({ table: 'users', where: 'ID = 7' })).toBe(key({ table: 'users', where: 'id=7' }));
    expect(key({ table: 'USERS', where: 'id = 7', replica: 'default' })).toBe(key({ table: 'public.users', where: 'id=7' }));
    expect(key({ table: 'users', where: 'a=1 AND (b=2 AND c=3)' })).toBe(key({ table: 'users', where: '(a = 1 and b = 2) and c = 3' }));
  });

  it("'a' and 'A' differ, as do quoted and unquoted identifiers", () => {
    expect(key({ table: 'users', where: "name = 'a'" })).not.toBe(key({ table: 'users', where: "name = 'A'" }));
    expect(key({ table: 'users', where: "name = 'a '" })).not.toBe(key({ table: 'users', where: "name = 'a'" }));
    expect(key({ table: 'users', where: '"ID" = 7' })).not.toBe(key({ table: 'users', where: 'ID = 7' }));
    expect(key({ table: '"Users"' })).not.toBe(key({ table: 'Users' }));
  });

  it('columns order matters; replica matters; literal values matter', () => {
    expect(key({ table: 'users', columns: ['a', 'b'] })).not.toBe(key({ table: 'users', columns: ['b', 'a'] }));
    expect(key({ table: 'users', columns: ['A', 'b'] })).toBe(key({ table: 'users', columns: ['a', 'B'] }));
    expect(key({ table: 'users' })).not.toBe(key({ table: 'users', replica: 'full' }));
    expect(key({ table: 'users', where: 'id = 7' })).not.toBe(key({ table: 'users', where: 'id = 8' }));
    expect(key({ table: 'users', columns: ['id'] })).not.toBe(key({ table: 'users' }));
  });

  it('is idempotent', () => {
    const inputs = [
      { table: 'users' },
      { table: 'Users', where: "Name LIKE 'x%' OR id IN (SELECT user_id FROM Memberships WHERE org_id = 7)", columns: ['ID', '"Name"'] },
      { table: 'x', where: '(a, b) NOT IN (SELECT x, y FROM s WHERE z IN (SELECT q FROM r))', replica: 'full' as const },
      { table: '"select"."from"', columns: ['"where"'] },
    ];
    for (const input of inputs) {
      const once = normalizeShape(input);
      const twice = normalizeShape(once.definition);
      expect(twice.definition).toEqual(once.definition);
      expect(twice.key).toBe(once.key);
      expect(twice.where).toEqual(once.where);
      expect(twice.dependencies).toEqual(once.dependencies);
    }
  });

  it('returns frozen values', () => {
    const n = normalizeShape({ table: 'users', columns: ['id'], where: 'id IN (SELECT x FROM s)' });
    expect(Object.isFrozen(n)).toBe(true);
    expect(Object.isFrozen(n.definition)).toBe(true);
    expect(Object.isFrozen(n.definition.columns)).toBe(true);
    expect(Object.isFrozen(n.dependencies)).toBe(true);
    expect(Object.isFrozen(n.dependencies[0])).toBe(true);
  });
});

describe('normalizeShape: dependencies', () => {
  it('lists the subquery as a dependency definition that normalizes to itself', () => {
    const n = normalizeShape({ table: 'users', where: 'id IN (SELECT user_id FROM public.memberships WHERE org_id = 7)' });
    expect(n.dependencies).toEqual([
      { table: 'public.memberships', where: 'org_id = 7', columns: ['user_id'], replica: 'default' },
    ]);
    const dep = normalizeShape(n.dependencies[0]);
    expect(dep.definition).toEqual(n.dependencies[0]);
    expect(dep.key).toBe(definitionKey(n.dependencies[0]!));
    expect(dep.dependencies).toEqual([]);
  });

  it('dependencies always have replica default, even for a full-replica outer shape', () => {
    const n = normalizeShape({ table: 'users', where: 'id IN (SELECT u FROM m)', replica: 'full' });
    expect(n.dependencies[0]!.replica).toBe('default');
  });

  it('nested: each level lists only its direct dependency', () => {
    const n = normalizeShape({
      table: 'a',
      where: 'x IN (SELECT y FROM b WHERE z IN (SELECT w FROM c WHERE v IN (SELECT u FROM d)))',
    });
    const chain: string[] = [];
    let level = n;
    while (level.dependencies.length > 0) {
      expect(level.dependencies).toHaveLength(1);
      chain.push(level.dependencies[0]!.table);
      level = normalizeShape(level.dependencies[0]);
    }
    expect(chain).toEqual(['public.b', 'public.c', 'public.d']);
  });

  it('identical subqueries share a dependency; different ones are listed in order', () => {
    const same = normalizeShape({ table: 't', where: 'a IN (SELECT x FROM s) AND b IN (SELECT X FROM S)' });
    expect(same.dependencies).toHaveLength(1);
    const two = normalizeShape({ table: 't', where: 'a IN (SELECT x FROM s2) AND b IN (SELECT x FROM s1)' });
    expect(two.dependencies.map((d) => d.table)).toEqual(['public.s2', 'public.s1']);
  });
});

describe('normalizeShape: errors', () => {
  it.each<[unknown, ShapeDefinitionErrorCode, RegExp]>([
    [null, 'invalid-definition', /shape definition must be an object \(got null\)/],
    ['users', 'invalid-definition', /must be an object \(got string\)/],
    [[], 'invalid-definition', /must be an object/],
    [{}, 'invalid-table', /table must be a string \(got undefined\)/],
    [{ table: 5 }, 'invalid-table', /table must be a string \(got number\)/],
    [{ table: 'users', foo: 1 }, 'invalid-definition', /unknown key "foo"/],
    [{ table: 'users', replica: 'half' }, 'invalid-definition', /replica must be one of "default", "full" \(got "half"\)/],
    [{ table: 'users', replica: null }, 'invalid-definition', /replica/],
    [{ table: 'users', where: 7 }, 'invalid-where', /where must be a string/],
    [{ table: 'users', where: null }, 'invalid-where', /where must be a string/],
    [{ table: 'users', columns: 'id' }, 'invalid-columns', /columns must be an array/],
    [{ table: 'users', columns: [1] }, 'invalid-columns', /columns\.0 must be a string/],
    [{ table: 'users', columns: [] }, 'invalid-columns', /must not be empty/],
    [{ table: 'users', columns: ['id', 'ID'] }, 'invalid-columns', /column id is listed twice/],
    [{ table: 'users', columns: ['"a"', 'a'] }, 'invalid-columns', /column a is listed twice/],
    [{ table: 'users', columns: ['a b'] }, 'invalid-columns', /invalid column name "a b"/],
    [{ table: 'users', columns: ['t.id'] }, 'invalid-columns', /not a single column name/],
    [{ table: 'users', columns: ['select'] }, 'invalid-columns', /reserved keyword/],
    [{ table: 'users', columns: [''] }, 'invalid-columns', /empty name/],
    [{ table: 'public.' }, 'invalid-table', /invalid table name "public\.": missing name after "\."/],
    [{ table: 'a.b.c' }, 'invalid-table', /invalid table name "a\.b\.c": .*3 parts/],
    [{ table: 'users; drop' }, 'invalid-table', /invalid table name "users; drop": unexpected character ";"/],
    [{ table: '' }, 'invalid-table', /invalid table name "": empty name/],
    [{ table: '   ' }, 'invalid-table', /empty name/],
    [{ table: '../etc/passwd' }, 'invalid-table', /unexpected character/],
    [{ table: 'select' }, 'invalid-table', /reserved keyword/],
    [{ table: `${'t'.repeat(64)}` }, 'invalid-table', /longer than 63 bytes/],
    [{ table: 'users', where: 'id IN (SELECT FROM x)' }, 'subquery-without-column', /selects no column/],
    [{ table: 'users', where: 'id = 1; DROP TABLE users' }, 'invalid-where', /single boolean expression/],
    [{ table: 'users', where: "id = '7'::int" }, 'unsupported-where', /type cast/],
  ])('%j -> %s', (input, code, message) => {
    const e = rejects(input, code, message);
    expect(e.message.startsWith(`${code}: `)).toBe(true);
  });

  it('sets detail to the offending fragment', () => {
    expect(rejects({ table: 'users; drop' }, 'invalid-table', /./).detail).toBe('users; drop');
    expect(rejects({ table: 'users', columns: ['id', 'ID'] }, 'invalid-columns', /./).detail).toBe('ID');
    expect(rejects({ table: 'users', where: 'id = = 1' }, 'invalid-where', /position 6/).detail).toBe('=');
  });
});
