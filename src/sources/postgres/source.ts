/**
 * The Postgres source: the runtime's transactions from logical replication
 * (pgoutput), a publication kept to exactly the live shapes' tables, the row
 * store reading the database instead of keeping a copy of it, and
 * schema changes turned into shape removals.
 *
 * This is its promise facade; the statechart (source.machine.ts) runs it and
 * the modules beside it do the work: connection.ts, slot-and-publication.ts,
 * apply-loop.ts (stream -> runtime), pgoutput-changes.ts, table-follow.ts
 * (each table's follow state), table-sync.ts, reconcile.ts, acknowledgement.ts
 * (what may be confirmed), pg-row-store.ts with as-of-reader.ts (the rows,
 * read from the database as of the runtime's position).
 *
 * Positions. The runtime's transaction id is the commit LSN. A transaction
 * is confirmed to the slot only once `applyTransaction` resolved; a restart
 * resumes the stream after the runtime's position, and a transaction already
 * applied is skipped by the runtime (`xid <= position`).
 */
import type pg from 'pg';
import { createActor, waitFor, type Actor } from 'xstate';
import type { AddedShape, ShapeRuntime } from '../../runtime/index.ts';
import { normalizeShape, type ShapeDefinition } from '../../shapes/definition.ts';
import { loadSqlParser } from '../../shapes/where/sql-parser.ts';
import type { RowStoreOpener } from '../../storage/rows/row-store.ts';
import type { ReadStats } from './as-of-reader.ts';
import { PostgresRowStore } from './pg-row-store.ts';
import { readableAt } from './table-follow.ts';
import type { TableInfo } from './catalog.ts';
import type { TableColumnTypes } from '../../shapes/column-types.ts';
import { definitionProblem, tablesOf } from './definition-check.ts';
import { describeTarget, PostgresSourceError } from './errors.ts';
import { formatLsn } from './lsn.ts';
import { writeMarker } from './marker.ts';
import { pause } from './pause.ts';
import { requireRuntime, type PostgresSourceOptions, type SourceCore } from './source-core.ts';
import { postgresSourceMachine } from './source.machine.ts';
import { sourceReadView } from './source-read-view.ts';
import type { ApplyLoop } from './apply-loop.ts';

export type { PostgresSourceOptions } from './source-core.ts';

export interface PostgresSourceStatus {
  /** The lifecycle state: connected, starting, following, stopping, stopped, failed. */
  readonly state: string;
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
  /**
   * Set once everything committed before following began is applied and every table the shapes
   * read is synced: the position then, and the milliseconds since the source was created
   * (serve's start) and since following began.
   */
  readonly caughtUp: { readonly position: string; readonly sinceStartMs: number; readonly followingMs: number } | null;
  /** The row store's reads of the database for move-ins... */
  readonly moveIns: ReadStats;
  /** ...and for new shapes' snapshots and resyncs. */
  readonly snapshots: ReadStats;
}

type SourceActor = Actor<typeof postgresSourceMachine>;

export class PostgresSource {
  readonly #actor: SourceActor;
  readonly #core: SourceCore;
  readonly #loop: ApplyLoop;

  private constructor(actor: SourceActor, core: SourceCore, loop: ApplyLoop) {
    this.#actor = actor;
    this.#core = core;
    this.#loop = loop;
  }

