import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseStoredShape, storedShapeSchema } from '../../../src/storage/stored-shape.schema.ts';

const handle = fc.oneof(fc.constantFrom('1-2', '32220858-1765808264363524'), fc.string({ maxLength: 8 }), fc.stringMatching(/^\d{1,3}-\d{1,3}$/));
const anyJson = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 4 }), fc.constant([]), fc.constant({}));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, anyJson);
const definition = fc.record(
  {
    table: maybe(fc.constantFrom('public.t', '')),
    where: maybe(fc.constantFrom('k = 1', '')),
    columns: maybe(fc.array(fc.constantFrom('c', ''), { maxLength: 2 })),
    replica: maybe(fc.constantFrom('default', 'full', 'other')),
    extra: anyJson,
  },
  { requiredKeys: [] },
);
const storedShape = fc.record(
  { handle: maybe(handle), definition: maybe(definition), dependencyHandles: maybe(fc.array(maybe(handle), { maxLength: 3 })), requested: maybe(fc.boolean()), extra: anyJson },
  { requiredKeys: [] },
);
// Valid records (with their optional fields or not), so both answers are well represented.
const valid = fc.record({
  handle: fc.stringMatching(/^\d{1,20}-\d{1,20}$/),
  definition: fc.record({ table: fc.constant('public.t'), where: fc.constant('k = 1'), columns: fc.constant(['c']), replica: fc.constantFrom('default', 'full') }, { requiredKeys: ['table', 'replica'] }),
  dependencyHandles: fc.array(fc.constant('1-2'), { maxLength: 2 }),
  requested: fc.boolean(),
});

describe('parseStoredShape: the hand-written check of a stored shape record', () => {
  it('accepts exactly what storedShapeSchema accepts, and returns the record itself', () => {
    fc.assert(
      fc.property(fc.oneof(valid, storedShape, anyJson), (value) => {
        const json: unknown = JSON.parse(JSON.stringify(value));
        const ours = parseStoredShape(json);
        expect(ours.ok).toBe(storedShapeSchema.safeParse(json).success);
        if (ours.ok) expect(ours.shape).toBe(json);
      }),
      { numRuns: 3000 },
    );
  });

  it('names the field and the reason', () => {
    const good = { handle: '1-2', definition: { table: 'public.t', replica: 'default' }, dependencyHandles: [], requested: true };
    expect(parseStoredShape(good).ok).toBe(true);
    expect(parseStoredShape({ ...good, handle: 'x' })).toEqual({ ok: false, reason: 'handle: not a shape handle' });
    expect(parseStoredShape({ ...good, dependencyHandles: ['1-2', 'nope'] })).toEqual({ ok: false, reason: 'dependencyHandles.1: not a shape handle' });
    expect(parseStoredShape({ ...good, definition: { ...good.definition, columns: [] } })).toEqual({ ok: false, reason: 'definition.columns: expected a non-empty array' });
    expect(parseStoredShape({ ...good, extra: 1 })).toEqual({ ok: false, reason: '(root): unrecognized key "extra"' });
    expect(parseStoredShape({ ...good, requested: 'yes' })).toEqual({ ok: false, reason: 'requested: expected a boolean' });
  });
});
