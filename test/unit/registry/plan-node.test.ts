import { beforeAll, describe, expect, it } from 'vitest';
import { KeptShape } from '../../../src/registry/kept-shape.ts';
import { toPlanNode, type ShapeRecord } from '../../../src/registry/shape-record.ts';
import { definitionKey, normalizeShape } from '../../../src/shapes/definition.ts';
import { loadSqlParser } from '../../../src/shapes/where/sql-parser.ts';

beforeAll(loadSqlParser);

describe('a kept shape is its own plan node', () => {
  it('toPlanNode gives it back, answering what a plan node of its record answers', () => {
    const shape = normalizeShape({ table: 'public.t', where: 'k = 1 AND c IN (SELECT c FROM public.d WHERE g = 2)' });
    const record: ShapeRecord = { stored: { handle: '12-1765808264000123', definition: shape.definition, dependencyHandles: ['34-1765808264000001'], requested: true }, shape };
    const kept = new KeptShape(record.stored, shape.where, shape.dependencies);
    const own = toPlanNode(kept);
    const built = toPlanNode(record);
    expect(own).toBe(kept);
    expect(built).not.toBe(record);
    for (const node of [own, built]) {
      expect(node.handle).toBe('12-1765808264000123');
      expect(node.key).toBe(definitionKey(shape.definition));
      expect(node.dependencyHandles).toEqual(['34-1765808264000001']);
      expect(node.dependencyKeys).toEqual([definitionKey(shape.dependencies[0]!)]);
      expect(node.createdAt).toBe(1765808264000123n);
      expect(node.requested).toBe(true);
    }
  });
});
