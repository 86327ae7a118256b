/**
 * Nothing missed, ever, through the whole router (issue 12 item 3): the same random shapes (where
 * clauses of the supported grammar: equalities, IN lists, IS NULL, ranges, LIKE, NOT, AND/OR,
 * subqueries, row-value and NOT IN subqueries, nested) and the same random transactions go through
 * `routeTransactions` twice: once as it runs, through the registry's where-clause index, and once
 * with an index that offers every change to every shape of its table (what the router did before
 * the index; each consumer judges the change itself). Every batch must give the same log entries
 * per shape, the same failures, and the same link values in every materializer.
 */
import fc from 'fast-check';
import { createActor, setup } from 'xstate';
import { beforeAll, describe, expect, it } from 'vitest';
import { planActivation } from '../../src/actors/activation.ts';
import { RuntimeShapes } from '../../src/actors/runtime-shapes.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';
import { routeTransactions, type RoutedBatch } from '../../src/live/route-transactions.ts';
import { interpretStoredShape, type ShapeRecord } from '../../src/registry/shape-record.ts';
import { ShapeRegistry } from '../../src/registry/shape-registry.ts';
import { normalizeShape } from '../../src/shapes/definition.ts';
import { createHandle } from '../../src/shapes/handle.ts';
import type { Transaction } from '../../src/shapes/transaction.ts';
import { WhereIndex, type LinkLookup } from '../../src/shapes/where-index/where-index.ts';
import type { KeptShape } from '../../src/registry/kept-shape.ts';
import type { Row } from '../../src/shapes/where/evaluate.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { MemoryTableFiles } from '../../src/storage/rows/table-files.ts';
import { TableStore } from '../../src/storage/rows/table-store.ts';
import type { LogEntry, StoredShape } from '../../src/storage/storage.ts';

beforeAll(loadSqlParser);

/** Two tables that refer to each other: public.a (id, x, y, t) and public.b (id, u, v, w). */
const TABLES = {
  'public.a': { ints: ['x', 'y'], text: 't' },
  'public.b': { ints: ['u', 'v'], text: 'w' },
} as const;
type Table = keyof typeof TABLES;
const other = (table: Table): Table => (table === 'public.a' ? 'public.b' : 'public.a');

const constant = fc.integer({ min: 0, max: 3 });
const intColumn = (table: Table) => fc.constantFrom(...TABLES[table].ints);

/** A where clause on `table`; `depth` bounds the subquery nesting. */
function whereArb(table: Table, depth: number): fc.Arbitrary<string> {
  const col = intColumn(table);
  const text = TABLES[table].text;
  const atoms: fc.Arbitrary<string>[] = [
    fc.tuple(col, constant).map(([c, k]) => `${c} = ${k}`),
    fc.tuple(col, constant).map(([c, k]) => `${k} = ${c}`),
    fc.tuple(col, constant, constant).map(([c, k, l]) => `${c} IN (${k}, ${l})`),
    col.map((c) => `${c} IS NULL`),
    col.map((c) => `${c} IS NOT NULL`),
    fc.tuple(col, constant).map(([c, k]) => `${c} IS NOT DISTINCT FROM ${k}`),
    fc.tuple(col, constant).map(([c, k]) => `${c} > ${k}`),
    fc.tuple(col, constant).map(([c, k]) => `NOT (${c} = ${k})`),
    fc.constantFrom('a%', 'b%', '%1').map((p) => `${text} LIKE '${p}'`),
  ];
  if (depth > 0) {
    const inner = other(table);
    const innerWhere = whereArb(inner, depth - 1);
    atoms.push(
      fc.tuple(col, intColumn(inner), innerWhere).map(([c, s, w]) => `${c} IN (SELECT ${s} FROM ${inner} WHERE ${w})`),
      fc.tuple(col, intColumn(inner), innerWhere).map(([c, s, w]) => `${c} NOT IN (SELECT ${s} FROM ${inner} WHERE ${w})`),
      innerWhere.map((w) => `(${TABLES[table].ints.join(', ')}) IN (SELECT ${TABLES[inner].ints.join(', ')} FROM ${inner} WHERE ${w})`),
    );
  }
  const atom = fc.oneof(...atoms);
  return fc.oneof(
    { weight: 3, arbitrary: atom },
    { weight: 1, arbitrary: fc.tuple(atom, atom).map(([l, r]) => `(${l}) AND (${r})`) },
    { weight: 1, arbitrary: fc.tuple(atom, atom).map(([l, r]) => `(${l}) OR (${r})`) },
  );
}

const tableArb = fc.constantFrom<Table>('public.a', 'public.b');
const definitionArb = tableArb.chain((table) => fc.option(whereArb(table, 2), { nil: undefined, freq: 10 }).map((where) => ({ table, where })));

const value = fc.option(fc.integer({ min: 0, max: 3 }), { nil: null, freq: 5 });
const rowArb = (table: Table) =>
  fc.record({ id: fc.integer({ min: 1, max: 4 }), first: value, second: value, text: fc.constantFrom('a1', 'b2', 'c1') }).map(
    ({ id, first, second, text }): Row => ({ id, [TABLES[table].ints[0]]: first, [TABLES[table].ints[1]]: second, [TABLES[table].text]: text }),
  );
