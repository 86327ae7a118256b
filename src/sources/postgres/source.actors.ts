/**
 * The Postgres source's actors, one per activity the statechart runs
 * (source.machine.ts): connecting, preparing the slot and publication, the
 * stream and the apply loop (long-running, as callbacks), reconcile, a
 * table's sync, the schema check, the idle acknowledgement, catching up, and
 * the shutdown. Each is thin: the work is in the modules it calls.
 */
import { fromCallback, fromPromise } from 'xstate';
import type { AnyActorRef } from 'xstate';
import type { RuntimeLogger } from '../../logging/runtime-logger.ts';
import type { ShapeRuntime } from '../../runtime/index.ts';
import { idleAckTarget, slotMovedOn } from './acknowledgement.ts';
import { ApplyLoop } from './apply-loop.ts';
import { connect, type Connection } from './connection.ts';
import { PostgresSourceError } from './errors.ts';
import { FollowedTables } from './followed-tables.ts';
import { formatLsn, parseLsn } from './lsn.ts';
import { newReadStats } from './as-of-reader.ts';
import { writeMarker } from './marker.ts';
import { pause } from './pause.ts';
import { checkSchema, reconcile, restoreSynced } from './reconcile.ts';
import { ensurePublication, ensureSlot, publishedTables, type Replication } from './slot-and-publication.ts';
import { RecentXids, requireRuntime, type PostgresSourceOptions, type SourceCore } from './source-core.ts';
import type { SourceEvent, StreamStart } from './source.types.ts';
import { ReplicationStream } from './stream.ts';
import { isSynced } from './table-follow.ts';
import { startSync } from './table-sync.ts';

type CoreInput = { readonly core: SourceCore };

export const connectActor = fromPromise<Connection, { readonly options: PostgresSourceOptions; readonly logger: RuntimeLogger }>(({ input }) =>
  connect({ ...input.options, logger: input.logger }),
);

/** The resources the actors share, once connected; `self` hears of tables that need reconciling. */
export function buildCore(options: PostgresSourceOptions, logger: RuntimeLogger, connection: Connection, self: AnyActorRef): SourceCore {
  const { pool, server, state, catalog } = connection;
  const replication: Replication = { pool, server, databaseUrl: options.databaseUrl, slot: state.slot, publication: state.publication };
  const stopper = new AbortController();
  const stream = new ReplicationStream({
    connectionString: options.databaseUrl,
    slot: state.slot,
    publication: state.publication,
    logger,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    onFatal: (error) => self.send({ type: 'STREAM.FAILED', error } satisfies SourceEvent),
  });
  const tables = new FollowedTables();
  const recentXids = new RecentXids();
  const core: SourceCore = {
    options,
    logger,
    replication,
    server,
    state,
    catalog,
    stream,
    tables,
    recentXids,
    stopper,
    runtime: null,
    reader: { pool, stream, logger, signal: stopper.signal, recentXids: (lsn) => recentXids.through(lsn) },
    reads: { snapshots: newReadStats(), moveIns: newReadStats() },
    tablesChanged: () => self.send({ type: 'TABLES.CHANGED' } satisfies SourceEvent),
  };
  return core;
}

/**
 * `starting`: the publication and the slot (created when missing), the tables the data dir
 * recorded as synced; every table is read again when the slot moved past what the data dir knows.
 */
export const prepareActor = fromPromise<StreamStart, CoreInput>(async ({ input: { core } }) => {
  const position = requireRuntime(core).rowStore()?.position;
  if (position === undefined) throw new PostgresSourceError('protocol', 'the runtime has no row store (a dry run?)');
  await ensurePublication(core.replication);
  const slot = await ensureSlot(core.replication);
  const moved = slot.created ? position > 0 || core.state.syncedTables().length > 0 : slotMovedOn(slot.confirmed, position, parseLsn(core.state.ackedThrough)) && core.state.syncedTables().length > 0;
  if (moved) {
    const why = slot.created ? 'replication slot was missing: created it' : 'the slot moved past what this data dir applied';
    core.logger.warn({ slot: core.replication.slot, slotConfirmed: formatLsn(slot.confirmed), position: formatLsn(position) }, `${why}; every table is synced again`);
    await core.state.update((s) => ({ ...s, tables: {} }));
  }
  await restoreSynced(core);
  for (const table of await publishedTables(core.replication)) core.tables.published.add(table);
  return { after: position, confirmed: Math.max(position, slot.confirmed - 1) };
});

