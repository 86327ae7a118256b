/**
 * The Postgres source: the runtime's transactions from logical replication
 * (pgoutput), a publication kept to exactly the live shapes' tables, the row
 * store kept as a mirror of those tables, move-ins from the database, and
 * schema changes turned into shape removals.
 *
 * Positions. The runtime's transaction id is the commit LSN. A transaction
 * is confirmed to the slot only once `applyTransaction` resolved (its shape
 * logs, materializer state and row store are durable); a restart resumes the
 * stream after the runtime's position, and a transaction already applied is
 * skipped by the runtime (`xid <= position`). Stretches of the stream with
 * nothing to apply are confirmed too, after `ackedThrough` is recorded in
 * the source's state file, so a slot that moved on without us is recognised.
 *
 * Tables. The row store mirrors every followed table (it gives old rows of
 * updates, new shapes' initial rows, and move-in reconciliation). A table is
 * followed from a sync: add it to the publication, then in one REPEATABLE
 * READ transaction read its rows at snapshot S and write a marker; changes to
 * it that arrive before the marker are held aside. At the marker the rows
 * (plus the held-aside changes of transactions S did not see, in order) go
 * to the runtime as one transaction (upserts, and deletes of rows the store
 * holds but the table no longer does), with the marker's commit LSN as id.
 * Every transaction after the marker committed after S: applied as usual.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Pgoutput } from 'pg-logical-replication';
import { silentLogger, type RuntimeLogger } from '../../logging/runtime-logger.ts';
import type { ShapeRegistry } from '../../registry/shape-registry.ts';
import { rowKey } from '../../storage/rows/row-key.ts';
import type { MoveInSource } from '../../storage/rows/row-store.ts';
import type { TableStore } from '../../storage/rows/table-store.ts';
import { DirectoryTableFiles } from '../../storage/rows/directory-table-files.ts';
import { dataDirLayout } from '../../storage/file-store.ts';
import type { AddedShape, ShapeRuntime } from '../../runtime/index.ts';
import { normalizeShape, type ShapeDefinition } from '../../shapes/definition.ts';
import type { Row } from '../../shapes/where/evaluate.ts';
import { loadSqlParser } from '../../shapes/where/sql-parser.ts';
import type { Change } from '../../shapes/transaction.ts';
import { allTables, serverInfo, tableInfo, unfollowableReason, type ServerInfo, type TableInfo } from './catalog.ts';
import { definitionProblem, tablesOf } from './definition-check.ts';
import { describeConnectError, describeTarget, PostgresSourceError } from './errors.ts';
import { formatLsn, parseLsn } from './lsn.ts';
import { keysOf, MARKER_PREFIX, PostgresMoveInSource, relationName } from './move-ins.ts';
import { PgSnapshot } from './snapshot.ts';
import { catalogSchema, hasAddedColumns, relationSchema, schemaChange } from './schema.ts';
import { SourceStateFile, type TableBaseline } from './state.ts';
import { ReplicationStream, type StreamMessage, type StreamTransaction } from './stream.ts';
import { quoteIdent } from './sql.ts';
import { pgTypes } from './values.ts';

export interface PostgresSourceOptions {
  readonly databaseUrl: string;
  /** The runtime's data dir: the source keeps its state in `<dir>/postgres/source.json`. */
  readonly stateDir: string;
  /** Replication slot (default: `shape_actors_<random>`, chosen once per data dir). */
  readonly slot?: string;
  /** Publication (default: the slot's name). */
  readonly publication?: string;
  /** `database` (default): move-ins query Postgres (reconciled with the stream); `row-store`: the row store answers them. */
  readonly moveIns?: 'database' | 'row-store';
  /** How often to look for dropped tables and columns that no relation message announced (ms, default 5000; 0: never). */
  readonly schemaPollMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /**
   * Shapes whose table does not exist or cannot be followed (no primary key): `keep` (default)
   * reports them and leaves them alone (the table is looked for again with each schema check);
   * `remove` removes them, with cascade, reason `table-unfollowable`.
   */
  readonly unfollowableTables?: 'keep' | 'remove';
  readonly logger?: RuntimeLogger;
  /** The source stopped on an error it cannot recover from (the runtime keeps what it applied). */
  readonly onFatal?: (error: Error) => void;
}

export interface PostgresSourceStatus {
  readonly slot: string;
  readonly publication: string;
  /** The runtime's position (last applied commit LSN). */
  readonly position: string;
  readonly confirmed: string;
  readonly backlog: number;
  readonly synced: readonly string[];
  readonly syncing: readonly string[];
  /** Tables the live shapes read that cannot be followed, and why (their shapes are kept). */
  readonly unfollowable: readonly { readonly table: string; readonly reason: string }[];
  readonly moveIns: PostgresMoveInSource['stats'];
}

interface PendingSync {
  readonly id: string;
  readonly table: string;
  readonly keyColumns: readonly string[];
  /** Changes to the table that arrived before the marker, with their transaction's xid. */
  readonly held: { readonly xid: number; readonly message: StreamMessage }[];
  snapshot: PgSnapshot | null;
  rows: Map<string, Row> | null;
  info: TableInfo | null;
  ready: Promise<void>;
  markReady: (error?: unknown) => void;
  failed: unknown;
}

type Waiter = { resolve: () => void; reject: (error: Error) => void };

