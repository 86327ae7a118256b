import { isDependencyMissing } from './dependency-missing.ts';
import type { ConsumerDelivery, ConsumerEvent, DependencyLinks, LinkMoves, ShapeActorsPort, WakeResult } from './shape-actors-port.ts';
import { linkSetBefore, type LinkMovement } from './counted-link-set.ts';
import { moveCandidates } from './move-candidates.ts';
import type { Removal, RemovalReason } from '../graph/removal.ts';
import type { KeptShape } from '../registry/kept-shape.ts';
import type { ShapeRegistry } from '../registry/shape-registry.ts';
import type { KeyedRow, MoveInSource, ResolvedChange, RowStore } from '../storage/rows/row-store.ts';
import type { LinkSet } from '../shapes/where/evaluate.ts';
import type { LogEntry } from '../storage/storage.ts';
import { TransactionError, type Transaction } from '../shapes/transaction.ts';
import type { AppliedXids } from '../shapes/applied-xids.ts';

export interface ShapeFailure {
  readonly handle: string;
  /** Its actor failed, or waking it found its own files damaged (restore's reasons). */
  readonly reason: Extract<RemovalReason, 'consumer-failed' | 'materializer-missing' | 'corrupt-definition' | 'corrupt-log' | 'no-storage'>;
  readonly detail: string;
}

/**
 * Per transaction, in input order: `applied`; `skipped` when at or below the
 * position already reached and recorded as applied (or older than the record:
 * AppliedXids), so never applied twice; `rejected` when invalid, or below the
 * position and never applied (out of order: code `out-of-order`), nothing of it applied.
 */
export type RoutedOutcome = { readonly status: 'applied' | 'skipped' } | { readonly status: 'rejected'; readonly error: TransactionError };

export interface RoutedBatch {
  readonly outcomes: readonly RoutedOutcome[];
  /** Position after the batch. */
  readonly position: number;
  /** Entries to append, per shape (the registry's record: its handle, and where a commit notes its log's end), in order: its keys are the shapes whose log grew. */
  readonly entries: ReadonlyMap<KeptShape, LogEntry[]>;
  /** Shapes whose consumer failed for good or lost a materializer: they must be removed. */
  readonly failures: readonly ShapeFailure[];
}

/**
 * Runs transactions through the shapes, in memory. Each change goes only to
 * the shapes its old or new row may affect, as the registry's where-clause
 * index finds them (so an update that moves a row out of a shape reaches it).
 * Shapes are visited dependencies first; when a materializer's values move,
 * the index follows them at once, and the dependents are visited with every
 * change of their table and the unchanged rows the move concerns (from
 * `moveInSource`: the row store by default, a database when configured).
 * Each consumer gets its dependencies' link values in its event. The caller
 * persists `entries` and the row store, then acknowledges.
 */
