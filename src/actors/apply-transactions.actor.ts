import { fromPromise } from 'xstate';
import type { RuntimeShapes } from './runtime-shapes.ts';
import type { MoveInSource, RestorableRowStore } from '../storage/rows/row-store.ts';
import { mapConcurrently } from '../restore/map-concurrently.ts';
import { StorageError, type ShapeStorage } from '../storage/storage.ts';
import { routeTransactions, type ShapeFailure } from '../live/route-transactions.ts';
import { parseTransaction, TransactionError, type Transaction } from '../shapes/transaction.ts';
import type { LogOffset } from '../shapes/log-offset.ts';
import type { KeptShape } from '../registry/kept-shape.ts';
import type { LogEntry } from '../storage/storage.ts';

export interface ApplyTransactionsInput {
  readonly storage: ShapeStorage;
  /** The registry the router reads, and its way to the actors (waking sleeping shapes a change reaches). */
  readonly shapes: RuntimeShapes;
  readonly rows: RestorableRowStore;
  readonly moveInSource: MoveInSource;
  readonly requests: readonly TransactionRequest[];
}

/** A caller's transaction, validated here, or an in-process source's typed transactions. */
export type TransactionRequest =
  | { readonly requestId: string; readonly transaction: unknown }
  | { readonly requestId: string; readonly transactions: readonly Transaction[] };

/** Per transaction, in request order (a typed request has one per transaction it carried). */
export type TransactionOutcome =
  | { readonly requestId: string; readonly status: 'applied' | 'skipped'; readonly xid: number }
  | { readonly requestId: string; readonly status: 'rejected'; readonly xid: number | null; readonly error: TransactionError };

export interface ApplyTransactionsOutput {
  readonly outcomes: readonly TransactionOutcome[];
  readonly failures: readonly ShapeFailure[];
  /** Shapes whose log grew. */
  readonly shapesWritten: number;
  /** Position after the batch (the last transaction applied). */
  readonly position: number;
  /** Each shape whose log grew, with the offset of its new last entry (durable: the batch is committed). */
  readonly appended: readonly { readonly handle: string; readonly last: LogOffset }[];
  /** The actors the batch's changes woke, in start order (dependencies first). */
  readonly woken: readonly string[];
}

/**
 * `running.applying`: a batch of queued transactions (group commit). Routes
 * them through the actors in memory, records the batch in the journal, appends
 * every affected shape's entries durably, then the row store's, marks the
 * batch committed, and only then reports them applied: a transaction is
 * acknowledged once it is on disk, and a crash part-way is undone and redone.
 * Then (nothing in doubt) the row store compacts the logs that outgrew their rows.
 */
export const applyTransactionsActor = fromPromise<ApplyTransactionsOutput, ApplyTransactionsInput>(async ({ input }) => {
  // Leave the runtime's current macrostep before driving its actors.
  await Promise.resolve();
  const outcomes: TransactionOutcome[] = [];
  const valid: { requestId: string; transaction: Transaction }[] = [];
  for (const request of input.requests) {
    if ('transactions' in request) {
      for (const transaction of request.transactions) valid.push({ requestId: request.requestId, transaction });
      continue;
    }
    try {
      valid.push({ requestId: request.requestId, transaction: parseTransaction(request.transaction) });
    } catch (error) {
      if (!(error instanceof TransactionError)) throw error;
      outcomes.push({ requestId: request.requestId, status: 'rejected', xid: error.xid, error });
    }
  }
  const positionBefore = input.rows.position;
  // Which transactions at or below the position were applied, and which never were (out of order).
  const applied = await input.storage.appliedXids();
  applied.startAt(positionBefore);
  const batch = await routeTransactions(
    valid.map((v) => v.transaction),
    input.shapes.registry,
    input.shapes,
    input.rows,
    input.moveInSource,
    applied,
  );
  const failures: ShapeFailure[] = [...batch.failures];
  const written = batch.outcomes.some((o) => o.status === 'applied');
  if (written) {
    // Journal first: after a crash part-way, restore undoes the batch and applies it again. A
    // source that sends it again (a replication slot) needs only its xids, to undo it.
    const applied = valid.filter((_, i) => batch.outcomes[i]!.status === 'applied').map((v) => v.transaction);
    await input.storage.prepareBatch({
      position: positionBefore,
      transactions: input.rows.replayedBySource ? applied.map((t) => ({ xid: t.xid, changes: [] })) : applied,
      handles: [...batch.entries.keys()].map((record) => record.handle),
    });
  }
  const appendedTo: { readonly record: KeptShape; readonly last: LogOffset }[] = [];
  await mapConcurrently([...batch.entries], 32, async ([record, entries]) => {
    const { handle } = record;
    try {
      await input.storage.appendLog(handle, entries);
      appendedTo.push({ record, last: lastOffset(entries) });
    } catch (error) {
      if (error instanceof StorageError && error.code === 'not-found') failures.push({ handle, reason: 'no-storage', detail: error.message });
      else throw error;
    }
  });
  await input.rows.flush();
  if (written) {
    await input.storage.commitBatch(batch.position);
    // (on the records the router found: no lookup by handle per shape written)
    for (const { record, last } of appendedTo) record.noteAppended(last);
    // Every flushed transaction is committed now: table logs that outgrew their rows may be folded.
    await input.rows.compact('batch');
  }

  valid.forEach(({ requestId, transaction }, i) => {
    const outcome = batch.outcomes[i]!;
    if (outcome.status === 'rejected') outcomes.push({ requestId, status: 'rejected', xid: transaction.xid, error: outcome.error });
    else outcomes.push({ requestId, status: outcome.status, xid: transaction.xid });
  });
  const appended = appendedTo.map(({ record, last }) => ({ handle: record.handle, last }));
  return { outcomes, failures, shapesWritten: batch.entries.size, position: batch.position, appended, woken: input.shapes.takeStartedByChanges() };
});

/** The offset of the last of a shape's entries in a batch: `<xid>_<k>`, k its index among that transaction's. */
function lastOffset(entries: readonly LogEntry[]): LogOffset {
  const xid = entries.at(-1)!.xid;
  let k = entries.length - 1;
  while (k > 0 && entries[k - 1]!.xid === xid) k--;
  return { tx: xid, op: entries.length - 1 - k };
}