/** The replication stream, for as long as the source runs: started here, stopped when the state is left. */
export const streamActor = fromCallback<SourceEvent, CoreInput & { readonly start: StreamStart }>(({ input, sendBack }) => {
  const { core, start } = input;
  core.stream.start(start.after, start.confirmed).then(
    () => {
      core.logger.info({ slot: core.replication.slot, publication: core.replication.publication, after: formatLsn(start.after) }, 'replication stream started');
      sendBack({ type: 'STREAM.STARTED' });
    },
    (error: unknown) => sendBack({ type: 'STREAM.FAILED', error: asError(error) }),
  );
  return () => void core.stream.stop();
});

/** The apply loop, while following: leaving `following` stops it taking transactions (what is in flight finishes). */
export const applyLoopActor = fromCallback<SourceEvent, { readonly loop: ApplyLoop }>(({ input, sendBack }) => {
  input.loop.done = input.loop.run().catch((error: unknown) => sendBack({ type: 'APPLY.FAILED', error: asError(error) }));
  return () => input.loop.stop();
});

/** The runtime's shape events, while following: each may change the tables to follow. */
export const shapeEventsActor = fromCallback<SourceEvent, { readonly runtime: ShapeRuntime }>(({ input, sendBack }) => {
  const changed = (): void => sendBack({ type: 'SHAPES.CHANGED' });
  const subscriptions = [input.runtime.actor.on('SHAPE.ADDED', changed), input.runtime.actor.on('SHAPE.REMOVED', changed)];
  return () => subscriptions.forEach((s) => s.unsubscribe());
});

export const reconcileActor = fromPromise<string[], CoreInput>(({ input }) => reconcile(input.core));

export const syncTableActor = fromPromise<void, CoreInput & { readonly table: string }>(({ input }) => startSync(input.core, input.table));

export const checkSchemaActor = fromPromise<void, CoreInput>(({ input }) => checkSchema(input.core));

/** Confirms a stretch with nothing to apply, recorded first as `ackedThrough` (acknowledgement.ts). */
export const acknowledgeIdleActor = fromPromise<void, CoreInput & { readonly loop: ApplyLoop }>(async ({ input: { core, loop } }) => {
  const rows = core.runtime?.rowStore();
  if (!rows) return;
  const target = idleAckTarget({ ackable: loop.ackable, idle: loop.idle, keepaliveLsn: core.stream.keepaliveLsn, confirmed: core.stream.confirmed, position: rows.position });
  if (target === null) return;
  await core.state.update((s) => ({ ...s, ackedThrough: formatLsn(Math.max(target, parseLsn(s.ackedThrough))) }));
  core.stream.confirm(target);
});

/** Caught up: everything committed before following began is applied, and every table the shapes read is synced. */
export const catchUpActor = fromPromise<number, CoreInput & { readonly loop: ApplyLoop }>(async ({ input: { core, loop } }) => {
  const id = `ping:start:${Date.now()}`;
  const seen = loop.onPing(id);
  await writeMarker(core.replication.pool, id);
  await seen;
  for (;;) {
    const waiting = [...(core.runtime?.shapes.tables() ?? [])].filter((t) => !isSynced(core.tables.get(t)) && core.tables.get(t).state !== 'unfollowable' && core.tables.get(t).state !== 'failing');
    if (waiting.length === 0) return requireRuntime(core).rowStore()?.position ?? 0;
    await Promise.all(waiting.map((t) => core.tables.waitForSync(t).catch(() => undefined)));
  }
});

/**
 * `stopping`: what was handed to the runtime finishes (within the grace period), then the
 * stream and the connections close; every wait still open is refused and every timer ends.
 */
export const shutDownActor = fromPromise<void, { readonly core: SourceCore | null; readonly loop: ApplyLoop | null; readonly graceMs: number }>(async ({ input: { core, loop, graceMs } }) => {
  if (!core) return;
  if (loop) {
    loop.stop();
    const grace = new AbortController();
    await Promise.race([loop.done, pause(graceMs, grace.signal)]);
    grace.abort();
  }
  core.stopper.abort();
  await core.stream.stop();
  core.tables.reject(null, new PostgresSourceError('stopped', 'the Postgres source was stopped'));
  await core.replication.pool.end().catch(() => undefined);
});

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
