/**
 * A snapshot never misses a row (issue 17, item 4): the embedded row store
 * answers a new shape's snapshot through its column indexes (equality keys,
 * NULL, link keys), built at a random moment and kept current through random
 * inserts, updates and deletes of rows with edge values. On random where
 * clauses and subquery values, the rows it reads that the evaluator matches
 * are exactly the rows of the whole table the evaluator matches.
 *
 * Seeded: FC_SEED / FC_PATH replay a failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CountedLinkSet } from '../../src/live/counted-link-set.ts';
import type { ConstExpr, WhereExpr } from '../../src/shapes/where/ast.ts';
import { evaluateWhere, type Row } from '../../src/shapes/where/evaluate.ts';
import { MemoryTableFiles } from '../../src/storage/rows/table-files.ts';
import type { KeyedRow, RowSelection } from '../../src/storage/rows/row-store.ts';
import { TableStore } from '../../src/storage/rows/table-store.ts';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 17042;
const PATH = process.env.FC_PATH;
const TABLE = 'public.t';

/** Values the evaluator compares in different ways: numbers as text, booleans as text, NULL, objects. */
const EDGE: readonly unknown[] = [null, 0, 1, 7, 1.5, -1, '1', '7', '07', '1.50', 't', 'yes', 'f', '', 'abc', true, false, { v: 1 }];
const valueArb = fc.constantFrom(...EDGE);
const constArb = valueArb.filter((v) => typeof v !== 'object' || v === null).map((value): ConstExpr => ({ kind: 'const', value: value as ConstExpr['value'] }));
const column = fc.constantFrom('a', 'b').map((name) => ({ kind: 'column' as const, name }));

const { where: whereArb } = fc.letrec<{ where: WhereExpr }>((tie) => ({
  where: fc.oneof(
    { depthSize: 'small' },
    { weight: 4, arbitrary: fc.tuple(column, constArb).map(([left, right]): WhereExpr => ({ kind: 'compare', op: '=', left, right })) },
    { weight: 2, arbitrary: fc.tuple(column, fc.array(constArb, { minLength: 1, maxLength: 3 })).map(([expr, list]): WhereExpr => ({ kind: 'inList', expr, list, negated: false })) },
    { weight: 1, arbitrary: column.map((expr): WhereExpr => ({ kind: 'isNull', expr, negated: false })) },
    { weight: 1, arbitrary: column },
    { weight: 2, arbitrary: column.map((test): WhereExpr => ({ kind: 'sublink', dependency: 0, test: [test] })) },
    { weight: 1, arbitrary: fc.tuple(column, constArb).map(([left, right]): WhereExpr => ({ kind: 'compare', op: '<', left, right })) },
    { weight: 2, arbitrary: fc.array(tie('where'), { minLength: 2, maxLength: 3 }).map((args): WhereExpr => ({ kind: 'and', args })) },
    { weight: 2, arbitrary: fc.array(tie('where'), { minLength: 2, maxLength: 3 }).map((args): WhereExpr => ({ kind: 'or', args })) },
    { weight: 1, arbitrary: tie('where').map((arg): WhereExpr => ({ kind: 'not', arg })) },
  ),
}));

const rowArb = fc.record({ id: fc.integer({ min: 1, max: 12 }), a: valueArb, b: valueArb }, { requiredKeys: ['id'] });
const changeArb = fc.record({ op: fc.constantFrom('insert', 'update', 'delete'), row: rowArb });

async function keys(rows: AsyncIterable<KeyedRow>, where: WhereExpr, selection: RowSelection): Promise<string[]> {
  const out: string[] = [];
  for await (const { key, row } of rows) if (evaluateWhere(where, row as Row, (i) => selection.dependencies[i]!)) out.push(key);
  return out.sort();
}

describe('row store snapshots through its indexes', () => {
  it('read every row the where clause matches, and only rows of the table', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(changeArb, { maxLength: 40 }), fc.nat(40), whereArb, fc.subarray(EDGE.filter((v) => v !== null)), async (changes, indexAt, where, linked) => {
        const store = await TableStore.open(new MemoryTableFiles());
        const dependency = new CountedLinkSet(['v']);
        dependency.apply(linked.map((v, i) => ({ xid: 1, op: 'insert', key: `[${i}]`, row: { v } })));
        const selection: RowSelection = { where, dependencies: [dependency] };
        let xid = 0;
        for (const [i, change] of changes.entries()) {
          // Build the indexes part-way, so the later changes must keep them current.
          if (i === indexAt) for await (const _ of store.snapshot(TABLE, selection)) void _;
          store.apply({ xid: ++xid, changes: [{ op: change.op as 'insert' | 'update' | 'delete', table: TABLE, row: change.row }] });
        }
        const everyRow = (async function* () {
          yield* store.rows(TABLE);
        })();
        const read: KeyedRow[] = [];
        for await (const keyed of store.snapshot(TABLE, selection)) read.push(keyed);
        expect(new Set(read.map((r) => r.key)).size, 'a row read twice').toBe(read.length);
        for (const r of read) expect(store.get(TABLE, r.key)).toBe(r.row);
        const fromRows = (async function* () {
          yield* read;
        })();
        expect(await keys(fromRows, where, selection)).toEqual(await keys(everyRow, where, selection));
      }),
      { seed: SEED, numRuns: 400, ...(PATH ? { path: PATH } : {}) },
    );
  });
});
