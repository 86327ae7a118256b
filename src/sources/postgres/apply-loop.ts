/**
 * The apply loop: takes the stream's transactions in commit order, turns each
 * into the runtime's (pgoutput-changes.ts: every change with its old row, for
 * the tables in step, table-follow.ts), and hands it over without waiting for
 * the previous one (up to IN_FLIGHT: the runtime applies what is queued as
 * one batch, one journal entry and one write per shape log). A sync's marker
 * becomes a resync of the table's shapes, in the same queue, so it happens
 * exactly between the transactions before the marker and those after. Each
 * is confirmed to the slot in order, once the runtime has it on disk
 * (acknowledgement.ts).
 */
import { settlement } from './acknowledgement.ts';
import { markersOf } from './marker.ts';
import { PostgresSourceError } from './errors.ts';
import { formatLsn } from './lsn.ts';
import { changesOf, relationName } from './pgoutput-changes.ts';
import { hasAddedColumns, relationSchema, schemaChange } from './schema.ts';
import { requireRuntime, type SourceCore } from './source-core.ts';
import type { StreamTransaction } from './stream.ts';
import { failTable, resync } from './table-effects.ts';
import { appliesChanges, markerReached, syncApplied } from './table-follow.ts';
import type { Change } from '../../shapes/transaction.ts';

/** Transactions (and their changes) handed to the runtime ahead of their acknowledgement. */
const IN_FLIGHT = 128;
const IN_FLIGHT_CHANGES = 50_000;

interface InFlight {
  readonly transaction: StreamTransaction;
  /** The runtime's acknowledgement (null: nothing to apply). */
  readonly applied: Promise<unknown> | null;
  /** Tables whose sync's marker this is: their shapes are resynced here. */
  readonly synced: readonly string[];
  readonly pings: readonly string[];
  /** How many changes it handed over. */
  readonly changes: number;
  settled: boolean;
  readonly skipped: boolean;
}

export class ApplyLoop {
  readonly #inFlight: InFlight[] = [];
  readonly #pings = new Map<string, () => void>();
  #inFlightChanges = 0;
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
        if (head && (stream.backlog === 0 || this.#inFlight.length >= IN_FLIGHT || this.#inFlightChanges >= IN_FLIGHT_CHANGES || head.settled)) {
          await this.#settle(this.#inFlight.shift()!);
          continue;
        }
        const transaction = await Promise.race([stream.next(), new Promise<null>((resolve) => (this.#wakeStop = () => resolve(null)))]);
        if (!transaction || this.#stopping) break;
        this.#idle = false;
        const entry = this.#dispatch(transaction);
        this.#inFlightChanges += entry.changes;
        this.#inFlight.push(entry);
      }
      // Stopping: what was handed to the runtime is let finish (and confirmed).
      while (this.#inFlight.length > 0) await this.#settle(this.#inFlight.shift()!);
    } finally {
      this.#inFlight.length = 0;
      this.#idle = true;
    }
  }

  /** Turns a stream transaction into the runtime's and hands it over (not waiting for it to apply). */
  #dispatch(transaction: StreamTransaction): InFlight {
    const runtime = requireRuntime(this.core);
    const rows = runtime.rowStore()!;
    const none = { transaction, applied: null, synced: [], pings: [], changes: 0, settled: true };
    if (transaction.commitLsn <= rows.position && this.#inFlight.length === 0) return { ...none, skipped: true };
    this.core.recentXids.add(transaction.commitLsn, transaction.pgXid);
    const changes: Change[] = [];
    const synced: string[] = [];
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
          else if (message.replicaIdentity !== 'full') resync(this.core, table, `its REPLICA IDENTITY became ${message.replicaIdentity}`);
          break;
        }
        case 'insert':
        case 'update':
        case 'delete': {
          const table = relationName(message.relation);
          if (!appliesChanges(tables.get(table))) break;
          if (message.tag !== 'insert' && !message.old) {
            // Not FULL any more (changed after its relation message was checked): read it again.
            resync(this.core, table, 'a change came without its old row');
            break;
          }
          for (const change of changesOf(table, message, rows.keyColumnsOf(table))) changes.push(change);
          break;
        }
        case 'truncate':
          for (const relation of message.relations) {
            const table = relationName(relation);
            if (appliesChanges(tables.get(table))) failTable(this.core, table, 'table was truncated');
          }
          break;
      }
    }
    for (const id of markersOf(transaction)) {
      if (id.startsWith('ping:')) pings.push(id);
      const table = tables.syncingWith(id);
      if (!table) continue;
      tables.set(table, markerReached(tables.get(table), id, transaction.commitLsn));
      synced.push(table);
    }
    if (synced.length > 0) return this.#inFlightOf({ transaction, applied: runtime.resync(transaction.commitLsn, synced), synced, pings, changes: 0, settled: false, skipped: false });
    if (changes.length > 0) {
      return this.#inFlightOf({ transaction, applied: runtime.applyTransaction({ xid: transaction.commitLsn, pgXid: transaction.pgXid, changes }), synced, pings, changes: changes.length, settled: false, skipped: false });
    }
    return { ...none, pings, skipped: false };
  }

  #inFlightOf(entry: InFlight): InFlight {
    void entry.applied!.then(
      () => (entry.settled = true),
      () => (entry.settled = true),
    );
    return entry;
  }

  /** A transaction the runtime applied (or that had nothing for it): confirm it, record its syncs. */
  async #settle(entry: InFlight): Promise<void> {
    const { transaction } = entry;
    this.#inFlightChanges -= entry.changes;
    if (entry.applied) {
      try {
        await entry.applied;
      } catch (error) {
        if (entry.synced.length > 0 && (error as { code?: string }).code === 'rows-unavailable') {
          // The database could not be read for the resync: nothing was written; sync again later.
          this.core.logger.warn({ tables: entry.synced, err: (error as Error).message }, 'resync refused: the tables are synced again');
          for (const table of entry.synced) resync(this.core, table, 'its resync was refused');
        } else {
          throw new PostgresSourceError('transaction-refused', `the runtime refused transaction ${formatLsn(transaction.commitLsn)} (xid ${transaction.pgXid}): ${(error as Error).message}`, { cause: error });
        }
      }
    }
    if (settlement({ applied: entry.applied !== null, skipped: entry.skipped }) === 'confirm') this.core.stream.confirm(transaction.commitLsn);
    else this.ackable = Math.max(this.ackable, transaction.commitLsn);
    for (const table of entry.synced) {
      const now = this.core.tables.get(table);
      if (now.state !== 'synced' || now.since !== transaction.commitLsn) continue;
      const { baseline } = now;
      await this.core.state.update((s) => ({
        ...s,
        tables: { ...s.tables, [table]: { oid: baseline.oid, keyColumns: [...baseline.keyColumns], columns: [...baseline.columns], syncedAt: formatLsn(transaction.commitLsn) } },
      }));
      this.core.logger.info({ table, at: formatLsn(transaction.commitLsn) }, 'table synced');
      this.core.tables.set(table, syncApplied(now));
    }
    for (const id of entry.pings) this.#pings.get(id)?.();
    if (this.#inFlight.length === 0 && this.core.stream.backlog === 0) this.#idle = true;
  }
}
