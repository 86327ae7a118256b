/**
 * The source tree keeps the data's path: every file is in a room scripts/source-map.ts
 * describes, no room imports one below it, pure rooms import no XState, and the README's
 * source map is the one generated from the tree (else: npm run source-map).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkLayering, README, renderSourceMap, ROOMS, withSourceMap } from '../../scripts/source-map.ts';

describe('source layout', () => {
  it('imports only go up the data path, and pure rooms import no XState', () => {
    expect(checkLayering()).toEqual([]);
  });

  it('the README source map is current', () => {
    const readme = readFileSync(README, 'utf8');
    expect(withSourceMap(readme)).toBe(readme);
  });

  it('lists every room that holds files, in layer order', () => {
    const map = renderSourceMap();
    const layers = ROOMS.map((r) => r.layer);
    expect([...layers].sort((a, b) => a - b)).toEqual(layers);
    for (const room of ['shapes/', 'storage/', 'live/', 'actors/', 'machines/', 'sources/']) expect(map).toContain(`  ${room}`);
  });
});
