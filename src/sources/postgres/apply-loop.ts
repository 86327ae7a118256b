/**
 * The apply loop: takes the stream's transactions in commit order, turns each
 * into the runtime's (pgoutput-changes.ts, the tables' follow states), and
 * hands it over without waiting for the previous one (up to IN_FLIGHT: the
 * runtime applies what is queued as one batch, one journal entry and one
 * write per shape log). Each is confirmed to the slot in order, once its
 * `applyTransaction` resolved (acknowledgement.ts).
 */
import { formatLsn } from './lsn.ts';
import { changesOf, relationName } from './pgoutput-changes.ts';
import { PostgresSourceError } from './errors.ts';
import { MARKER_PREFIX } from './move-ins.ts';
import { hasAddedColumns, relationSchema, schemaChange } from './schema.ts';
import { requireRuntime, type SourceCore } from './source-core.ts';
import { failTable, resync } from './table-effects.ts';
import { changeArrived, syncApplied, syncCompleted, type SyncAttempt } from './table-follow.ts';
import { settlement } from './acknowledgement.ts';
import { syncChanges } from './table-sync.ts';
import type { StreamTransaction } from './stream.ts';
import type { Change } from '../../shapes/transaction.ts';
import type { Row } from '../../shapes/where/evaluate.ts';
import { rowKey } from '../../storage/rows/row-key.ts';

/** Transactions handed to the runtime ahead of their acknowledgement. */
const IN_FLIGHT = 128;

interface InFlight {
  readonly transaction: StreamTransaction;
  /** The runtime's acknowledgement (null: nothing to apply). */
  readonly applied: Promise<unknown> | null;
  readonly completed: readonly { readonly table: string; readonly sync: SyncAttempt }[];
  readonly pings: readonly string[];
  settled: boolean;
  readonly skipped: boolean;
}

export class ApplyLoop {
  readonly #inFlight: InFlight[] = [];
  /** Rows as the transactions handed over but not yet applied leave them (the row store lags behind). */
  readonly #overlay = new Map<string, Row | null>();
  readonly #pings = new Map<string, () => void>();
  #stopping = false;
  #wakeStop: (() => void) | null = null;
  #idle = true;
  /** Highest commit with nothing to apply whose predecessors are settled: confirmed once recorded. */
  ackable = 0;
  /** The running loop (set when it is started): resolves once it ended. */
  done: Promise<unknown> = Promise.resolve();

  constructor(private readonly core: SourceCore) {}

  /** Nothing in flight and nothing received waiting. */
  get idle(): boolean {
    return this.#idle && this.core.stream.backlog === 0;
  }