const RECENT_XIDS = 1024;
/** Transactions handed to the runtime ahead of their acknowledgement. */
const IN_FLIGHT = 128;

interface InFlight {
  readonly transaction: StreamTransaction;
  /** The runtime's acknowledgement (null: nothing to apply). */
  applied: Promise<unknown> | null;
  readonly completed: PendingSync[];
  readonly pings: string[];
  settled: boolean;
  readonly skipped?: boolean;
}

export class PostgresSource {
  readonly pool: pg.Pool;
  readonly stream: ReplicationStream;
  readonly logger: RuntimeLogger;
  readonly server: ServerInfo;
  readonly #options: PostgresSourceOptions;
  readonly #state: SourceStateFile;
  readonly #moveIns: PostgresMoveInSource;
  readonly #catalog = new Map<string, TableInfo>();
  readonly #baselines = new Map<string, TableBaseline>();
  readonly #pending = new Map<string, PendingSync>();
  /** Changes of published tables that are not synced (nor syncing), kept for their sync. */
  readonly #early = new Map<string, { readonly xid: number; readonly message: StreamMessage }[]>();
  readonly #publicationTables = new Set<string>();
  readonly #failing = new Map<string, Set<string>>();
  /** Tables that do not exist or cannot be followed: their shapes are kept, not followed. */
  readonly #unfollowable = new Map<string, string>();
  /** Ends every wait and sleep the source started, at stop. */
  readonly #stopSignal = new AbortController();
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #recentXids: { lsn: number; xid: number }[] = [];
  readonly #inFlight: InFlight[] = [];
  readonly #overlay = new Map<string, Row | null>();
  readonly #pings = new Map<string, () => void>();
  #runtime: ShapeRuntime | null = null;
  #control: Promise<void> = Promise.resolve();
  #reconcileQueued = false;
  #controlFailures = 0;
  #applyLoop: Promise<void> | null = null;
  #stopping = false;
  #stopped = false;
  #pollTimer: NodeJS.Timeout | null = null;
  #ackTimer: NodeJS.Timeout | null = null;
  #ackable = 0;
  #unsubscribe: (() => void)[] = [];
  #failureCount = 0;