/** Inserts and updates (a full row: an insert of a row that exists replaces it) and deletes, by id. */
const changeArb = tableArb.chain((table) =>
  fc.oneof(
    rowArb(table).map((row) => ({ op: 'insert' as const, table, row })),
    rowArb(table).map((row) => ({ op: 'update' as const, table, row })),
    fc.integer({ min: 1, max: 4 }).map((id) => ({ op: 'delete' as const, table, row: { id } })),
  ),
);
/** Batches of transactions of a few changes each. */
const batchesArb = fc.array(fc.array(fc.array(changeArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 });

/** The router before the index: every shape of the change's table, whatever the row (the consumers judge). */
class EveryShapeOfTheTable extends WhereIndex<KeptShape> {
  constructor(private readonly registry: ShapeRegistry) {
    super();
  }

  override matching(table: string, _row: Row, _links: LinkLookup, out: Set<KeptShape>): void {
    for (const handle of this.registry.handlesForTable(table)) out.add(this.registry.get(handle)!);
  }
}

class RegistryRoutingToAll extends ShapeRegistry {
  override readonly whereIndex: WhereIndex<KeptShape> = new EveryShapeOfTheTable(this);
}

/** The shapes of the definitions with their dependencies, dependencies first (shared ones once). */
function storedShapes(definitions: readonly { table: string; where: string | undefined }[]): StoredShape[] {
  const out: StoredShape[] = [];
  const byKey = new Map<string, string>();
  const add = (raw: unknown, requested: boolean): string => {
    const shape = normalizeShape(raw);
    const known = byKey.get(shape.key);
    if (known) return known;
    const dependencyHandles = shape.dependencies.map((d) => add(d, false));
    const handle = createHandle(shape.key, 1_765_900_000_000_000n + BigInt(out.length) * 10n);
    out.push({ handle, definition: shape.definition, dependencyHandles, requested });
    byKey.set(shape.key, handle);
    return handle;
  };
  for (const d of definitions) add(d, true);
  return out;
}

const root = setup({}).createMachine({});

interface Router {
  route(transactions: readonly Transaction[]): Promise<RoutedBatch>;
  linkValues(): Record<string, string[]>;
  stop(): void;
}

async function router(stored: readonly StoredShape[], registry: ShapeRegistry): Promise<Router> {
  const records: ShapeRecord[] = stored.map((s) => {
    const interpreted = interpretStoredShape(s);
    if (!interpreted.ok) throw new Error(interpreted.reason);
    return interpreted.record;
  });
  const depended = [...new Set(records.flatMap((r) => r.stored.dependencyHandles))];
  const parent = createActor(root).start();
  const storage = new MemoryStorage();
  for (const s of stored) await storage.createShape(s, []);
  // Every shape registered and woken (its consumer; a materializer for each shape others depend on).
  const directory = new RuntimeShapes(storage, parent, {}, registry);
  const rows = await TableStore.open(new MemoryTableFiles());
  directory.openRows(rows);
  directory.registerRestored(records, new Set(stored.map((s) => s.handle)));
  directory.wake(await planActivation(directory, stored.map((s) => s.handle)), 0);
  return {
    async route(transactions) {
      const batch = await routeTransactions(transactions, registry, directory, rows);
      await rows.flush();
      return batch;
    },
    linkValues: () => Object.fromEntries(depended.map((h) => [h, [...(directory.linkValues(h)?.values() ?? [])].sort()])),
    stop() {
      directory.stopAll();
      parent.stop();
    },
  };
}

/**
 * Per shape, its entries by transaction and key. Within one transaction the order between keys
 * is the order a consumer first saw them, and offered every change it sees keys the index does
 * not hand it (an insert that never matched, before an update that enters): the rows a
 * transaction leaves are the same either way. The order of one key's entries is kept.
 */
const sortedEntries = (batch: RoutedBatch): [string, LogEntry[]][] =>
  [...batch.entries].map(([record, entries]) => [record.handle, entries] as const).sort(([a], [b]) => (a < b ? -1 : 1)).map(([handle, entries]) => [handle, [...entries].sort((a, b) => a.xid - b.xid || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))]);

describe('routing through the where-clause index against offering every change to every shape', () => {
  it('gives the same log entries, failures and link values in every batch', async () => {
    let delivered = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(definitionArb, { minLength: 1, maxLength: 8 }), batchesArb, async (definitions, batches) => {
        const stored = storedShapes(definitions);
        const indexed = await router(stored, new ShapeRegistry());
        const all = await router(stored, new RegistryRoutingToAll());
        try {
          let xid = 0;
          for (const batch of batches) {
            const transactions: Transaction[] = batch.map((changes) => ({ xid: ++xid, changes }));
            const got = await indexed.route(transactions);
            const want = await all.route(transactions);
            expect(got.outcomes).toEqual(want.outcomes);
            expect(sortedEntries(got)).toEqual(sortedEntries(want));
            expect(got.failures).toEqual(want.failures);
            expect(indexed.linkValues()).toEqual(all.linkValues());
            for (const entries of got.entries.values()) delivered += entries.length;
          }
        } finally {
          indexed.stop();
          all.stop();
        }
      }),
      { numRuns: 150 },
    );
    // The workload reaches shapes (an empty comparison proves nothing).
    expect(delivered).toBeGreaterThan(500);
  });
});
