import { describe, expect, it } from 'vitest';
import { KeptShape, keptShape } from '../../../src/registry/kept-shape.ts';
import { ShapeInterner } from '../../../src/registry/shape-interner.ts';
import { metadataOf, parsedDefinitionOf, recordFromMetadata } from '../../../src/registry/shape-record.ts';
import { ShapeRegistry } from '../../../src/registry/shape-registry.ts';
import { definitionKey, normalizeShape } from '../../../src/shapes/definition.ts';
import { createHandle } from '../../../src/shapes/handle.ts';
import { loadSqlParser } from '../../../src/shapes/where/sql-parser.ts';
import type { ShapeMetadata } from '../../../src/storage/storage.ts';

await loadSqlParser();

/** A shape's metadata record as the log holds it (decoded from JSON: nothing shared). */
function metadata(table: string, where: string, micros: bigint, dependencyHandles: string[] = []): ShapeMetadata {
  const shape = normalizeShape({ table, where });
  const record: ShapeMetadata = { shape: { handle: createHandle(shape.key, micros), definition: shape.definition, dependencyHandles, requested: true }, parsed: parsedDefinitionOf(shape) };
  return JSON.parse(JSON.stringify(record)) as ShapeMetadata;
}

describe('KeptShape and ShapeInterner', () => {
  it('gives back the metadata it was read from, key and shape included', () => {
    const m = metadata('public.items', 'k = 1 AND c IN (SELECT c FROM public.deps WHERE g = 2)', 1n, ['1-1']);
    const record = recordFromMetadata(m)!;
    expect(metadataOf(record)).toEqual(m);
    expect(record.shape).toBe(record);
    expect(record.key).toBe(definitionKey(m.shape.definition));
    expect(record.dependencies).toEqual([{ table: 'public.deps', where: 'g = 2', columns: ['c'], replica: 'default' }]);
    expect(JSON.parse(JSON.stringify(record.stored))).toEqual(m.shape);
  });

  it('shares one where clause, where text and table among the records of one restore', () => {
    const interner = new ShapeInterner();
    const a = recordFromMetadata(metadata('public.t1', 'k = 5', 1n), interner)!;
    const b = recordFromMetadata(metadata('public.t2', 'k = 5', 2n), interner)!;
    const c = recordFromMetadata(metadata('public.t1', 'k = 6', 3n), interner)!;
    expect(b.where).toBe(a.where);
    expect(c.where).not.toBe(a.where);
    expect(c.where).toEqual({ kind: 'compare', op: '=', left: { kind: 'column', name: 'k' }, right: { kind: 'const', value: 6 } });
    expect(c.table).toBe(a.table);
    expect(b.definition.where).toBe(a.definition.where);
    // Without a shared interner nothing is shared.
    expect(recordFromMetadata(metadata('public.t2', 'k = 5', 4n))!.where).not.toBe(a.where);
  });

  it('shares between records of distinct where texts their columns, subquery tests, dependency definitions and handle lists', () => {
    const interner = new ShapeInterner();
    const sub = (k: number, micros: bigint) => recordFromMetadata(metadata('public.items', `k = ${k} AND c IN (SELECT c FROM public.deps WHERE g = 2)`, micros, ['1-1']), interner)!;
    const a = sub(1, 1n);
    const b = sub(2, 2n);
    const plain = recordFromMetadata(metadata('public.items', 'k = 2', 3n), interner)!;
    const other = recordFromMetadata(metadata('public.items', 'k = 3 AND c IN (SELECT c FROM public.deps WHERE g = 3)', 4n, ['2-2']), interner)!;
    if (a.where?.kind !== 'and' || b.where?.kind !== 'and' || plain.where?.kind !== 'compare' || other.where?.kind !== 'and') throw new Error('unexpected parse');
    const [ak, as] = a.where.args;
    const [bk, bs] = b.where.args;
    if (ak?.kind !== 'compare' || bk?.kind !== 'compare') throw new Error('unexpected parse');
    expect(bk.left).toBe(ak.left);
    expect(bk.right).not.toBe(ak.right);
    expect(plain.where.left).toBe(bk.left);
    expect(bs).toBe(as);
    expect(b.dependencies).toBe(a.dependencies);
    expect(b.stored.dependencyHandles).toBe(a.stored.dependencyHandles);
    expect(other.dependencies).not.toBe(a.dependencies);
    expect(other.dependencies[0]!.columns).toBe(a.dependencies[0]!.columns);
    expect(other.stored.dependencyHandles).toEqual(['2-2']);
    // What is shared is what each record was read from.
    for (const [record, k, g, dep, micros] of [[a, 1, 2, '1-1', 1n], [b, 2, 2, '1-1', 2n], [other, 3, 3, '2-2', 4n]] as const) {
      expect(metadataOf(record)).toEqual(metadata('public.items', `k = ${k} AND c IN (SELECT c FROM public.deps WHERE g = ${g})`, micros, [dep]));
    }
  });

  it('keeps any record as a KeptShape in the registry, and an update keeps its where clause', () => {
    const shape = normalizeShape({ table: 'public.items', where: 'k = 1' });
    const registry = new ShapeRegistry();
    const stored = { handle: createHandle(shape.key, 9n), definition: shape.definition, dependencyHandles: [], requested: false };
    registry.add({ stored, shape });
    const kept = registry.get(stored.handle)!;
    expect(kept).toBeInstanceOf(KeptShape);
    // Its stored part is its own fields, given back as an equal object (not kept as one).
    expect(kept.stored).toEqual(stored);
    expect(kept.stored).not.toBe(stored);
    expect(kept.handle).toBe(stored.handle);
    expect(kept.definition).toBe(stored.definition);
    expect(kept.dependencyHandles).toBe(stored.dependencyHandles);
    expect(kept.where).toBe(shape.where);
    expect(kept.depth).toBe(0);
    // A KeptShape already in a registry is copied into another, never shared (its graph fields are the registry's).
    const other = new ShapeRegistry();
    other.add(kept);
    expect(other.get(stored.handle)).not.toBe(kept);
    expect(keptShape(other.get(stored.handle)!)).not.toBe(other.get(stored.handle));
    expect(registry.handleForKey(shape.key)).toBe(stored.handle);
    registry.update({ ...stored, requested: true });
    expect(registry.get(stored.handle)).toBe(kept);
    expect(kept.requested).toBe(true);
    expect(kept.stored).toEqual({ ...stored, requested: true });
    expect(kept.where).toBe(shape.where);
    expect(() => registry.update({ ...stored, handle: '1-1' })).toThrow(/not registered/);
  });

  it('keeps the end of what committed batches appended to its log: the furthest, whatever order they are noted in', () => {
    const shape = normalizeShape({ table: 'public.items', where: 'k = 2' });
    const registry = new ShapeRegistry();
    const stored = { handle: createHandle(shape.key, 10n), definition: shape.definition, dependencyHandles: [], requested: true };
    const kept = registry.add({ stored, shape });
    expect(kept.appendedEnd).toBeUndefined();
    registry.noteAppended([{ handle: stored.handle, last: { tx: 5, op: 1 } }, { handle: '1-1', last: { tx: 9, op: 0 } }]);
    expect(kept.appendedEnd).toEqual({ tx: 5, op: 1 });
    const handedOut = kept.appendedEnd;
    registry.noteAppended([{ handle: stored.handle, last: { tx: 5, op: 0 } }]);
    expect(kept.appendedEnd).toEqual({ tx: 5, op: 1 });
    registry.noteAppended([{ handle: stored.handle, last: { tx: 5, op: 3 } }]);
    expect(kept.appendedEnd).toEqual({ tx: 5, op: 3 });
    registry.noteAppended([{ handle: stored.handle, last: { tx: 4, op: 7 } }]);
    expect(kept.appendedEnd).toEqual({ tx: 5, op: 3 });
    registry.noteAppended([{ handle: stored.handle, last: { tx: 8, op: 0 } }]);
    expect(kept.appendedEnd).toEqual({ tx: 8, op: 0 });
    expect(handedOut).toEqual({ tx: 5, op: 1 });
  });

  it('finds a shape by its definition key whether it was added or removed before or after the first lookup', () => {
    const registry = new ShapeRegistry();
    const add = (where: string, micros: bigint) => {
      const shape = normalizeShape({ table: 'public.items', where });
      const stored = { handle: createHandle(shape.key, micros), definition: shape.definition, dependencyHandles: [], requested: true };
      registry.add({ stored, shape });
      return { key: shape.key, handle: stored.handle };
    };
    const a = add('k = 1', 1n);
    const b = add('k = 2', 2n);
    registry.delete(b.handle);
    // The first lookup builds the definition lookup from what is registered now.
    expect(registry.handleForKey(a.key)).toBe(a.handle);
    expect(registry.handleForKey(b.key)).toBeUndefined();
    const c = add('k = 3', 3n);
    expect(registry.handleForKey(c.key)).toBe(c.handle);
    registry.delete(a.handle);
    expect(registry.handleForKey(a.key)).toBeUndefined();
    expect(registry.handleForKey(normalizeShape({ table: 'public.items', where: 'k = 4' }).key)).toBeUndefined();
  });
});
