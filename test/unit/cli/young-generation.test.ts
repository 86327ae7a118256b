import { describe, expect, it } from 'vitest';
import { LARGE_SERVICE_SHAPES, SERVICE_SEMI_SPACE_MIB, semiSpaceMiB, youngGenerationAdvice } from '../../../src/cli/young-generation.ts';

describe('semiSpaceMiB', () => {
  it("is null when neither the process's flags nor NODE_OPTIONS set it", () => {
    expect(semiSpaceMiB([], undefined)).toBeNull();
    expect(semiSpaceMiB(['--expose-gc', '--max-old-space-size=4096'], '--enable-source-maps')).toBeNull();
  });

  it('reads every spelling: dashes or underscores, the value inline or as the next argument', () => {
    expect(semiSpaceMiB(['--max-semi-space-size=64'], undefined)).toBe(64);
    expect(semiSpaceMiB(['--max_semi_space_size=32'], undefined)).toBe(32);
    expect(semiSpaceMiB(['--max-semi-space-size', '128', '--import', 'tsx'], undefined)).toBe(128);
    expect(semiSpaceMiB([], '  --enable-source-maps   --max-semi-space-size=48 ')).toBe(48);
  });

  it("the process's own flags win over NODE_OPTIONS, and the last of several wins", () => {
    expect(semiSpaceMiB(['--max-semi-space-size=64'], '--max-semi-space-size=16')).toBe(64);
    expect(semiSpaceMiB(['--max-semi-space-size=16', '--max-semi-space-size=96'], undefined)).toBe(96);
  });

  it('ignores a flag without a usable value, and flags that only look alike', () => {
    expect(semiSpaceMiB(['--max-semi-space-size=abc'], undefined)).toBeNull();
    expect(semiSpaceMiB(['--max-semi-space-size'], undefined)).toBeNull();
    expect(semiSpaceMiB(['--max-semi-space-size=0'], undefined)).toBeNull();
    expect(semiSpaceMiB(['--min-semi-space-size=64', '--max-semi-space-sizes=64'], undefined)).toBeNull();
    expect(semiSpaceMiB(['--max-semi-space-size=oops'], '--max-semi-space-size=64')).toBe(64);
  });
});

describe('youngGenerationAdvice', () => {
  it('says nothing for a service below the size where it matters', () => {
    expect(youngGenerationAdvice(LARGE_SERVICE_SHAPES - 1, null)).toBeNull();
    expect(youngGenerationAdvice(0, null)).toBeNull();
  });

  it('says nothing when the process runs with at least the recommended semi-space', () => {
    expect(youngGenerationAdvice(100_000, SERVICE_SEMI_SPACE_MIB)).toBeNull();
    expect(youngGenerationAdvice(100_000, 2 * SERVICE_SEMI_SPACE_MIB)).toBeNull();
  });

  it("names the shape count, what the process runs with and the flag to start it with, for Node's default and for a smaller setting", () => {
    const withDefault = youngGenerationAdvice(LARGE_SERVICE_SHAPES, null);
    expect(withDefault).toContain(`${LARGE_SERVICE_SHAPES} shapes with Node's default semi-space`);
    expect(withDefault).toContain(`--max-semi-space-size=${SERVICE_SEMI_SPACE_MIB}`);
    expect(withDefault).toContain(`NODE_OPTIONS=--max-semi-space-size=${SERVICE_SEMI_SPACE_MIB}`);
    const withSmaller = youngGenerationAdvice(50_000, 32);
    expect(withSmaller).toContain('50000 shapes with --max-semi-space-size=32');
  });
});
