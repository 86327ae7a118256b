import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { castKeys, constKeys } from '../../../src/shapes/where-index/equality-keys.ts';
import type { ConstExpr } from '../../../src/shapes/where/ast.ts';

const int = (value: number): ConstExpr => ({ kind: 'const', value });

describe('constKeys', () => {
  it('keys an integer constant exactly as the nine casts do, inside and outside the shortcut', () => {
    const edges = [0, -0, 1, -1, 279, 2 ** 24, -(2 ** 24), 2 ** 24 + 1, -(2 ** 24) - 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53 - 1, 1e15, 1e15 + 1];
    for (const v of edges) expect(constKeys(int(v)), String(v)).toEqual(castKeys(int(v)));
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 26), max: 2 ** 26 }), (v) => {
        expect(constKeys(int(v))).toEqual(castKeys(int(v)));
      }),
      { numRuns: 2000 },
    );
  });

  it('an integer float4 cannot hold exactly still gets its float4 key (no shortcut past 2^24)', () => {
    expect(castKeys(int(2 ** 24 + 1)).length).toBeGreaterThan(1);
    expect(constKeys(int(2 ** 24 + 1))).toEqual(castKeys(int(2 ** 24 + 1)));
  });

  it('other constants are keyed by their casts', () => {
    for (const c of [{ kind: 'const', value: 0.5 }, { kind: 'const', value: '5' }, { kind: 'const', value: true }, { kind: 'const', value: '1.50', numeric: true }] as ConstExpr[]) {
      expect(constKeys(c)).toEqual(castKeys(c));
    }
  });
});
