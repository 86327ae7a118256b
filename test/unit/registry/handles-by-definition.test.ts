import { describe, expect, it } from 'vitest';
import { HandlesByDefinition } from '../../../src/registry/handles-by-definition.ts';
import { definitionKey, type ShapeDefinition } from '../../../src/shapes/definition.ts';
import { createHandle, definitionHash } from '../../../src/shapes/handle.ts';

const users: ShapeDefinition = { table: 'public.users', where: 'id = 1', replica: 'default' };
const posts: ShapeDefinition = { table: 'public.posts', replica: 'full' };

function filed(...shapes: [string, ShapeDefinition][]): HandlesByDefinition {
  const definitions = new Map(shapes);
  const index = new HandlesByDefinition((h) => definitions.get(h));
  for (const [handle, definition] of shapes) index.add(handle, definition);
  return index;
}

describe('HandlesByDefinition', () => {
  it('finds a shape by its definition key through its handle, and forgets it when deleted', () => {
    const handle = createHandle(definitionKey(users), 5n);
    const index = filed([handle, users]);
    expect(index.handleFor(definitionKey(users))).toBe(handle);
    expect(index.handleFor(definitionKey(posts))).toBeUndefined();
    index.delete(handle, users);
    expect(index.handleFor(definitionKey(users))).toBeUndefined();
  });

  it('compares the keys of shapes filed under the same hash', () => {
    // A handle claiming users' hash for posts' definition: filed under users' hash, never found for users.
    const impostor = `${definitionHash(definitionKey(users))}-1`;
    const real = createHandle(definitionKey(users), 2n);
    const index = filed([impostor, posts], [real, users]);
    expect(index.handleFor(definitionKey(users))).toBe(real);
    index.delete(real, users);
    expect(index.handleFor(definitionKey(users))).toBeUndefined();
  });

  it('files a handle of another form under its key', () => {
    const index = filed(['users-shape', users], ['posts-shape', posts]);
    expect(index.handleFor(definitionKey(users))).toBe('users-shape');
    expect(index.handleFor(definitionKey(posts))).toBe('posts-shape');
  });
});