  /**
   * Connects and checks the server (reachable, `wal_level = logical`, the role
   * may replicate), opens the source's state in the data dir, and reads the
   * tables' primary keys. Errors are PostgresSourceErrors with a clear message.
   */
  static async connect(options: PostgresSourceOptions): Promise<PostgresSource> {
    const actor = createActor(postgresSourceMachine, { input: { options }, systemId: 'postgresSource' });
    // The source reports its own failures (onFatal, rejected calls): an actor error must not crash the host.
    actor.subscribe({ error: () => undefined });
    actor.start();
    const snapshot = await waitFor(actor, (s) => s.value !== 'connecting', { timeout: Infinity });
    const view = sourceReadView(snapshot);
    if (snapshot.status === 'done' || !view.connection) throw view.failure ?? new PostgresSourceError('stopped', 'the Postgres source stopped while connecting');
    const source = new PostgresSource(actor, view.connection.core, view.connection.loop);
    actor.subscribe({
      complete: () => {
        const { failure } = sourceReadView(actor.getSnapshot());
        // A failure while starting is the caller's (start() rejects); after that, the host hears of it here.
        if (failure && source.#following) options.onFatal?.(failure);
      },
    });
    return source;
  }

  #started = false;
  #following = false;

  get slot(): string {
    return this.#core.replication.slot;
  }

  get publication(): string {
    return this.#core.replication.publication;
  }

  /** The source's connections to the database (for catalog reads beside it: column types). */
  get pool(): pg.Pool {
    return this.#core.replication.pool;
  }

  /**
   * What to pass to createShapeRuntime as `rowStore`: the runtime's row store keeps no copy
   * of the tables; it reads the database as of the runtime's position (pg-row-store.ts).
   */
  rowStoreOpener(): RowStoreOpener {
    const core = this.#core;
    return async ({ keyColumns, columnTypes }) => {
      const store: PostgresRowStore = await PostgresRowStore.open({
        dataDir: core.options.stateDir,
        keyColumns,
        ...(columnTypes ? { columnTypes } : {}),
        reads: { host: core.reader, stats: core.reads, catalog: core.catalog, inStep: (table) => readableAt(core.tables.get(table), store.position), shapes: () => core.runtime?.shapes ?? null },
      });
      return store;
    };
  }

  /**
   * Key columns to create the runtime with: every table's primary key, except
   * tables the data dir followed already (their recorded key stands; a changed
   * key is a schema change, found when the source starts).
   */
  runtimeKeyColumns(): Record<string, readonly string[]> {
    const out: Record<string, readonly string[]> = {};
    for (const info of this.#core.catalog.tables()) if (info.keyColumns.length > 0) out[info.table] = info.keyColumns;
    for (const table of this.#core.state.syncedTables()) out[table] = this.#core.state.synced(table)!.keyColumns;
    return out;
  }

  /** Column types to create the runtime with: every table's, from the catalog. */
  runtimeColumnTypes(): Record<string, TableColumnTypes> {
    return Object.fromEntries([...this.#core.catalog.tables()].map((info) => [info.table, info.types]));
  }

  /** Starts following the database for this runtime (created with `rowStoreOpener()` and `runtimeKeyColumns()`). */
  async start(runtime: ShapeRuntime): Promise<void> {
    if (this.#started) throw new Error('the source is started already');
    this.#started = true;
    this.#actor.send({ type: 'RUNTIME.ATTACHED', runtime });
    const snapshot = await waitFor(this.#actor, (s) => s.matches({ replicating: 'following' }) || s.status === 'done' || s.matches({ replicating: 'stopping' }), { timeout: Infinity });
    if (!snapshot.matches({ replicating: 'following' })) {
      const { failure } = sourceReadView(snapshot);
      await this.stop();
      throw failure ?? new PostgresSourceError('stopped', 'the Postgres source was stopped while starting');
    }
    this.#following = true;
  }

  /**
   * Adds a shape: checks it against the catalog (its tables exist and can be
   * followed, the columns it names exist), declares its tables' keys (so its
   * consumer is spawned with them), adds it, and resolves once every table it
   * reads is synced (its log holds the table's current rows).
   */
  async add(definition: ShapeDefinition | Record<string, unknown>): Promise<AddedShape> {
    const runtime = requireRuntime(this.#core);
    await loadSqlParser();
    const normalized = normalizeShape(definition).definition;
    const tables = tablesOf(normalized);
    const infos = new Map<string, TableInfo | null>();
    for (const table of tables) infos.set(table, await this.#core.catalog.refresh(table));
    const problem = definitionProblem(normalized, (table) => infos.get(table) ?? null, describeTarget(this.#core.options.databaseUrl));
    if (problem) throw new PostgresSourceError('definition-refused', problem);
    for (const table of tables) {
      runtime.rowStore()!.declareKeyColumns(table, infos.get(table)!.keyColumns);
      runtime.rowStore()!.declareColumnTypes(table, infos.get(table)!.types);
      // Refused before because it could not be followed; now it can: the next reconcile syncs it.
      if (this.#core.tables.get(table).state === 'unfollowable') this.#core.tables.set(table, { state: 'unpublished' });
    }
    const added = await runtime.add(definition);
    await this.waitForSync(tables);
    return added;
  }

  /** Resolves once the given tables (default: every live shape's) are synced. */
  async waitForSync(tables?: readonly string[]): Promise<void> {
    this.#refuseWhenStopped();
    const wanted = tables ?? [...(this.#core.runtime?.shapes.tables() ?? [])];
    await Promise.all(wanted.map((table) => this.#core.tables.waitForSync(table)));
  }

  /**
   * Resolves once everything committed in the database before the call has
   * been applied (or skipped): a marker is written and waited for.
   */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    this.#refuseWhenStopped();
    const loop = this.#loop;
    const id = `ping:${Date.now()}:${Math.random().toString(16).slice(2)}`;
    const seen = loop.onPing(id);
    const timer = new AbortController();
    try {
      await writeMarker(this.#core.replication.pool, id);
      const outcome = await Promise.race([
        seen.then(() => 'seen' as const),
        pause(timeoutMs, timer.signal).then(() => 'timeout' as const),
        waitFor(this.#actor, (s) => s.status === 'done' || s.matches({ replicating: 'stopping' }), { timeout: Infinity, signal: timer.signal }).then(() => 'stopped' as const, () => 'seen' as const),
      ]);
      if (outcome === 'timeout') throw new Error(`not caught up after ${timeoutMs} ms (${JSON.stringify(this.status())})`);
      if (outcome === 'stopped') throw new PostgresSourceError('stopped', 'the Postgres source is stopped');
    } finally {
      timer.abort();
      loop.forgetPing(id);
    }
  }

  status(): PostgresSourceStatus {
    const view = sourceReadView(this.#actor.getSnapshot());
    const { tables, stream, reads, runtime } = this.#core;
    return {
      state: view.state,
      slot: this.slot,
      publication: this.publication,
      position: formatLsn(runtime?.rowStore()?.position ?? 0),
      confirmed: formatLsn(stream.confirmed),
      backlog: stream.backlog,
      synced: tables.inState('synced').sort(),
      syncing: tables.inState('syncing').sort(),
      unfollowable: tables
        .inState('unfollowable')
        .sort()
        .map((table) => {
          const s = tables.get(table);
          return { table, reason: s.state === 'unfollowable' ? s.reason : '' };
        }),
      caughtUp: view.caughtUp ? { ...view.caughtUp, position: formatLsn(view.caughtUp.position) } : null,
      moveIns: { ...reads.moveIns },
      snapshots: { ...reads.snapshots },
    };
  }

  /**
   * Stops following: no new transaction is handed to the runtime; the ones in
   * flight are let finish (within `graceMs`; the stream keeps running
   * meanwhile: a move-in may be waiting for its marker), then the stream and
   * connections close, and nothing the source started is left running. Call
   * before `runtime.shutdown()`.
   */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.#actor.getSnapshot().status === 'active') this.#actor.send({ type: 'STOP.REQUESTED', graceMs });
    await waitFor(this.#actor, (s) => s.status === 'done', { timeout: Infinity });
  }

  #refuseWhenStopped(): void {
    const snapshot = this.#actor.getSnapshot();
    if (snapshot.status === 'done' || snapshot.matches({ replicating: 'stopping' }) || snapshot.matches('stopping')) {
      throw new PostgresSourceError('stopped', 'the Postgres source is stopped');
    }
  }
}