  private constructor(options: PostgresSourceOptions, pool: pg.Pool, server: ServerInfo, state: SourceStateFile, tables: readonly TableInfo[]) {
    this.#options = options;
    this.pool = pool;
    this.server = server;
    this.#state = state;
    this.logger = options.logger ?? silentLogger;
    for (const info of tables) this.#catalog.set(info.table, info);
    this.stream = new ReplicationStream({
      connectionString: options.databaseUrl,
      slot: state.slot,
      publication: state.publication,
      logger: this.logger,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      onFatal: (error) => this.#fatal(error),
    });
    const source = this;
    this.#moveIns = new PostgresMoveInSource({
      pool,
      stream: this.stream,
      logger: this.logger,
      signal: this.#stopSignal.signal,
      mirror: () => source.#mirror(),
      registry: () => source.#registry(),
      isSynced: (table) => source.#baselines.has(table),
      tableInfo: (table) => source.#tableInfo(table),
      recentXids: (through) => source.#recentXids.filter((r) => r.lsn <= through).map((r) => r.xid),
      get stopped() {
        return source.#stopped;
      },
    });
  }

  /**
   * Connects and checks the server (reachable, `wal_level = logical`, the role
   * may replicate), opens the source's state in the data dir, and reads the
   * tables' primary keys. Errors are PostgresSourceErrors with a clear message.
   */
  static async connect(options: PostgresSourceOptions): Promise<PostgresSource> {
    try {
      const url = new URL(options.databaseUrl);
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error(`protocol ${url.protocol}`);
    } catch (error) {
      throw new PostgresSourceError('invalid-url', `not a Postgres URL (postgres://user@host:port/database): ${(error as Error).message}`);
    }
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      types: pgTypes,
      application_name: 'shape-actors',
      max: 4,
      connectionTimeoutMillis: 10_000,
    });
    pool.on('error', (error) => (options.logger ?? silentLogger).warn({ err: error.message }, 'idle Postgres connection failed'));
    try {
      const server = await serverInfo(pool);
      const target = describeTarget(options.databaseUrl);
      if (server.version < 140000) {
        throw new PostgresSourceError('server-version', `Postgres at ${target} is version ${server.version}; the source needs 14 or later (pgoutput logical messages)`);
      }
      if (server.walLevel !== 'logical') {
        throw new PostgresSourceError(
          'wal-level',
          `wal_level is '${server.walLevel}' on ${target}; logical replication needs wal_level = logical (set it in postgresql.conf or with ALTER SYSTEM SET wal_level = logical, then restart Postgres)`,
        );
      }
      if (!server.replication && !server.superuser) {
        throw new PostgresSourceError(
          'replication-right',
          `role ${server.role} on ${target} may not use replication slots: it needs the REPLICATION attribute (ALTER ROLE ${quoteIdent(server.role)} REPLICATION) or superuser`,
        );
      }
      const { file: state, problem } = await SourceStateFile.open(options.stateDir, {
        ...(options.slot ? { slot: options.slot } : {}),
        ...(options.publication ? { publication: options.publication } : {}),
        database: server.database,
      });
      if (problem) (options.logger ?? silentLogger).warn({ problem }, 'source state reset');
      const tables = await allTables(pool);
      return new PostgresSource(options, pool, server, state, tables);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw describeConnectError(error, options.databaseUrl);
    }
  }

  get slot(): string {
    return this.#state.slot;
  }

  get publication(): string {
    return this.#state.publication;
  }

  /** What to pass to createShapeRuntime as `moveInSource`. */
  get moveInSource(): MoveInSource | undefined {
    return this.#options.moveIns === 'row-store' ? undefined : this.#moveIns;
  }

  /**
   * Key columns to create the runtime with: every table's primary key, except
   * tables the data dir's row store recorded already (their recorded key
   * stands; a changed key is a schema change, found when the table is synced).
   */
  async runtimeKeyColumns(): Promise<Record<string, readonly string[]>> {
    const recorded = await new DirectoryTableFiles(dataDirLayout(this.#options.stateDir).tables).recordedTables();
    const out: Record<string, readonly string[]> = {};
    for (const info of this.#catalog.values()) if (info.keyColumns.length > 0 && !recorded.has(info.table)) out[info.table] = info.keyColumns;
    return out;
  }

  /** Starts following the database for this runtime (created with `moveInSource` and `runtimeKeyColumns()`). */
  async start(runtime: ShapeRuntime): Promise<void> {
    if (this.#runtime) throw new Error('the source is started already');
    this.#runtime = runtime;
    const mirror = this.#mirror();
    if (!mirror) throw new Error('the runtime has no row store (a dry run?)');
    const position = mirror.position;

    await this.#ensurePublication();
    const slotConfirmed = await this.#ensureSlot(position);
    for (const table of this.#state.syncedTables()) {
      const synced = this.#state.synced(table)!;
      const info = this.#catalog.get(table);
      const problem = info ? unfollowableReason(info) : `table ${table} does not exist`;
      // Gone (or unfollowable) while nothing followed it: reported and kept, like a table never followed.
      if (problem) await this.#state.update((s) => ({ ...s, tables: withoutKey(s.tables, table) }));
      else this.#baselines.set(table, { oid: synced.oid, keyColumns: synced.keyColumns, columns: synced.columns });
    }
    const { rows } = await this.pool.query<{ schemaname: string; tablename: string }>('SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [this.publication]);
    for (const r of rows) this.#publicationTables.add(relationName({ schema: r.schemaname, name: r.tablename }));

    await this.stream.start(position, Math.max(position, slotConfirmed - 1));
    this.logger.info({ slot: this.slot, publication: this.publication, after: formatLsn(position) }, 'replication stream started');
    this.#applyLoop = this.#runApplyLoop();
    this.#unsubscribe.push(
      runtime.actor.on('SHAPE.ADDED', () => this.#scheduleReconcile()).unsubscribe,
      runtime.actor.on('SHAPE.REMOVED', () => this.#scheduleReconcile()).unsubscribe,
    );
    await this.#enqueue(() => this.#reconcile());
    const pollMs = this.#options.schemaPollMs ?? 5_000;
    if (pollMs > 0) {
      this.#pollTimer = setInterval(() => void this.#enqueue(() => this.#pollSchema()), pollMs);
      this.#pollTimer.unref();
    }
    this.#ackTimer = setInterval(() => void this.#enqueue(() => this.#ackIdle()), 2_000);
    this.#ackTimer.unref();
  }

  /**
   * Adds a shape: looks up its tables' primary keys first (so its consumer is
   * spawned with them), adds it, and resolves once every table it reads is
   * synced (its log holds the table's current rows).
   */
  async add(definition: ShapeDefinition | Record<string, unknown>): Promise<AddedShape> {
    const runtime = this.#requireRuntime();
    await loadSqlParser();
    const normalized = normalizeShape(definition).definition;
    const tables = tablesOf(normalized);
    const mirror = this.#mirror()!;
    const infos = new Map<string, TableInfo | null>();
    for (const table of tables) infos.set(table, await this.#tableInfo(table, true));
    const problem = definitionProblem(normalized, (table) => infos.get(table) ?? null, describeTarget(this.#options.databaseUrl));
    if (problem) throw new PostgresSourceError('definition-refused', problem);
    for (const table of tables) {
      mirror.declareKeyColumns(table, infos.get(table)!.keyColumns);
      this.#unfollowable.delete(table);
    }
    const added = await runtime.add(definition);
    await this.waitForSync(tables);
    return added;
  }

  /** Resolves once the given tables (default: every live shape's) are synced. */
  async waitForSync(tables?: readonly string[]): Promise<void> {
    const wanted = tables ?? [...(this.#registry()?.tables() ?? [])];
    await Promise.all(
      wanted.map(
        (table) =>
          new Promise<void>((resolve, reject) => {
            if (this.#baselines.has(table) && !this.#pending.has(table)) return resolve();
            if (this.#stopped) return reject(new PostgresSourceError('stopped', 'the Postgres source is stopped'));
            const unfollowable = this.#unfollowable.get(table);
            if (unfollowable) return reject(new PostgresSourceError('definition-refused', unfollowable));
            const list = this.#waiters.get(table) ?? [];
            list.push({ resolve, reject });
            this.#waiters.set(table, list);
          }),
      ),
    );
  }

  /**
   * Resolves once everything committed in the database before the call has
   * been applied (or skipped): a marker is written and waited for.
   */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const id = `ping:${Date.now()}:${Math.random().toString(16).slice(2)}`;
    const seen = new Promise<void>((resolve) => this.#pings.set(id, resolve));
    await this.pool.query('SELECT pg_logical_emit_message(true, $1, $2)', [MARKER_PREFIX, id]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not caught up after ${timeoutMs} ms (${JSON.stringify(this.status())})`)), timeoutMs);
    });
    try {
      await Promise.race([seen, timeout, this.#untilStopping().then(() => Promise.reject(new PostgresSourceError('stopped', 'the Postgres source is stopped')))]);
    } finally {
      clearTimeout(timer);
      this.#pings.delete(id);
    }
  }

  status(): PostgresSourceStatus {
    return {
      slot: this.slot,
      publication: this.publication,
      position: formatLsn(this.#mirror()?.position ?? 0),
      confirmed: formatLsn(this.stream.confirmed),
      backlog: this.stream.backlog,
      synced: [...this.#baselines.keys()].filter((t) => !this.#pending.has(t)).sort(),
      syncing: [...this.#pending.keys()].sort(),
      unfollowable: [...this.#unfollowable].map(([table, reason]) => ({ table, reason })).sort((a, b) => (a.table < b.table ? -1 : 1)),
      moveIns: this.#moveIns.stats,
    };
  }

  /**
   * Stops following: no new transaction is handed to the runtime; the one in
   * flight is let finish (the stream keeps running meanwhile: a move-in may be
   * waiting for its marker), then the stream and connections close. Call
   * before `runtime.shutdown()`.
   */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.#stopped) return;
    this.#stopping = true;
    for (const w of this.#stopWaiters.splice(0)) w();
    const grace = new AbortController();
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    if (this.#ackTimer) clearInterval(this.#ackTimer);
    for (const off of this.#unsubscribe) off();
    // The grace period's timer ends with the loop: a stopped source leaves no timer behind.
    if (this.#applyLoop) await Promise.race([this.#applyLoop, sleep(timeoutMs, undefined, { signal: grace.signal }).catch(() => undefined)]);
    grace.abort();
    this.#stopped = true;
    this.#stopSignal.abort();
    await this.stream.stop();
    await this.#control.catch(() => undefined);
    for (const [, list] of this.#waiters) for (const w of list) w.reject(new PostgresSourceError('stopped', 'the Postgres source was stopped'));
    this.#waiters.clear();
    for (const pending of this.#pending.values()) pending.markReady(new PostgresSourceError('stopped', 'the Postgres source was stopped'));
    await this.pool.end().catch(() => undefined);
  }

  // ------------------------------------------------------------------ runtime access

  #requireRuntime(): ShapeRuntime {
    if (!this.#runtime) throw new Error('the source is not started');
    return this.#runtime;
  }

  #mirror(): TableStore | null {
    return this.#runtime?.actor.getSnapshot().context.rows ?? null;
  }

  #registry(): ShapeRegistry | null {
    return this.#runtime?.actor.getSnapshot().context.registry ?? null;
  }

  #idle = true;

  // ------------------------------------------------------------------ slot and publication

  async #ensurePublication(): Promise<void> {
    const { rows } = await this.pool.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [this.publication]);
    if (rows.length > 0) return;
    try {
      await this.pool.query(`CREATE PUBLICATION ${quoteIdent(this.publication)} WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = true)`);
    } catch (error) {
      if ((error as { code?: string }).code === '42710') return; // created concurrently
      throw this.#rightsError(error, `create publication ${this.publication}`);
    }
  }

  /** Creates the slot when missing; returns its confirmed position. Resyncs every table when the slot moved on without us. */
  async #ensureSlot(position: number): Promise<number> {
    const { rows } = await this.pool.query<{ plugin: string; database: string; confirmed: string | null }>(
      'SELECT plugin, database, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1',
      [this.slot],
    );
    const slot = rows[0];
    if (!slot) {
      try {
        await this.pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [this.slot]);
      } catch (error) {
        throw this.#rightsError(error, `create replication slot ${this.slot}`);
      }
      if (this.#state.syncedTables().length > 0 || position > 0) {
        this.logger.warn({ slot: this.slot }, 'replication slot was missing: created it; every table is synced again');
        await this.#forgetSynced();
      }
      const created = await this.pool.query<{ confirmed: string }>('SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1', [this.slot]);
      return parseLsn(created.rows[0]!.confirmed);
    }
    if (slot.plugin !== 'pgoutput' || slot.database !== this.server.database) {
      throw new PostgresSourceError('protocol', `replication slot ${this.slot} exists but is for ${slot.plugin} on database ${slot.database}, not pgoutput on ${this.server.database}`);
    }
    const confirmed = slot.confirmed ? parseLsn(slot.confirmed) : 0;
    const known = Math.max(position, parseLsn(this.#state.ackedThrough));
    if (confirmed > known + 1 && this.#state.syncedTables().length > 0) {
      this.logger.warn({ slot: this.slot, slotConfirmed: formatLsn(confirmed), position: formatLsn(known) }, 'the slot moved past what this data dir applied: every table is synced again');
      await this.#forgetSynced();
    }
    return confirmed;
  }

  async #forgetSynced(): Promise<void> {
    this.#baselines.clear();
    await this.#state.update((s) => ({ ...s, tables: {} }));
  }

  #rightsError(error: unknown, what: string): unknown {
    const e = error as { code?: string; message?: string };
    if (e.code === '42501') {
      const code = what.includes('slot') ? 'replication-right' : 'publication-right';
      return new PostgresSourceError(code, `role ${this.server.role} may not ${what}: ${e.message} (${code === 'publication-right' ? 'it needs CREATE on the database, and to own the published tables' : 'it needs the REPLICATION attribute'})`, { cause: error });
    }
    return describeConnectError(error, this.#options.databaseUrl);
  }

  // ------------------------------------------------------------------ control: publication in step with the shapes

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#control.then(async () => {
      if (this.#stopped) return;
      try {
        await task();
      } catch (error) {
        if (this.#stopped) return;
        // A lost connection, a lock timeout...: the publication and the syncs are brought in step again, later.
        const delay = Math.min(10_000, 250 * 2 ** Math.min(this.#controlFailures++, 6));
        this.logger.warn({ err: String((error as Error)?.message ?? error), retryInMs: delay }, 'Postgres source: control task failed: retrying');
        setTimeout(() => this.#scheduleReconcile(), delay).unref();
        return;
      }
      this.#controlFailures = 0;
    });
    this.#control = run;
    return run;
  }

  #scheduleReconcile(): void {
    if (this.#reconcileQueued || this.#stopping) return;
    this.#reconcileQueued = true;
    void this.#enqueue(async () => {
      this.#reconcileQueued = false;
      await this.#reconcile();
    });
  }

  /** The publication covers exactly the live shapes' tables; each is synced once. */
  async #reconcile(): Promise<void> {
    const registry = this.#registry();
    if (!registry || this.#stopping) return;
    // Dependents' tables first: when a dependency's rows arrive, the tables its move-ins read are followed already.
    const wanted = new Set(
      registry
        .inTopologicalOrder()
        .reverse()
        .map((r) => r.shape.definition.table),
    );
    for (const [table, handles] of this.#failing) {
      if (![...handles].some((h) => registry.has(h))) this.#failing.delete(table);
    }
    for (const table of [...new Set([...this.#publicationTables, ...this.#baselines.keys(), ...this.#pending.keys()])]) {
      if (wanted.has(table)) continue;
      await this.#unfollow(table);
    }
    for (const table of this.#unfollowable.keys()) if (!wanted.has(table)) this.#unfollowable.delete(table);
    for (const table of wanted) {
      if (this.#failing.has(table) || this.#pending.has(table) || this.#unfollowable.has(table)) continue;
      if (this.#baselines.has(table) && this.#publicationTables.has(table)) continue;
      await this.#sync(table);
    }
  }

  async #unfollow(table: string): Promise<void> {
    this.#baselines.delete(table);
    this.#early.delete(table);
    this.#pending.get(table)?.markReady(new PostgresSourceError('stopped', `table ${table} is no longer followed`));
    this.#pending.delete(table);
    if (this.#state.synced(table)) await this.#state.update((s) => ({ ...s, tables: withoutKey(s.tables, table) }));
    if (this.#publicationTables.has(table)) {
      try {
        await this.pool.query(`ALTER PUBLICATION ${quoteIdent(this.publication)} DROP TABLE ${table}`);
      } catch (error) {
        const code = (error as { code?: string }).code;
        // Not in the publication (42704), or the table itself is gone (42P01): either way it is out.
        if (code !== '42704' && code !== '42P01') throw error;
      }
      this.#publicationTables.delete(table);
      this.logger.info({ table, publication: this.publication }, 'table left the publication');
    }
  }

  /** Starts a sync (see the module doc): the apply loop finishes it at the marker. */
  async #sync(table: string): Promise<void> {
    const info = await this.#tableInfo(table, true);
    const problem = !info ? `table ${table} does not exist` : unfollowableReason(info);
    if (problem || !info) return this.#cannotFollow(table, problem ?? `table ${table} does not exist`);
    try {
      this.#mirror()!.declareKeyColumns(table, info.keyColumns);
    } catch (error) {
      return this.#failTable(table, `primary key changed: ${(error as Error).message}`);
    }
    let markReady!: (error?: unknown) => void;
    const pending: PendingSync = {
      id: `sync:${table}:${Date.now()}:${Math.random().toString(16).slice(2)}`,
      table,
      keyColumns: info.keyColumns,
      // Changes that arrived while the table was published but not synced (after a restart, say):
      // a commit the stream delivered may still be invisible to the snapshot (a synchronous
      // standby not yet answered), so they are kept and sorted out by visibility like the others.
      held: this.#early.get(table) ?? [],
      snapshot: null,
      rows: null,
      info: null,
      failed: null,
      ready: new Promise<void>((resolve) => {
        markReady = (error?: unknown) => {
          if (error !== undefined) pending.failed ??= error;
          resolve();
        };
      }),
      markReady: (error?: unknown) => markReady(error),
    };
    // From here on, the table's changes are held aside until the marker.
    this.#baselines.delete(table);
    this.#early.delete(table);
    this.#pending.set(table, pending);
    try {
      if (!this.#publicationTables.has(table)) {
        await this.pool.query(`ALTER PUBLICATION ${quoteIdent(this.publication)} ADD TABLE ${table}`).catch((error: { code?: string }) => {
          if (error.code !== '42710') throw this.#rightsError(error, `add table ${table} to publication ${this.publication}`);
        });
        this.#publicationTables.add(table);
      }
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        const snap = await client.query<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot');
        const result = await client.query<Row>(`SELECT * FROM ${table}`);
        const now = await tableInfo(client, table);
        await client.query('SELECT pg_logical_emit_message(true, $1, $2)', [MARKER_PREFIX, pending.id]);
        await client.query('COMMIT');
        pending.snapshot = PgSnapshot.parse(snap.rows[0]!.snapshot);
        pending.info = now ?? info;
        const rows = new Map<string, Row>();
        for (const row of result.rows) {
          const key = rowKey(row, info.keyColumns);
          if (key !== null) rows.set(key, row);
        }
        pending.rows = rows;
        this.logger.info({ table, rows: rows.size, publication: this.publication }, 'table sync: rows read, waiting for the marker');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
      pending.markReady();
    } catch (error) {
      if (this.#pending.get(table) === pending) {
        this.#pending.delete(table);
        this.#early.set(table, pending.held); // kept for the next attempt
      }
      pending.markReady(error);
      if (error instanceof PostgresSourceError && error.code === 'publication-right') {
        this.#cannotFollow(table, error.message);
        return;
      }
      throw error;
    }
  }

  /**
   * A table the shapes read that does not exist or cannot be followed: its shapes are reported
   * and kept (looked at again with each schema check), or removed when the host chose so.
   */
  #cannotFollow(table: string, reason: string): void {
    if (this.#options.unfollowableTables === 'remove') return this.#failTable(table, reason, 'table-unfollowable');
    const handles = [...(this.#registry()?.handlesForTable(table) ?? [])];
    this.#baselines.delete(table);
    this.#pending.get(table)?.markReady(new PostgresSourceError('definition-refused', reason));
    this.#pending.delete(table);
    this.#unfollowable.set(table, reason);
    this.logger.warn({ table, reason, shapes: handles }, 'table cannot be followed: its shapes are kept but not followed (serve --unfollowable-tables remove removes them)');
    for (const w of this.#waiters.get(table) ?? []) w.reject(new PostgresSourceError('definition-refused', reason));
    this.#waiters.delete(table);
  }

  /** Removes every shape of a table (with cascade), because its schema changed (or, by choice, it cannot be followed). */
  #failTable(table: string, detail: string, reason: 'schema-changed' | 'table-unfollowable' = 'schema-changed'): void {
    const registry = this.#registry();
    const handles = [...(registry?.handlesForTable(table) ?? [])];
    this.#baselines.delete(table);
    this.#pending.get(table)?.markReady(new PostgresSourceError('protocol', detail));
    this.#pending.delete(table);
    if (handles.length > 0) this.#failing.set(table, new Set(handles));
    this.logger.warn({ table, shapes: handles.length, detail, reason }, `removing the shapes of a table: ${reason}`);
    for (const handle of handles) {
      this.#runtime!.actor.send({ type: 'SHAPE.FAILED', requestId: `postgres:${++this.#failureCount}`, handle, reason, detail: `${table}: ${detail}` });
    }
    for (const w of this.#waiters.get(table) ?? []) w.reject(new PostgresSourceError('protocol', `${table}: ${detail}`));
    this.#waiters.delete(table);
    if (this.#state.synced(table)) void this.#state.update((s) => ({ ...s, tables: withoutKey(s.tables, table) }));
  }

  /**
   * Reads a table again: an added column may have a default that every
   * existing row now has (Postgres logs no change for them), so the row store
   * would no longer mirror the table. Its changes wait (not applied) until
   * the sync, which brings every row as it is, against what the row store holds.
   */
  #resync(table: string, why: string): void {
    if (!this.#baselines.has(table)) return;
    this.logger.info({ table, why }, 'table sync again');
    this.#baselines.delete(table);
    if (this.#state.synced(table)) void this.#state.update((s) => ({ ...s, tables: withoutKey(s.tables, table) }));
    this.#scheduleReconcile();
  }

  async #pollSchema(): Promise<void> {
    for (const table of [...this.#unfollowable.keys()]) {
      const info = await this.#tableInfo(table, true);
      if (info && !unfollowableReason(info)) {
        this.logger.info({ table }, 'table can be followed now');
        this.#unfollowable.delete(table);
        this.#scheduleReconcile();
      }
    }
    for (const [table, baseline] of [...this.#baselines]) {
      if (this.#pending.has(table)) continue;
      const info = await tableInfo(this.pool, table);
      if (!this.#baselines.has(table)) continue;
      if (!info) {
        this.#failTable(table, 'table was dropped');
        continue;
      }
      this.#catalog.set(table, info);
      const now = catalogSchema(info);
      const change = schemaChange(baseline, now);
      if (change) this.#failTable(table, change);
      else if (hasAddedColumns(baseline, now)) this.#resync(table, 'column(s) added');
    }
  }

  async #tableInfo(table: string, refresh = false): Promise<TableInfo | null> {
    if (!refresh) {
      const known = this.#catalog.get(table);
      if (known) return known;
    }
    const info = await tableInfo(this.pool, table);
    if (info) this.#catalog.set(table, info);
    else this.#catalog.delete(table);
    return info;
  }

  // ------------------------------------------------------------------ the apply loop

  /**
   * Transactions are handed to the runtime without waiting for the previous
   * one (up to IN_FLIGHT): the runtime applies what is queued as one batch
   * (one journal entry, one write per shape log), in order. Each is confirmed
   * in order, once its `applyTransaction` resolved.
   */
  async #runApplyLoop(): Promise<void> {
    try {
      while (!this.#stopping) {
        const head = this.#inFlight[0];
        if (head && (this.stream.backlog === 0 || this.#inFlight.length >= IN_FLIGHT || head.settled)) {
          await this.#settle(this.#inFlight.shift()!);
          continue;
        }
        const transaction = await Promise.race([this.stream.next(), this.#untilStopping()]);
        if (!transaction || this.#stopping) break;
        this.#idle = false;
        this.#inFlight.push(await this.#dispatch(transaction));
      }
      // Stopping: what was handed to the runtime is let finish (and confirmed).
      while (this.#inFlight.length > 0) await this.#settle(this.#inFlight.shift()!);
    } catch (error) {
      this.#inFlight.length = 0;
      this.#fatal(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#idle = true;
    }
  }

  #stopWaiters: (() => void)[] = [];
  /** Resolves (null) once stop() began. */
  #untilStopping(): Promise<null> {
    return new Promise((resolve) => {
      if (this.#stopping) resolve(null);
      else this.#stopWaiters.push(() => resolve(null));
    });
  }

  /** Waits for every transaction handed to the runtime (a sync needs the row store as of its marker). */
  async #drain(): Promise<void> {
    while (this.#inFlight.length > 0) await this.#settle(this.#inFlight.shift()!);
  }

  /** Turns a stream transaction into the runtime's and hands it over (not waiting for it to apply). */
  async #dispatch(transaction: StreamTransaction): Promise<InFlight> {
    const runtime = this.#requireRuntime();
    const entry: InFlight = { transaction, applied: null, completed: [], pings: [], settled: false };
    if (transaction.commitLsn <= this.#mirror()!.position && this.#inFlight.length === 0) return { ...entry, settled: true, skipped: true };
    this.#recentXids.push({ lsn: transaction.commitLsn, xid: transaction.xid });
    if (this.#recentXids.length > RECENT_XIDS) this.#recentXids.splice(0, this.#recentXids.length - RECENT_XIDS);
    this.logger.debug({ lsn: formatLsn(transaction.commitLsn), xid: transaction.xid, messages: transaction.messages.length }, 'transaction received');
    const changes: Change[] = [];
    for (const message of transaction.messages) {
      switch (message.tag) {
        case 'relation': {
          const table = relationName(message);
          const baseline = this.#baselines.get(table);
          if (!baseline || this.#pending.has(table)) break;
          const now = relationSchema(message);
          const change = schemaChange(baseline, now);
          if (change) this.#failTable(table, change);
          else if (hasAddedColumns(baseline, now)) this.#resync(table, 'column(s) added');
          break;
        }
        case 'insert':
        case 'update':
        case 'delete': {
          const table = relationName(message.relation);
          const pending = this.#pending.get(table);
          if (pending) pending.held.push({ xid: transaction.xid, message });
          else if (this.#baselines.has(table)) changes.push(...this.#changesOf(table, message, this.#mirror()!));
          else this.#holdEarly(table, { xid: transaction.xid, message });
          break;
        }
        case 'truncate':
          for (const relation of message.relations) {
            const table = relationName(relation);
            const pending = this.#pending.get(table);
            if (pending) pending.held.push({ xid: transaction.xid, message });
            else if (this.#baselines.has(table)) this.#failTable(table, 'table was truncated');
            else this.#holdEarly(table, { xid: transaction.xid, message });
          }
          break;
        case 'message': {
          if (message.prefix !== MARKER_PREFIX) break;
          const id = Buffer.from(message.content).toString('utf8');
          if (id.startsWith('ping:')) entry.pings.push(id);
          const pending = [...this.#pending.values()].find((p) => p.id === id);
          if (!pending) break;
          await pending.ready;
          if (pending.failed || this.#pending.get(pending.table) !== pending) break;
          await this.#drain();
          changes.push(...this.#syncChanges(pending, this.#mirror()!));
          this.#pending.delete(pending.table);
          this.#baselines.set(pending.table, { oid: pending.info!.oid, keyColumns: pending.keyColumns, columns: pending.info!.columns });
          entry.completed.push(pending);
          break;
        }
      }
    }
    if (changes.length > 0) {
      const applied = runtime.applyTransaction({ xid: transaction.commitLsn, changes });
      entry.applied = applied;
      void applied.then(
        () => (entry.settled = true),
        () => (entry.settled = true),
      );
    } else {
      entry.settled = true;
    }
    return entry;
  }

  #holdEarly(table: string, change: { readonly xid: number; readonly message: StreamMessage }): void {
    let list = this.#early.get(table);
    if (!list) this.#early.set(table, (list = []));
    list.push(change);
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
      this.stream.confirm(transaction.commitLsn);
    } else if (entry.skipped) {
      this.stream.confirm(transaction.commitLsn);
    } else {
      // Nothing to apply: confirmed once recorded (see #ackIdle).
      this.#ackable = Math.max(this.#ackable, transaction.commitLsn);
    }
    if (this.#inFlight.length === 0) this.#overlay.clear();
    for (const pending of entry.completed) {
      await this.#state.update((s) => ({
        ...s,
        tables: { ...s.tables, [pending.table]: { oid: pending.info!.oid, keyColumns: [...pending.keyColumns], columns: [...pending.info!.columns], syncedAt: formatLsn(transaction.commitLsn) } },
      }));
      this.logger.info({ table: pending.table, at: formatLsn(transaction.commitLsn), rows: pending.rows?.size ?? 0, heldAside: pending.held.length }, 'table synced');
      for (const w of this.#waiters.get(pending.table) ?? []) w.resolve();
      this.#waiters.delete(pending.table);
    }
    for (const id of entry.pings) this.#pings.get(id)?.();
    if (this.#inFlight.length === 0 && this.stream.backlog === 0) this.#idle = true;
  }

  /**
   * Confirms stretches with nothing to apply (markers, tables not followed,
   * keepalives while idle): first records them as `ackedThrough`, so that a
   * restart does not take the slot's position for a gap.
   */
  async #ackIdle(): Promise<void> {
    const mirror = this.#mirror();
    if (!mirror) return;
    let target = this.#ackable;
    // A keepalive says everything before its position was sent: if all of it is applied, it is safe.
    if (this.#idle && this.stream.backlog === 0 && this.stream.keepaliveLsn > 0) target = Math.max(target, this.stream.keepaliveLsn - 1);
    if (target <= Math.max(this.stream.confirmed, mirror.position)) return;
    if (!this.#idle && target > this.#ackable) target = this.#ackable;
    await this.#state.update((s) => ({ ...s, ackedThrough: formatLsn(Math.max(target, parseLsn(s.ackedThrough))) }));
    this.stream.confirm(target);
  }

  /** A change message as the runtime's changes (an update that changes the key: a delete and an insert). */
  #changesOf(table: string, message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete, mirror: TableStore): Change[] {
    const keyColumns = mirror.keyColumnsOf(table);
    // Rows as the transactions handed over but not yet applied leave them (the row store lags behind).
    const overlay = this.#overlay;
    const current = (key: string): Row | undefined => {
      const o = overlay.get(`${table}\u0000${key}`);
      return o === null ? undefined : (o ?? mirror.get(table, key));
    };
    const set = (key: string, row: Row | null): void => void overlay.set(`${table}\u0000${key}`, row);
    switch (message.tag) {
      case 'insert': {
        const row = defined(message.new);
        const key = rowKey(row, keyColumns);
        if (key !== null) set(key, row);
        return [{ op: 'insert', table, row }];
      }
      case 'update': {
        const row = defined(message.new);
        const newKey = rowKey(row, keyColumns);
        const old = message.key ?? message.old;
        const oldKey = old ? rowKey(old, keyColumns) : null;
        if (oldKey !== null && newKey !== null && oldKey !== newKey) {
          // The key changed: the old row goes, the new one comes (unchanged TOASTed columns from the old row).
          const merged = { ...current(oldKey), ...row };
          set(oldKey, null);
          set(newKey, merged);
          return [
            { op: 'delete', table, row: defined(old!) },
            { op: 'insert', table, row: merged },
          ];
        }
        if (newKey !== null) set(newKey, { ...current(newKey), ...row });
        return [{ op: 'update', table, row }];
      }
      case 'delete': {
        const row = defined(message.key ?? message.old ?? {});
        const key = rowKey(row, keyColumns);
        if (key !== null) set(key, null);
        return [{ op: 'delete', table, row }];
      }
    }
  }

  /** The sync transaction's changes: the table as of the marker, against what the row store holds. */
  #syncChanges(pending: PendingSync, mirror: TableStore): Change[] {
    const rows = new Map(pending.rows!);
    const snapshot = pending.snapshot!;
    for (const { xid, message } of pending.held) {
      if (snapshot.sees(xid)) continue; // the query saw it already
      if (message.tag === 'truncate') {
        rows.clear();
        continue;
      }
      if (message.tag !== 'insert' && message.tag !== 'update' && message.tag !== 'delete') continue;
      const keys = keysOf(message, pending.keyColumns);
      if (message.tag === 'delete') {
        for (const key of keys) rows.delete(key);
        continue;
      }
      const row = defined(message.new);
      const newKey = rowKey(row, pending.keyColumns);
      if (newKey === null) continue;
      const previous = keys.map((k) => rows.get(k)).find((r) => r !== undefined);
      for (const key of keys) if (key !== newKey) rows.delete(key);
      rows.set(newKey, message.tag === 'update' ? { ...previous, ...row } : row);
    }
    const changes: Change[] = [];
    for (const row of rows.values()) changes.push({ op: 'insert', table: pending.table, row });
    for (const { key, row } of mirror.rows(pending.table)) {
      if (!rows.has(key)) changes.push({ op: 'delete', table: pending.table, row });
    }
    return changes;
  }

  #fatal(error: Error): void {
    if (this.#stopping) return;
    this.logger.error({ err: error.message }, 'Postgres source stopped on an error');
    void this.stop().finally(() => this.#options.onFatal?.(error));
  }
}

function defined(row: Record<string, unknown>): Row {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (v !== undefined) out[k] = v;
  return out;
}

function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  const { [key]: _gone, ...rest } = record;
  return rest;
}
