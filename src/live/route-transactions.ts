import type { LinkMoves, ShapeActorsPort } from './shape-actors-port.ts';
import type { RemovalReason } from '../graph/removal.ts';
import type { ShapeRegistry } from '../registry/shape-registry.ts';
import type { KeyedRow, MoveInSource, ResolvedChange, RowStore } from '../storage/rows/row-store.ts';
import { sublinkTestColumns } from '../shapes/where/columns.ts';
import type { WhereExpr } from '../shapes/where/ast.ts';
import type { LogEntry } from '../storage/storage.ts';
import { TransactionError, type Transaction } from '../shapes/transaction.ts';

export interface ShapeFailure {
  readonly handle: string;
  readonly reason: Extract<RemovalReason, 'consumer-failed' | 'materializer-missing'>;
  readonly detail: string;
}

/**
 * Per transaction, in input order: `applied`; `skipped` when at or below the
 * position already reached (recognised, not applied twice); `rejected` when
 * invalid (nothing of it applied).
 */
export type RoutedOutcome = { readonly status: 'applied' | 'skipped' } | { readonly status: 'rejected'; readonly error: TransactionError };

export interface RoutedBatch {
  readonly outcomes: readonly RoutedOutcome[];
  /** Position after the batch. */
  readonly position: number;
  /** Entries to append, per shape, in order. */
  readonly entries: ReadonlyMap<string, LogEntry[]>;
  /** Shapes whose consumer failed for good or lost a materializer: they must be removed. */
  readonly failures: readonly ShapeFailure[];
}

/**
 * Runs transactions through the shapes, in memory: each change goes to the
 * consumers of its table only (the registry's table index), shapes are
 * visited dependencies first, and when a materializer's values move, its
 * dependents are visited too with the rows of their table the move concerns
 * (from `moveInSource`: the row store by default, a database when configured).
 * The caller persists `entries` and the row store, then acknowledges.
 */
export async function routeTransactions(
  transactions: readonly Transaction[],
  registry: ShapeRegistry,
  actors: ShapeActorsPort,
  rows: RowStore,
  moveInSource: MoveInSource = rows,
): Promise<RoutedBatch> {
  const outcomes: RoutedOutcome[] = [];
  const entries = new Map<string, LogEntry[]>();
  const failures: ShapeFailure[] = [];
  const failed = new Set<string>();
  let position = rows.position;

  for (const transaction of transactions) {
    if (transaction.xid <= position) {
      outcomes.push({ status: 'skipped' });
      continue;
    }
    let resolved: readonly ResolvedChange[];
    try {
      resolved = rows.apply(transaction);
    } catch (error) {
      if (error instanceof TransactionError) {
        outcomes.push({ status: 'rejected', error });
        continue;
      }
      throw error;
    }
    position = transaction.xid;
    outcomes.push({ status: 'applied' });
    await routeOne(transaction.xid, resolved);
  }
  return { outcomes, position, entries, failures };

  async function routeOne(xid: number, changes: readonly ResolvedChange[]): Promise<void> {
    const byTable = new Map<string, ResolvedChange[]>();
    for (const change of changes) {
      let list = byTable.get(change.table);
      if (!list) byTable.set(change.table, (list = []));
      list.push(change);
    }
    const levels: Set<string>[] = [];
    const visit = (handle: string): void => {
      const depth = registry.graph.depthOf(handle);
      (levels[depth] ??= new Set()).add(handle);
    };
    for (const table of byTable.keys()) for (const handle of registry.handlesForTable(table)) visit(handle);
    const moved = new Map<string, LinkMoves>();

    for (let depth = 0; depth < levels.length; depth++) {
      for (const handle of levels[depth] ?? []) {
        const record = registry.get(handle);
        if (!record || failed.has(handle)) continue;
        // A shape whose dependency failed in this batch goes with it: do not feed it stale links.
        if (record.stored.dependencyHandles.some((d) => failed.has(d))) continue;
        const table = record.shape.definition.table;
        const tableChanges = byTable.get(table) ?? [];
        const candidates = await moveCandidates(record.shape.where, record.stored.dependencyHandles, moved, table, tableChanges);
        const delivery = actors.deliverToConsumer(handle, { type: 'TRANSACTION.ROUTED', xid, changes: tableChanges, candidates });
        if (!delivery.ok) {
          fail(handle, delivery.error);
          continue;
        }
        const produced = actors.consumerOutput(handle)?.entries ?? [];
        if (produced.length === 0) continue;
        let list = entries.get(handle);
        if (!list) entries.set(handle, (list = []));
        list.push(...produced);
        if (!actors.materializer(handle)) continue;
        const fed = actors.deliverToMaterializer(handle, { type: 'SHAPE.ENTRIES_LOGGED', xid, entries: produced });
        if (!fed.ok) {
          fail(handle, fed.error);
          continue;
        }
        const moves = actors.materializerMoves(handle);
        if (moves && (moves.movedIn.length > 0 || moves.movedOut.length > 0)) {
          moved.set(handle, moves);
          for (const dependent of registry.graph.dependentsOf(handle)) visit(dependent);
        }
      }
    }
  }

  /** Unchanged rows of `table` whose sublink test values moved in or out in this transaction. */
  async function moveCandidates(
    where: WhereExpr | undefined,
    dependencyHandles: readonly string[],
    moved: ReadonlyMap<string, LinkMoves>,
    table: string,
    tableChanges: readonly ResolvedChange[],
  ): Promise<KeyedRow[]> {
    if (!where || moved.size === 0) return [];
    const out = new Map<string, KeyedRow>();
    const changedKeys = new Set(tableChanges.map((c) => c.key));
    const tests = testColumnsOf(where);
    for (const [i, dep] of dependencyHandles.entries()) {
      const moves = moved.get(dep);
      if (!moves) continue;
      const values = new Set([...moves.movedIn, ...moves.movedOut]);
      for (const columns of tests.get(i) ?? []) {
        for (const candidate of await moveInSource.rowsWithLinkValues(table, columns, values)) {
          if (!changedKeys.has(candidate.key)) out.set(candidate.key, candidate);
        }
      }
    }
    return [...out.values()];
  }

  function fail(handle: string, error: unknown): void {
    failed.add(handle);
    entries.delete(handle);
    const missing = error instanceof Error && error.name === 'DependencyMissingError';
    failures.push({
      handle,
      reason: missing ? 'materializer-missing' : 'consumer-failed',
      detail: error instanceof Error ? error.message : String(error),
    });
  }
}

const testColumnsCache = new WeakMap<WhereExpr, Map<number, string[][]>>();

function testColumnsOf(where: WhereExpr): Map<number, string[][]> {
  let tests = testColumnsCache.get(where);
  if (!tests) testColumnsCache.set(where, (tests = sublinkTestColumns(where)));
  return tests;
}