  /** Resolves when the stream delivered the ping marker `id` and everything before it settled. */
  onPing(id: string): Promise<void> {
    return new Promise((resolve) => this.#pings.set(id, resolve));
  }

  forgetPing(id: string): void {
    this.#pings.delete(id);
  }

  /** No new transaction is taken; what was handed over finishes (`run` then resolves). */
  stop(): void {
    this.#stopping = true;
    this.#wakeStop?.();
  }

  async run(): Promise<void> {
    const { stream } = this.core;
    try {
      while (!this.#stopping) {
        const head = this.#inFlight[0];
        if (head && (stream.backlog === 0 || this.#inFlight.length >= IN_FLIGHT || head.settled)) {
          await this.#settle(this.#inFlight.shift()!);
          continue;
        }
        const transaction = await Promise.race([stream.next(), new Promise<null>((resolve) => (this.#wakeStop = () => resolve(null)))]);
        if (!transaction || this.#stopping) break;
        this.#idle = false;
        this.#inFlight.push(await this.#dispatch(transaction));
      }
      // Stopping: what was handed to the runtime is let finish (and confirmed).
      await this.#drain();
    } finally {
      this.#inFlight.length = 0;
      this.#idle = true;
    }
  }

  /** Waits for every transaction handed to the runtime (a sync needs the row store as of its marker). */
  async #drain(): Promise<void> {
    while (this.#inFlight.length > 0) await this.#settle(this.#inFlight.shift()!);
  }

  /** Turns a stream transaction into the runtime's and hands it over (not waiting for it to apply). */
  async #dispatch(transaction: StreamTransaction): Promise<InFlight> {
    const runtime = requireRuntime(this.core);
    const rows = runtime.rowStore()!;
    const none = { transaction, applied: null, completed: [], pings: [], settled: true };
    if (transaction.commitLsn <= rows.position && this.#inFlight.length === 0) return { ...none, skipped: true };
    this.core.recentXids.add(transaction.commitLsn, transaction.xid);
    this.core.logger.debug({ lsn: formatLsn(transaction.commitLsn), xid: transaction.xid, messages: transaction.messages.length }, 'transaction received');
    const changes: Change[] = [];
    const completed: { table: string; sync: SyncAttempt }[] = [];
    const pings: string[] = [];
    const { tables } = this.core;
    for (const message of transaction.messages) {
      switch (message.tag) {
        case 'relation': {
          const table = relationName(message);
          const now = tables.get(table);
          if (now.state !== 'synced') break;
          const schema = relationSchema(message);
          const change = schemaChange(now.baseline, schema);
          if (change) failTable(this.core, table, change);
          else if (hasAddedColumns(now.baseline, schema)) resync(this.core, table, 'column(s) added');
          break;
        }
        case 'insert':
        case 'update':
        case 'delete': {
          const table = relationName(message.relation);
          const { next, action } = changeArrived(tables.get(table), { pgXid: transaction.xid, message });
          tables.set(table, next);
          if (action === 'apply') for (const change of changesOf(table, message, rows.keyColumnsOf(table), (key) => this.#current(table, key))) changes.push(this.#track(change, rows.keyColumnsOf(table)));
          break;
        }
        case 'truncate':
          for (const relation of message.relations) {
            const table = relationName(relation);
            const { next, action } = changeArrived(tables.get(table), { pgXid: transaction.xid, message });
            tables.set(table, next);
            if (action === 'apply') failTable(this.core, table, 'table was truncated');
          }
          break;
        case 'message': {
          if (message.prefix !== MARKER_PREFIX) break;
          const id = Buffer.from(message.content).toString('utf8');
          if (id.startsWith('ping:')) pings.push(id);
          const found = tables.syncByMarker(id);
          if (!found) break;
          await found.sync.ready;
          if (found.sync.failed || tables.syncByMarker(id)?.sync !== found.sync) break;
          await this.#drain();
          for (const change of syncChanges(found.table, found.sync, rows.rows(found.table))) changes.push(change);
          tables.set(found.table, syncCompleted(tables.get(found.table), found.sync));
          completed.push(found);
          break;
        }
      }
    }
    if (changes.length === 0) return { ...none, completed, pings, skipped: false };
    const entry: InFlight = { transaction, applied: runtime.applyTransaction({ xid: transaction.commitLsn, changes }), completed, pings, settled: false, skipped: false };
    void entry.applied!.then(
      () => (entry.settled = true),
      () => (entry.settled = true),
    );
    return entry;
  }

  #current(table: string, key: string): Row | undefined {
    const o = this.#overlay.get(`${table}\u0000${key}`);
    return o === null ? undefined : (o ?? this.core.runtime!.rowStore()!.get(table, key));
  }

  /** Records the row a change leaves in the overlay (until the runtime applied it). */
  #track(change: Change, keyColumns: readonly string[]): Change {
    const key = rowKey(change.row, keyColumns);
    if (key === null) return change;
    const id = `${change.table}\u0000${key}`;
    if (change.op === 'delete') this.#overlay.set(id, null);
    else if (change.op === 'insert') this.#overlay.set(id, change.row);
    else this.#overlay.set(id, { ...this.#current(change.table, key), ...change.row });
    return change;
  }

  /** A transaction the runtime applied (or that had nothing for it): confirm it, finish its syncs. */
  async #settle(entry: InFlight): Promise<void> {
    const { transaction } = entry;
    if (entry.applied) {
      try {
        await entry.applied;
      } catch (error) {
        throw new PostgresSourceError('transaction-refused', `the runtime refused transaction ${formatLsn(transaction.commitLsn)} (xid ${transaction.xid}): ${(error as Error).message}`, { cause: error });
      }
    }
    if (settlement({ applied: entry.applied !== null, skipped: entry.skipped }) === 'confirm') this.core.stream.confirm(transaction.commitLsn);
    else this.ackable = Math.max(this.ackable, transaction.commitLsn);
    if (this.#inFlight.length === 0) this.#overlay.clear();
    for (const { table, sync } of entry.completed) {
      const info = sync.read!.info;
      await this.core.state.update((s) => ({
        ...s,
        tables: { ...s.tables, [table]: { oid: info.oid, keyColumns: [...sync.keyColumns], columns: [...info.columns], syncedAt: formatLsn(transaction.commitLsn) } },
      }));
      this.core.logger.info({ table, at: formatLsn(transaction.commitLsn), rows: sync.read!.rows.size, heldAside: sync.held.length }, 'table synced');
      this.core.tables.set(table, syncApplied(this.core.tables.get(table)));
    }
    for (const id of entry.pings) this.#pings.get(id)?.();
    if (this.#inFlight.length === 0 && this.core.stream.backlog === 0) this.#idle = true;
  }
}