export async function routeTransactions(
  transactions: readonly Transaction[],
  registry: ShapeRegistry,
  actors: ShapeActorsPort,
  rows: RowStore,
  moveInSource: MoveInSource = rows,
  applied: AppliedXids | null = null,
): Promise<RoutedBatch> {
  const outcomes: RoutedOutcome[] = [];
  const entries = new Map<KeptShape, LogEntry[]>();
  const failures: ShapeFailure[] = [];
  const failed = new Set<string>();
  const index = registry.whereIndex;
  const linksOf = (handle: string): LinkSet | undefined => actors.linkValues(handle);
  // One transaction's routing state, cleared for the next (not allocated per transaction). It
  // holds the registry's records, as the index answers them: no lookup by handle per change.
  const hits = new Set<KeptShape>();
  const levels: Set<KeptShape>[] = [];
  const reached = new Map<KeptShape, ResolvedChange[]>();
  const byTable = new Map<string, readonly ResolvedChange[]>();
  const moved = new Map<string, LinkMoves>();
  // (depth -1: no longer registered; such a shape is not routed)
  const visit = (record: KeptShape): void => {
    if (record.depth >= 0) (levels[record.depth] ??= new Set()).add(record);
  };
  // (the record is its graph node: its dependents without a lookup, none for most shapes)
  const visitDependents = ({ dependents }: KeptShape): void => {
    if (dependents === null) return;
    for (const dependent of dependents) {
      const record = registry.get(dependent);
      if (record) visit(record);
    }
  };
  let position = rows.position;
  seedIndex();

  for (const transaction of transactions) {
    if (transaction.xid <= position) {
      if (applied?.judge(transaction.xid, position) === 'never-applied') {
        const reason = `out of order: below the position ${position} and never applied (transactions must come in xid order)`;
        outcomes.push({ status: 'rejected', error: new TransactionError(reason, transaction.xid, null, 'out-of-order') });
      } else outcomes.push({ status: 'skipped' });
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
    const before = position;
    position = transaction.xid;
    outcomes.push({ status: 'applied' });
    // (no await, no promise, for a transaction that wakes no shape and moves no link values: most of them)
    const routing = routeOne(transaction, resolved, before);
    if (routing) await routing;
  }
  return { outcomes, position, entries, failures };

  /** Gives the index the values of dependencies it does not have yet (a new or restored materializer). */
  function seedIndex(): void {
    for (const dependency of [...index.dependenciesToSeed()]) seedOne(dependency);
  }

  function seedOne(dependency: string): void {
    if (!index.dependenciesToSeed().has(dependency)) return;
    const values = actors.linkValues(dependency);
    if (values) index.seedLinks(dependency, values.values());
  }

  /** Routes one transaction's changes; a promise only when a shape must wake or a move's rows be read (then the rest follows it). */
  function routeOne({ xid, pgXid }: Transaction, changes: readonly ResolvedChange[], before: number): Promise<void> | undefined {
    // (clearing allocates a new table even when empty: only what the last transaction used)
    for (const level of levels) if (level !== undefined && level.size > 0) level.clear();
    if (reached.size > 0) reached.clear();
    if (byTable.size > 0) byTable.clear();
    if (moved.size > 0) moved.clear();
    // Each change, to the shapes its rows match now (before this transaction's moves). A
    // transaction of one change (the common case) hands every shape it reaches the same list.
    const single = changes.length === 1;
    for (const change of changes) {
      if (hits.size > 0) hits.clear();
      const types = rows.columnTypesOf(change.table);
      if (change.oldRow) index.matching(change.table, change.oldRow, linksOf, hits, types);
      if (change.row) index.matching(change.table, change.row, linksOf, hits, types);
      for (const record of hits) {
        let list = reached.get(record);
        if (!list) {
          reached.set(record, (list = single ? (changes as ResolvedChange[]) : []));
          visit(record);
          if (single) continue;
        }
        list.push(change);
      }
    }
    const transaction: RoutedTransaction = { xid, pgXid, changes, before };
    for (let depth = 0; depth < levels.length; depth++) {
      const level = levels[depth];
      if (level === undefined) continue;
      for (const record of level) {
        const pending = routeShape(transaction, record);
        if (pending) return resumeAfter(pending, transaction, depth, record);
      }
    }
    return undefined;
  }

  /** The rest of a transaction's levels, from after `record` (at `depth`) once its routing is done: visited sets keep their order. */
  async function resumeAfter(pending: Promise<void>, transaction: RoutedTransaction, depth: number, record: KeptShape): Promise<void> {
    await pending;
    let skipping = true;
    for (let d = depth; d < levels.length; d++) {
      for (const next of levels[d] ?? []) {
        if (skipping) {
          if (next === record) skipping = false;
          continue;
        }
        const more = routeShape(transaction, next);
        if (more) await more;
      }
      skipping = false;
    }
  }

  /** Routes the transaction to one visited shape; a promise only when it must wake or its moved rows be read first. */
  function routeShape(transaction: RoutedTransaction, record: KeptShape): Promise<void> | undefined {
    const { handle } = record;
    if (record.depth < 0 || (failed.size > 0 && failed.has(handle))) return undefined;
    const dependencies = record.dependencyHandles;
    // A shape whose dependency failed in this batch goes with it: do not feed it stale links.
    if (dependencies.length > 0 && anyIn(dependencies, failed)) return undefined;
    // Its dependencies' values moved: every change of its table may matter, and unchanged rows too.
    const linksMoved = dependencies.length > 0 && anyIn(dependencies, moved);
    if (!linksMoved) return deliverTo(transaction, record, reached.get(record) ?? NO_CHANGES, NO_CANDIDATES);
    const shapeChanges = changesOf(record.shape.definition.table, transaction.changes);
    return moveCandidates(record, moved, shapeChanges, rows, moveInSource).then((candidates) => deliverTo(transaction, record, shapeChanges, candidates));
  }

  function deliverTo(transaction: RoutedTransaction, record: KeptShape, shapeChanges: readonly ResolvedChange[], candidates: readonly KeyedRow[]): Promise<void> | undefined {
    const { handle } = record;
    // Nothing of its table changed and no row of it moved: a sleeping shape sleeps on (an awake one
    // is still told: a dependency whose values changed with no materializer to say how fails it).
    if (shapeChanges.length === 0 && candidates.length === 0 && !actors.isAwake(handle)) return undefined;
    // An awake shape takes it at once (most do); a sleeping one wakes first (its dependencies
    // first; it starts where its log is), then takes it, with its dependencies' values as they woke.
    const delivery = actors.deliverToConsumer(record, routedEvent(transaction, record, shapeChanges, candidates));
    if (delivery !== null) return void delivered(transaction, record, delivery);
    const waking = actors.wakeForChange(handle, transaction.before);
    if (waking instanceof Promise) return waking.then((woken) => deliverWoken(transaction, record, shapeChanges, candidates, woken));
    deliverWoken(transaction, record, shapeChanges, candidates, waking);
    return undefined;
  }

  function deliverWoken(transaction: RoutedTransaction, record: KeptShape, shapeChanges: readonly ResolvedChange[], candidates: readonly KeyedRow[], woken: WakeResult): void {
    const { handle } = record;
    if (!woken.ok) {
      failDamaged(record, woken.damaged);
      return;
    }
    for (const dependency of woken.materialized) seedOne(dependency);
    const delivery = actors.deliverToConsumer(record, routedEvent(transaction, record, shapeChanges, candidates));
    delivered(transaction, record, delivery ?? { ok: false, error: new Error(`shape ${handle} has no consumer after waking`), restarts: 0 });
  }

  function routedEvent({ xid, pgXid }: RoutedTransaction, record: KeptShape, shapeChanges: readonly ResolvedChange[], candidates: readonly KeyedRow[]): ConsumerEvent {
    const dependencies = record.dependencyHandles;
    const links = dependencies.length === 0 ? NO_DEPENDENCIES : dependencies.map((d) => dependencyLinks(d, moved.get(d)));
    return pgXid === undefined
      ? { type: 'TRANSACTION.ROUTED', xid, changes: shapeChanges, candidates, links }
      : { type: 'TRANSACTION.ROUTED', xid, pgXid, changes: shapeChanges, candidates, links };
  }

  /** A consumer's answer: its entries are kept, and fed to its materializer, whose moves the index follows at once. */
  function delivered({ xid }: RoutedTransaction, record: KeptShape, delivery: ConsumerDelivery): void {
    if (!delivery.ok) {
      fail(record, delivery.error);
      return;
    }
    const produced = delivery.entries;
    if (produced.length === 0) return;
    let list = entries.get(record);
    if (!list) entries.set(record, (list = []));
    list.push(...produced);
    if (!delivery.feedsMaterializer) {
      // Its values changed, but no materializer says how: its dependents cannot be judged and fail (never a silent empty set).
      visitDependents(record);
      return;
    }
    const { handle } = record;
    const fed = actors.deliverToMaterializer(handle, { type: 'SHAPE.ENTRIES_LOGGED', xid, entries: produced });
    if (!fed.ok) {
      fail(record, fed.error);
      return;
    }
    const { movedIn, movedOut } = fed.moves;
    if (movedIn.length === 0 && movedOut.length === 0) return;
    moved.set(handle, { xid, ...fed.moves });
    // The index follows the values before any dependent is routed.
    index.moveLinks(handle, movedIn, movedOut);
    visitDependents(record);
  }

  /** The transaction's changes to one table (only for a shape whose dependencies' values moved: rare), once per table. */
  function changesOf(table: string, changes: readonly ResolvedChange[]): readonly ResolvedChange[] {
    let ofTable = byTable.get(table);
    if (!ofTable) byTable.set(table, (ofTable = changes.filter((c) => c.table === table)));
    return ofTable;
  }

  /** A dependency's values after this transaction and, with its moves undone, before it. */
  function dependencyLinks(dependency: string, moves: LinkMovement | undefined): DependencyLinks {
    const after = actors.linkValues(dependency);
    if (!after) return null;
    return { before: moves ? linkSetBefore(after, moves) : after, after };
  }

  /** Waking found damage: the damaged shapes go (with their dependents, `handle` among them), for restore's reasons. */
  function failDamaged(record: KeptShape, damaged: readonly Removal[]): void {
    failed.add(record.handle);
    entries.delete(record);
    for (const removal of damaged) {
      failed.add(removal.handle);
      const removed = registry.get(removal.handle);
      if (removed) entries.delete(removed);
      const reason = removal.reason === 'corrupt-log' || removal.reason === 'no-storage' ? removal.reason : 'corrupt-definition';
      failures.push({ handle: removal.handle, reason, detail: removal.detail ?? reason });
    }
  }

  function fail(record: KeptShape, error: unknown): void {
    const { handle } = record;
    failed.add(handle);
    entries.delete(record);
    const missing = isDependencyMissing(error);
    failures.push({
      handle,
      reason: missing ? 'materializer-missing' : 'consumer-failed',
      detail: error instanceof Error ? error.message : String(error),
    });
  }
}

/** One transaction as its shapes are routed it. */
interface RoutedTransaction {
  readonly xid: number;
  readonly pgXid: number | undefined;
  readonly changes: readonly ResolvedChange[];
  /** The position before it (a sleeping shape woken for it starts there). */
  readonly before: number;
}

const NO_DEPENDENCIES: readonly DependencyLinks[] = [];
const NO_CHANGES: readonly ResolvedChange[] = [];
const NO_CANDIDATES: readonly KeyedRow[] = [];

function anyIn(handles: readonly string[], of: { has(handle: string): boolean }): boolean {
  for (const handle of handles) if (of.has(handle)) return true;
  return false;
}
