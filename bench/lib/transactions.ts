/**
 * Transactions for the runtime scenario: each inserts a row into a random
 * table (a random `k`, so about one plain shape of the table matches; half
 * the time a `g` some dependency shape of that table selects, so its
 * materializer's values move and its dependents see move-ins) and updates a
 * row inserted earlier (its `k` and `c` change: rows move in and out).
 */
import { TABLES, type Dataset } from './shape-dataset.ts';
import { randomInt, rng } from './stats.ts';

export interface BenchChange {
  readonly op: 'insert' | 'update';
  readonly table: string;
  readonly row: { readonly id: string; readonly k: number; readonly g: number; readonly c: number };
}

export interface BenchTransaction {
  readonly xid: number;
  readonly changes: readonly BenchChange[];
}

export function makeTransactions(dataset: Dataset, count: number, firstXid: number, seed = 1): BenchTransaction[] {
  const random = rng(seed * 31 + dataset.size);
  const inserted: BenchChange['row'][] = [];
  const tableOf = new Map<string, string>();
  const out: BenchTransaction[] = [];
  for (let n = 0; n < count; n++) {
    const xid = firstXid + n;
    const t = randomInt(random, TABLES);
    const table = `public.t${t}`;
    // Dependency shapes on table t have g = t, t + 100, ...
    const depsHere = dataset.dependencyCount > t ? Math.ceil((dataset.dependencyCount - t) / TABLES) : 0;
    const g = depsHere > 0 && random() < 0.5 ? t + TABLES * randomInt(random, depsHere) : -1;
    const row = { id: `x${xid}`, k: randomInt(random, dataset.kRange), g, c: randomInt(random, 50) };
    const changes: BenchChange[] = [{ op: 'insert', table, row }];
    if (inserted.length > 0) {
      const old = inserted[randomInt(random, inserted.length)]!;
      changes.push({ op: 'update', table: tableOf.get(old.id)!, row: { ...old, k: randomInt(random, dataset.kRange), c: randomInt(random, 50) } });
    }
    inserted.push(row);
    tableOf.set(row.id, table);
    out.push({ xid, changes });
  }
  return out;
}

/** Consumer deliveries the router makes for a transaction at least: every shape of every table it touches. */
export function deliveriesOf(dataset: Dataset, transaction: BenchTransaction): number {
  const tables = new Set(transaction.changes.map((c) => c.table));
  let total = 0;
  for (const table of tables) total += dataset.shapesPerTable.get(table) ?? 0;
  return total;
}
