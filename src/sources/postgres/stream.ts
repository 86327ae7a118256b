import type { LogicalReplicationService, Pgoutput } from 'pg-logical-replication';
import type { RuntimeLogger } from '../../logging/runtime-logger.ts';
import { describeConnectError, isConnectionError, PostgresSourceError } from './errors.ts';
import { formatLsn, parseLsn } from './lsn.ts';
import { pause } from './pause.ts';
import { loadReplication, type ReplicationPackages } from './packages.ts';

/** The messages of a transaction the source acts on, in stream order. */
export type StreamMessage =
  | Pgoutput.MessageRelation
  | Pgoutput.MessageInsert
  | Pgoutput.MessageUpdate
  | Pgoutput.MessageDelete
  | Pgoutput.MessageTruncate
  | Pgoutput.MessageMessage;

/** One committed transaction, whole (pgoutput sends a transaction only once it committed). */
export interface StreamTransaction {
  /** Postgres' (32-bit) transaction id: for snapshot visibility. */
  readonly pgXid: number;
  /** LSN of the commit record: the runtime's position for it, and what is confirmed to the slot. */
  readonly commitLsn: number;
  readonly messages: readonly StreamMessage[];
}

export interface ReplicationStreamOptions {
  readonly connectionString: string;
  readonly slot: string;
  readonly publication: string;
  readonly logger: RuntimeLogger;
  /** Reconnect delays: doubling from `initialMs` up to `maxMs`, with jitter. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /**
   * How long the first connection waits for a slot another connection still
   * holds (the server notices a killed predecessor's connection a moment late).
   */
  readonly slotBusyGraceMs?: number;
  /** The stream failed in a way a reconnect cannot fix (the slot was dropped, rights revoked). */
  readonly onFatal: (error: Error) => void;
}

/** Received transactions not yet handed out above which the socket is paused, and below which it resumes. */
const BACKLOG_HIGH = 20_000;
const BACKLOG_LOW = 5_000;
/** The same in messages (row changes): a backlog of large transactions is bounded by its size too. */
const BACKLOG_HIGH_MESSAGES = 100_000;
const BACKLOG_LOW_MESSAGES = 25_000;

/**
 * The logical replication stream of one slot, with reconnects.
 *
 * Received transactions are kept until they are confirmed: the source takes
 * them in order with `next()`, and a move-in reads the ones received after the
 * transaction being applied (`receivedAfter`). `confirm(lsn)` tells the slot
 * that everything through that commit is durable (the slot then may drop
 * that WAL); nothing else is ever confirmed (no automatic acknowledgements).
 *
 * A dropped connection is retried with backoff, resuming after the last
 * transaction received whole (a partly received one is received again).
 */
export class ReplicationStream {
  readonly #options: ReplicationStreamOptions;
  readonly #received: StreamTransaction[] = [];
  /** Index in #received of the next transaction `next()` hands out. */
  #cursor = 0;
  /** Messages of the received transactions not handed out yet. */
  #backlogMessages = 0;
  #current: { pgXid: number; commitLsn: number; messages: StreamMessage[] } | null = null;
  #lastReceived = 0;
  #confirmed = 0;
  #keepaliveLsn = 0;
  #service: LogicalReplicationService | null = null;
  #stopped = false;
  /** Ends the waits between reconnects when the stream stops. */
  readonly #stopSignal = new AbortController();
  #waiters = new Set<() => void>();
  #statusTimer: NodeJS.Timeout | null = null;
  #loop: Promise<void> | null = null;
  #attempt = 0;
  #paused = false;
  /** Move-ins waiting for their marker: the stream must not be paused for them. */
  #lookingAhead = 0;

  constructor(options: ReplicationStreamOptions) {
    this.#options = options;
  }

  get confirmed(): number {
    return this.#confirmed;
  }

  /** The last WAL position the server said it has sent everything up to (keepalives). */
  get keepaliveLsn(): number {
    return this.#keepaliveLsn;
  }

  /** Received, not yet handed out by next(). */
  get backlog(): number {
    return this.#received.length - this.#cursor;
  }

  /**
   * Connects and starts streaming after `afterLsn` (the last commit already
   * applied; 0 = from the slot's confirmed position). Resolves once streaming
   * has started; the first connection's failure rejects (with a clear error),
   * later ones are retried.
   */
  async start(afterLsn: number, confirmed: number): Promise<void> {
    this.#lastReceived = afterLsn;
    this.#confirmed = confirmed;
    const packages = await loadReplication();
    await new Promise<void>((resolve, reject) => {
      this.#loop = this.#run(packages, resolve, reject);
    });
    this.#statusTimer = setInterval(() => void this.#sendStatus(), 10_000);
    this.#statusTimer.unref();
  }

