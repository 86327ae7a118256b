/**
 * The real `@electric-sql/client` following shapes of a server under test (through the same
 * module the demo uses): its rows, the must-refetch messages it saw, its handles, its errors.
 */
import * as client from '@electric-sql/client';
import { expect } from 'vitest';
import { canonicalRows, followShape, type FollowedShape, type FollowParams } from '../../src/cli/electric-clients.ts';

export { canonicalRows, caughtUp, type FollowedShape, type FollowParams } from '../../src/cli/electric-clients.ts';

export function follow(baseUrl: string, name: string, params: FollowParams, options: { readonly secret?: string } = {}): FollowedShape {
  return followShape(client, baseUrl, name, params, options);
}

/** The client's rows become `expected` (a response's rows reach `Shape` a moment after its offset does). */
export async function expectRows(followed: FollowedShape, expected: ReadonlyMap<string, Readonly<Record<string, unknown>>>, context = '', timeoutMs = 5_000): Promise<void> {
  const want = canonicalRows(expected);
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline && canonicalRows(followed.rows()) !== want; ) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(canonicalRows(followed.rows()), `${followed.name}${context}`).toBe(want);
}
