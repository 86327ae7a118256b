import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createHandle,
  definitionHash,
  handleCreatedAtMicros,
  handleHash,
  isHandle,
  monotonicMicros,
  strictlyIncreasing,
} from '../../../src/shapes/handle.ts';

const KEY = JSON.stringify(['public.users', 'id = 7', null, 'default']);

describe('definitionHash', () => {
  it('is the first 32 bits of sha256(key) as unsigned decimal', () => {
    const expected = createHash('sha256').update(KEY).digest().readUInt32BE(0);
    expect(definitionHash(KEY)).toBe(String(expected));
    expect(definitionHash(KEY)).toMatch(/^\d{1,10}$/);
  });

  it('is stable for the same key and differs for keys differing only in a literal', () => {
    expect(definitionHash(KEY)).toBe(definitionHash(KEY));
    // libpg-query's fingerprint would ignore the literal; our hash must not.
    const other = JSON.stringify(['public.users', 'id = 8', null, 'default']);
    expect(definitionHash(other)).not.toBe(definitionHash(KEY));
  });
});

describe('createHandle', () => {
  it('is `${hash}-${micros}` with the injected time', () => {
    expect(createHandle(KEY, 1765808264363524n)).toBe(`${definitionHash(KEY)}-1765808264363524`);
  });

  it('uses the same hash for the same key and strictly increasing micros', () => {
    const handles = Array.from({ length: 200 }, () => createHandle(KEY));
    const hashes = new Set(handles.map(handleHash));
    expect(hashes).toEqual(new Set([definitionHash(KEY)]));
    const micros = handles.map(handleCreatedAtMicros);
    for (let i = 1; i < micros.length; i++) expect(micros[i]! > micros[i - 1]!).toBe(true);
    expect(new Set(handles).size).toBe(handles.length);
  });

  it('uses the wall clock in microseconds', () => {
    const before = BigInt(Date.now()) * 1000n;
    const t = handleCreatedAtMicros(createHandle(KEY));
    const after = BigInt(Date.now()) * 1000n + 1000n;
    // allow for the anchoring of the high-resolution clock (a few ms)
    expect(t >= before - 50_000n && t <= after + 50_000n).toBe(true);
  });

  it('monotonicMicros never repeats', () => {
    let last = monotonicMicros();
    for (let i = 0; i < 1000; i++) {
      const now = monotonicMicros();
      expect(now > last).toBe(true);
      last = now;
    }
  });

  it('strictlyIncreasing: a stalled or backwards clock still yields increasing values', () => {
    const readings = [10n, 10n, 10n, 9n, 5n, 12n, 12n, 20n];
    let i = 0;
    const clock = strictlyIncreasing(() => readings[i++]!);
    expect(readings.map(() => clock())).toEqual([10n, 11n, 12n, 13n, 14n, 15n, 16n, 20n]);
  });

  it('gives a re-created shape a different handle', () => {
    expect(createHandle(KEY)).not.toBe(createHandle(KEY));
  });
});

describe('isHandle', () => {
  it('accepts digits-dash-digits', () => {
    expect(isHandle('32220858-1765808264363524')).toBe(true);
    expect(isHandle(createHandle(KEY))).toBe(true);
    expect(isHandle('1-2')).toBe(true);
    expect(isHandle(`${'9'.repeat(20)}-${'9'.repeat(20)}`)).toBe(true);
  });

  it.each([
    '../x',
    '1-2/..',
    '../1-2',
    '1-2/../../etc',
    '..',
    '.',
    '',
    '1-',
    '-2',
    '12',
    '1--2',
    '1-2-3',
    '1-2\n',
    ' 1-2',
    '1-2 ',
    'a-1',
    '1-2\u0000',
    '１-２', // full-width digits
    `${'9'.repeat(21)}-1`,
    `1-${'9'.repeat(21)}`,
  ])('rejects %j', (s) => {
    expect(isHandle(s)).toBe(false);
  });
});

describe('handleCreatedAtMicros', () => {
  it('reads the time part back', () => {
    expect(handleCreatedAtMicros('32220858-1765808264363524')).toBe(1765808264363524n);
    expect(handleHash('32220858-1765808264363524')).toBe('32220858');
  });

  it('throws on non-handles', () => {
    expect(() => handleCreatedAtMicros('../x')).toThrow(/not a shape handle/);
    expect(() => handleHash('1-2/..')).toThrow(/not a shape handle/);
  });
});
