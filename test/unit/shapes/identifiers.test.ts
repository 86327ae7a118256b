import { describe, expect, it } from 'vitest';
import {
  IdentifierSyntaxError,
  identifierNeedsQuoting,
  parseColumnName,
  parseIdentifierChain,
  parseTableName,
  printTableName,
  quoteIdentifier,
} from '../../../src/shapes/identifiers.ts';
import { SOME_UNRESERVED_KEYWORDS } from '../../../src/shapes/keywords.ts';

describe('quoteIdentifier', () => {
  it.each([
    ['users', 'users'],
    ['_x1', '_x1'],
    ['Users', '"Users"'],
    ['my table', '"my table"'],
    ['a"b', '"a""b"'],
    ['1abc', '"1abc"'],
    ['a$b', '"a$b"'], // Postgres's quote_ident does not consider $ safe
    ['é', '"é"'],
    ['select', '"select"'], // reserved
    ['user', '"user"'], // reserved
    ['like', '"like"'], // type/func name keyword
    ['between', '"between"'], // column name keyword
    ['int', '"int"'],
  ])('%j -> %s', (name, printed) => {
    expect(quoteIdentifier(name)).toBe(printed);
  });

  it('leaves unreserved keywords bare', () => {
    for (const kw of SOME_UNRESERVED_KEYWORDS) expect(identifierNeedsQuoting(kw)).toBe(false);
  });

  it('refuses empty names and NUL', () => {
    expect(() => quoteIdentifier('')).toThrow();
    expect(() => quoteIdentifier('a\u0000b')).toThrow();
  });
});

describe('parseIdentifierChain', () => {
  it('case-folds unquoted parts and keeps quoted ones', () => {
    expect(parseIdentifierChain('Public.Users')).toEqual([
      { name: 'public', quoted: false },
      { name: 'users', quoted: false },
    ]);
    expect(parseIdentifierChain('"My Schema" . "T""x"')).toEqual([
      { name: 'My Schema', quoted: true },
      { name: 'T"x', quoted: true },
    ]);
  });

  it('only folds ASCII letters', () => {
    expect(parseIdentifierChain('ÉTÉ')[0]!.name).toBe('ÉtÉ');
    expect(parseIdentifierChain('ÀbC')[0]!.name).toBe('Àbc');
  });

  it.each(['', '   ', 'a.', '.a', 'a..b', 'a b', 'a;', '"', '"a', '""', 'a-b', '1a', 'a.*', `${'x'.repeat(64)}`])(
    'rejects %j',
    (text) => {
      expect(() => parseIdentifierChain(text)).toThrow(IdentifierSyntaxError);
    },
  );

  it('accepts a 63-byte name', () => {
    expect(parseIdentifierChain('x'.repeat(63))[0]!.name).toHaveLength(63);
  });
});

describe('parseTableName / printTableName', () => {
  it.each([
    ['users', 'public.users'],
    ['Users', 'public.users'],
    ['public.users', 'public.users'],
    ['PUBLIC.USERS', 'public.users'],
    ['"Users"', 'public."Users"'],
    ['app."Order Items"', 'app."Order Items"'],
    ['"select"', 'public."select"'],
    ['public.select', 'public."select"'], // any keyword is fine after the dot, as in Postgres
    [' public . users ', 'public.users'],
  ])('%j -> %s', (text, printed) => {
    expect(printTableName(parseTableName(text))).toBe(printed);
  });

  it('is idempotent on printed names', () => {
    for (const t of ['public.users', 'public."Users"', 'app."Order Items"', 'public."select"']) {
      expect(printTableName(parseTableName(t))).toBe(t);
    }
  });

  it.each([
    ['public.', /missing name/],
    ['a.b.c', /3 parts/],
    ['users; drop', /unexpected character ";"/],
    ['', /empty/],
    ['select', /reserved keyword/],
    ['user.x', /reserved keyword/],
    ['../etc', /unexpected character/],
  ])('rejects %j', (text, message) => {
    expect(() => parseTableName(text)).toThrow(message);
  });
});

describe('parseColumnName', () => {
  it('folds, unquotes, and rejects qualified or reserved names', () => {
    expect(parseColumnName('ID')).toBe('id');
    expect(parseColumnName('"userId"')).toBe('userId');
    expect(parseColumnName('"select"')).toBe('select');
    expect(() => parseColumnName('t.id')).toThrow(/single column/);
    expect(() => parseColumnName('select')).toThrow(/reserved/);
    expect(() => parseColumnName('a b')).toThrow(IdentifierSyntaxError);
  });
});
