import { describe, expect, it } from 'vitest';
import { normalizeShape } from '../../../src/shapes/definition.ts';
import { parseWhere } from '../../../src/shapes/where/parse.ts';
import { isSqlParserLoaded, loadSqlParser, parseSqlSync } from '../../../src/shapes/where/sql-parser.ts';

// Each test file gets fresh modules: the parser starts unloaded here.
describe('loadSqlParser', () => {
  it('parsing before loading throws a clear error; definitions without where need no parser', async () => {
    expect(isSqlParserLoaded()).toBe(false);
    expect(() => parseSqlSync('SELECT 1')).toThrow(/SQL parser not loaded: await loadSqlParser\(\)/);
    expect(() => parseWhere('a = 1')).toThrow(/SQL parser not loaded/);
    expect(() => normalizeShape({ table: 'users', where: 'a = 1' })).toThrow(/SQL parser not loaded/);
    expect(normalizeShape({ table: 'users', columns: ['id'] }).definition).toEqual({
      table: 'public.users',
      columns: ['id'],
      replica: 'default',
    });

    // idempotent, also when called concurrently
    await Promise.all([loadSqlParser(), loadSqlParser(), loadSqlParser()]);
    await loadSqlParser();
    expect(isSqlParserLoaded()).toBe(true);
    expect(parseWhere('A = 1').sql).toBe('a = 1');
  });

  it('rejects NUL characters instead of letting the C parser truncate the input', async () => {
    await loadSqlParser();
    expect(() => parseWhere('a = 1\u0000; DROP TABLE x')).toThrow(/^invalid-where: the where clause contains a NUL character \(position 6\)$/);
  });
});