  /** The next transaction in commit order; null once stopped. */
  async next(): Promise<StreamTransaction | null> {
    for (;;) {
      if (this.#stopped) return null;
      const next = this.#received[this.#cursor];
      if (next) {
        this.#cursor++;
        this.#backlogMessages -= next.messages.length;
        if (this.#paused && this.backlog < BACKLOG_LOW && this.#backlogMessages < BACKLOG_LOW_MESSAGES) this.#flow(false);
        return next;
      }
      await this.#changed();
    }
  }

  /**
   * Waits until a received transaction satisfies `found`, then returns every
   * received transaction after commit `afterLsn` up to and including it.
   */
  async receivedThrough(afterLsn: number, found: (t: StreamTransaction) => boolean): Promise<StreamTransaction[]> {
    this.#lookingAhead++;
    try {
      for (;;) {
        if (this.#stopped) throw new PostgresSourceError('stopped', 'the replication stream was stopped');
        const end = this.#received.findIndex((t) => t.commitLsn > afterLsn && found(t));
        if (end >= 0) return this.#received.slice(0, end + 1).filter((t) => t.commitLsn > afterLsn);
        if (this.#paused) this.#flow(false);
        await this.#changed();
      }
    } finally {
      this.#lookingAhead--;
    }
  }

  /** Everything through commit `lsn` is durable: forget it and tell the slot. */
  confirm(lsn: number): void {
    if (lsn <= this.#confirmed) return;
    this.#confirmed = lsn;
    let drop = 0;
    while (drop < this.#received.length && this.#received[drop]!.commitLsn <= lsn && drop < this.#cursor) drop++;
    this.#received.splice(0, drop);
    this.#cursor -= drop;
    void this.#sendStatus();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopSignal.abort();
    if (this.#statusTimer) clearInterval(this.#statusTimer);
    this.#wake();
    await this.#service?.stop().catch(() => undefined);
    await this.#loop?.catch(() => undefined);
  }

  /** Pauses or resumes reading the replication socket. */
  #flow(pause: boolean): void {
    const socket = (this.#service as unknown as { _connection?: { stream?: { pause?: () => void; resume?: () => void } } } | null)?._connection?.stream;
    if (pause) socket?.pause?.();
    else socket?.resume?.();
    this.#paused = pause && socket?.pause !== undefined;
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  async #sendStatus(): Promise<void> {
    // pg-logical-replication reports `lsn + 1` as flushed: the slot then skips the commit at `lsn`
    // on restart, and nothing after it (the next commit record starts at or after its end).
    if (this.#confirmed > 0) await this.#service?.acknowledge(formatLsn(this.#confirmed)).catch(() => false);
  }

  async #run({ LogicalReplicationService, DecodingPgoutputPlugin }: ReplicationPackages, started: () => void, failedToStart: (error: unknown) => void): Promise<void> {
    const { logger, backoff = { initialMs: 200, maxMs: 10_000 } } = this.#options;
    let everStarted = false;
    const since = Date.now();
    while (!this.#stopped) {
      let streaming = false;
      const service = new LogicalReplicationService(
        { connectionString: this.#options.connectionString, application_name: 'shape-actors' },
        { acknowledge: { auto: false, timeoutSeconds: 0 } },
      );
      this.#service = service;
      this.#paused = false;
      const failure: { error: unknown } = { error: null };
      service.on('error', (error: Error) => (failure.error ??= error));
      service.on('start', () => {
        streaming = true;
        this.#attempt = 0;
        if (!everStarted) {
          everStarted = true;
          started();
        } else {
          logger.info({ slot: this.#options.slot, after: formatLsn(this.#lastReceived) }, 'replication stream resumed');
        }
      });
      service.on('heartbeat', (lsn: string, _timestamp: number, shouldRespond: boolean) => {
        try {
          this.#keepaliveLsn = Math.max(this.#keepaliveLsn, parseLsn(lsn));
        } catch {
          // a keepalive past 2^53: ignore it, the next transaction will say so
        }
        this.#wake();
        if (shouldRespond) void this.#sendStatus();
      });
      service.on('data', (_lsn: string, message: Pgoutput.Message) => {
        try {
          this.#onMessage(message);
        } catch (error) {
          failure.error = error;
          void service.stop();
        }
      });
      this.#current = null;
      try {
        const plugin = new DecodingPgoutputPlugin({ protoVersion: 1, publicationNames: [this.#options.publication], messages: true });
        // Resume after the last transaction received whole: the slot skips commits before this position.
        await service.subscribe(plugin, this.#options.slot, formatLsn(this.#lastReceived > 0 ? this.#lastReceived + 1 : 0));
      } catch (error) {
        failure.error ??= error;
      }
      await service.stop().catch(() => undefined);
      if (this.#stopped) break;
      const error = failure.error ?? new Error('the replication connection ended');
      if (error instanceof PostgresSourceError && error.code === 'lsn-range') {
        this.#fail(error, everStarted, failedToStart);
        return;
      }
      if (!everStarted && !streaming) {
        const described = describeStreamError(error, this.#options);
        if (described instanceof PostgresSourceError && described.code === 'slot-in-use' && Date.now() - since < (this.#options.slotBusyGraceMs ?? 15_000)) {
          logger.info({ slot: this.#options.slot }, 'replication slot still held by a previous connection: waiting');
          await pause(250, this.#stopSignal.signal);
          continue;
        }
        // The first connection: say clearly why it failed, do not retry.
        failedToStart(described);
        this.#stopped = true;
        return;
      }
      if (!isConnectionError(error) && !/terminat|connection/i.test(String((error as Error)?.message ?? error))) {
        this.#fail(describeStreamError(error, this.#options), everStarted, failedToStart);
        return;
      }
      const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** this.#attempt) * (0.75 + Math.random() * 0.5);
      this.#attempt++;
      logger.warn({ slot: this.#options.slot, err: String((error as Error)?.message ?? error), retryInMs: Math.round(delay), attempt: this.#attempt }, 'replication connection lost: reconnecting');
      await pause(delay, this.#stopSignal.signal);
    }
  }

  #fail(error: unknown, everStarted: boolean, failedToStart: (error: unknown) => void): void {
    this.#stopped = true;
    this.#wake();
    const e = error instanceof Error ? error : new Error(String(error));
    if (everStarted) this.#options.onFatal(e);
    else failedToStart(e);
  }

  #receive(transaction: StreamTransaction): void {
    this.#lastReceived = transaction.commitLsn;
    this.#received.push(transaction);
    this.#backlogMessages += transaction.messages.length;
    // Backpressure: a long backlog (catching up) is not read into memory all at once.
    if (!this.#paused && (this.backlog > BACKLOG_HIGH || this.#backlogMessages > BACKLOG_HIGH_MESSAGES) && this.#lookingAhead === 0) this.#flow(true);
    this.#wake();
  }

  #onMessage(message: Pgoutput.Message): void {
    switch (message.tag) {
      case 'begin':
        this.#current = { pgXid: message.xid, commitLsn: parseLsn(message.commitLsn ?? '0/0'), messages: [] };
        return;
      case 'commit': {
        const current = this.#current;
        this.#current = null;
        if (!current) return;
        // After a reconnect the server may send again what we have (it resumes at a commit boundary).
        if (current.commitLsn <= this.#lastReceived) return;
        this.#receive({ pgXid: current.pgXid, commitLsn: current.commitLsn, messages: current.messages });
        return;
      }
      case 'relation':
      case 'insert':
      case 'update':
      case 'delete':
      case 'truncate':
        this.#current?.messages.push(message);
        return;
      case 'message':
        if (message.transactional) this.#current?.messages.push(message);
        return;
      default:
        return; // origin, type: nothing to do
    }
  }
}

function describeStreamError(error: unknown, options: ReplicationStreamOptions): Error {
  const described = describeConnectError(error, options.connectionString);
  if (described instanceof PostgresSourceError) return described;
  const e = (error ?? {}) as { code?: string; message?: string };
  const text = e.message ?? String(error);
  if (e.code === '55006' || /is active for PID/i.test(text)) {
    return new PostgresSourceError('slot-in-use', `replication slot ${options.slot} is in use by another connection (${text}): is another shape-actors following this data dir?`, { cause: error });
  }
  if (e.code === '42704' || /does not exist/i.test(text)) {
    return new PostgresSourceError('protocol', `replication slot or publication is gone: ${text}`, { cause: error });
  }
  if (e.code === '42501' || /permission denied|must be superuser or replication role/i.test(text)) {
    return new PostgresSourceError('replication-right', `cannot stream from slot ${options.slot}: ${text} (the role needs the REPLICATION attribute)`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
