/**
 * The Postgres source's statechart. It connects (and checks the server),
 * waits for the runtime it feeds, prepares the slot and the publication, and
 * opens the stream; then, while following, four regions run side by side:
 * the apply loop (stream -> runtime, invoked), the control region (reconcile
 * the publication with the live shapes, sync one table at a time, check the
 * schema when due; a failure waits in `retrying` with backoff), the schema
 * clock, and the idle acknowledgement. Stopping lets what is in flight finish,
 * then closes the stream and the connections.
 */
import { assign, raise, setup } from 'xstate';
import { silentLogger } from '../../logging/runtime-logger.ts';
import { ApplyLoop } from './apply-loop.ts';
import {
  acknowledgeIdleActor,
  applyLoopActor,
  buildCore,
  catchUpActor,
  checkSchemaActor,
  connectActor,
  prepareActor,
  reconcileActor,
  shapeEventsActor,
  shutDownActor,
  streamActor,
  syncTableActor,
} from './source.actors.ts';
import type { Connection } from './connection.ts';
import { formatLsn } from './lsn.ts';
import type { SourceContext, SourceEvent, SourceInput, StreamStart } from './source.types.ts';

const IDLE_ACK_MS = 2_000;

export const postgresSourceMachine = setup({
  types: {
    context: {} as SourceContext,
    events: {} as SourceEvent,
    input: {} as SourceInput,
  },
  actors: {
    connect: connectActor,
    prepare: prepareActor,
    stream: streamActor,
    applyLoop: applyLoopActor,
    shapeEvents: shapeEventsActor,
    reconcile: reconcileActor,
    syncTable: syncTableActor,
    checkSchema: checkSchemaActor,
    acknowledgeIdle: acknowledgeIdleActor,
    catchUp: catchUpActor,
    shutDown: shutDownActor,
  },
  delays: {
    schemaPoll: ({ context }) => context.options.schemaPollMs ?? 5_000,
    idleAck: IDLE_ACK_MS,
    /** Reconcile again after a failure: 250 ms doubling up to 10 s. */
    controlRetry: ({ context }) => Math.min(10_000, 250 * 2 ** Math.min(context.controlFailures, 6)),
  },
  guards: {
    schemaPollEnabled: ({ context }) => (context.options.schemaPollMs ?? 5_000) > 0,
    reconcileWanted: ({ context }) => context.reconcileWanted,
    schemaCheckDue: ({ context }) => context.schemaCheckDue,
    syncQueued: ({ context }) => context.syncQueue.length > 0,
    failed: ({ context }) => context.failure !== null,
  },
  actions: {
    storeConnection: assign(({ context, event, self }) => {
      const connection = (event as unknown as { output: Connection }).output;
      const core = buildCore(context.options, context.logger, connection, self);
      return { core, loop: new ApplyLoop(core) };
    }),
    attachRuntime: ({ context, event }) => {
      if (event.type === 'RUNTIME.ATTACHED') context.core!.runtime = event.runtime;
    },
    storeStreamStart: assign({ streamStart: ({ event }) => (event as unknown as { output: StreamStart }).output }),
    beginFollowing: assign({ followingSince: () => Date.now() }),
    noteReconcileWanted: assign({ reconcileWanted: true }),
    noteSchemaCheckDue: assign({ schemaCheckDue: true }),
    clearReconcileWanted: assign({ reconcileWanted: false }),
    clearSchemaCheckDue: assign({ schemaCheckDue: false }),
    queueSyncs: assign({ syncQueue: ({ event }) => (event as unknown as { output: string[] }).output }),
    dequeueSync: assign({ syncQueue: ({ context }) => context.syncQueue.slice(1) }),
    noteControlSuccess: assign({ controlFailures: 0 }),
    noteControlFailure: assign({ controlFailures: ({ context }) => context.controlFailures + 1, syncQueue: [] }),
    logControlFailure: ({ context, event }) =>
      context.logger.warn({ err: errorText(event), retryInMs: Math.min(10_000, 250 * 2 ** Math.min(context.controlFailures, 6)) }, 'Postgres source: control task failed: retrying'),
    raiseSchemaCheckDue: raise({ type: 'SCHEMA.CHECK_DUE' }),
    noteCaughtUp: assign({
      caughtUp: ({ context, event }) => ({
        position: (event as unknown as { output: number }).output,
        sinceStartMs: Date.now() - context.startedAt,
        followingMs: Date.now() - (context.followingSince ?? Date.now()),
      }),
    }),
    logCaughtUp: ({ context }) =>
      context.logger.info({ position: formatLsn(context.caughtUp?.position ?? 0), sinceStartMs: context.caughtUp?.sinceStartMs, followingMs: context.caughtUp?.followingMs }, 'caught up'),
    noteStop: assign({ stopGraceMs: ({ event }) => (event.type === 'STOP.REQUESTED' ? event.graceMs : 15_000) }),
    noteFailure: assign({ failure: ({ event }) => ('error' in event ? (event.error as Error) : new Error(errorText(event))) }),
    logFailure: ({ context }) => context.logger.error({ err: context.failure?.message }, 'Postgres source stopped on an error'),
  },
}).createMachine({
  id: 'postgresSource',
  context: ({ input }) => ({
    options: input.options,
    logger: input.options.logger ?? silentLogger,
    core: null,
    loop: null,
    streamStart: null,
    syncQueue: [],
    reconcileWanted: false,
    schemaCheckDue: false,
    controlFailures: 0,
    startedAt: Date.now(),
    followingSince: null,
    caughtUp: null,
    stopGraceMs: 15_000,
    failure: null,
  }),
  initial: 'connecting',
  states: {
    connecting: {
      invoke: {
        id: 'connect',
        systemId: 'postgres:connect',
        src: 'connect',
        input: ({ context }) => ({ options: context.options, logger: context.logger }),
        onDone: { target: 'connected', actions: 'storeConnection' },
        onError: { target: 'failed', actions: 'noteFailure' },
      },
    },
    connected: {
      on: {
        'RUNTIME.ATTACHED': { target: 'starting', actions: 'attachRuntime' },
        'STOP.REQUESTED': { target: 'stopping', actions: 'noteStop' },
      },
    },
    starting: {
      invoke: {
        id: 'prepare',
        systemId: 'postgres:prepare',
        src: 'prepare',
        input: ({ context }) => ({ core: context.core! }),
        onDone: { target: 'replicating', actions: 'storeStreamStart' },
        onError: { target: 'stopping', actions: 'noteFailure' },
      },
      on: { 'STOP.REQUESTED': { target: 'stopping', actions: 'noteStop' } },
    },
    replicating: {
      invoke: { id: 'stream', systemId: 'postgres:stream', src: 'stream', input: ({ context }) => ({ core: context.core!, start: context.streamStart! }) },
      initial: 'opening',
      states: {
        opening: {
          on: {
            'STREAM.STARTED': 'following',
            'STREAM.FAILED': { target: 'stopping', actions: 'noteFailure' },
            'STOP.REQUESTED': { target: 'stopping', actions: 'noteStop' },
          },
        },
        following: {
          type: 'parallel',
          entry: 'beginFollowing',
          invoke: [
            { id: 'applyLoop', systemId: 'postgres:applyLoop', src: 'applyLoop', input: ({ context }) => ({ loop: context.loop! }) },
            { id: 'shapeEvents', systemId: 'postgres:shapeEvents', src: 'shapeEvents', input: ({ context }) => ({ runtime: context.core!.runtime! }) },
          ],
          on: {
            'STOP.REQUESTED': { target: 'stopping', actions: 'noteStop' },
            'STREAM.FAILED': { target: 'stopping', actions: ['noteFailure', 'logFailure'] },
            'APPLY.FAILED': { target: 'stopping', actions: ['noteFailure', 'logFailure'] },
            'SHAPES.CHANGED': { actions: 'noteReconcileWanted' },
            'TABLES.CHANGED': { actions: 'noteReconcileWanted' },
            'SCHEMA.CHECK_DUE': { actions: 'noteSchemaCheckDue' },
          },
          states: {
            control: {
              initial: 'reconciling',
              states: {
                idle: {
                  always: [
                    { guard: 'reconcileWanted', target: 'reconciling' },
                    { guard: 'schemaCheckDue', target: 'checkingSchema' },
                  ],
                },
                reconciling: {
                  entry: 'clearReconcileWanted',
                  invoke: {
                    id: 'reconcile',
                    systemId: 'postgres:reconcile',
                    src: 'reconcile',
                    input: ({ context }) => ({ core: context.core! }),
                    onDone: { target: 'syncing', actions: 'queueSyncs' },
                    onError: { target: 'retrying', actions: ['logControlFailure', 'noteControlFailure'] },
                  },
                },
                syncing: {
                  always: [{ guard: 'syncQueued', target: 'syncingTable' }, { target: 'idle', actions: 'noteControlSuccess' }],
                },
                syncingTable: {
                  invoke: {
                    id: 'syncTable',
                    systemId: 'postgres:syncTable',
                    src: 'syncTable',
                    input: ({ context }) => ({ core: context.core!, table: context.syncQueue[0]! }),
                    onDone: { target: 'syncing', actions: 'dequeueSync' },
                    onError: { target: 'retrying', actions: ['logControlFailure', 'noteControlFailure'] },
                  },
                },
                checkingSchema: {
                  entry: 'clearSchemaCheckDue',
                  invoke: {
                    id: 'checkSchema',
                    systemId: 'postgres:checkSchema',
                    src: 'checkSchema',
                    input: ({ context }) => ({ core: context.core! }),
                    onDone: 'idle',
                    onError: { target: 'retrying', actions: ['logControlFailure', 'noteControlFailure'] },
                  },
                },
                retrying: { after: { controlRetry: 'reconciling' } },
              },
            },
            schemaClock: {
              initial: 'choosing',
              states: {
                choosing: { always: [{ guard: 'schemaPollEnabled', target: 'waiting' }, { target: 'off' }] },
                waiting: { after: { schemaPoll: { target: 'waiting', reenter: true, actions: 'raiseSchemaCheckDue' } } },
                off: {},
              },
            },
            acknowledgement: {
              initial: 'waiting',
              states: {
                waiting: { after: { idleAck: 'acknowledging' } },
                acknowledging: {
                  invoke: {
                    id: 'acknowledgeIdle',
                    systemId: 'postgres:acknowledgeIdle',
                    src: 'acknowledgeIdle',
                    input: ({ context }) => ({ core: context.core!, loop: context.loop! }),
                    onDone: 'waiting',
                    onError: 'waiting',
                  },
                },
              },
            },
            catchUp: {
              initial: 'catchingUp',
              states: {
                catchingUp: {
                  invoke: {
                    id: 'catchUp',
                    systemId: 'postgres:catchUp',
                    src: 'catchUp',
                    input: ({ context }) => ({ core: context.core!, loop: context.loop! }),
                    onDone: { target: 'caughtUp', actions: ['noteCaughtUp', 'logCaughtUp'] },
                    onError: 'retrying',
                  },
                },
                caughtUp: {},
                retrying: { after: { controlRetry: 'catchingUp' } },
              },
            },
          },
        },
        stopping: {
          invoke: {
            id: 'shutDown',
            systemId: 'postgres:shutDown',
            src: 'shutDown',
            input: ({ context }) => ({ core: context.core, loop: context.loop, graceMs: context.stopGraceMs }),
            onDone: [{ guard: 'failed', target: '#postgresSource.failed' }, { target: '#postgresSource.stopped' }],
            onError: '#postgresSource.failed',
          },
        },
      },
    },
    stopping: {
      invoke: {
        id: 'shutDown',
        systemId: 'postgres:shutDown',
        src: 'shutDown',
        input: ({ context }) => ({ core: context.core, loop: null, graceMs: 0 }),
        onDone: [{ guard: 'failed', target: 'failed' }, { target: 'stopped' }],
        onError: 'failed',
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});

function errorText(event: object): string {
  const error = (event as { error?: unknown }).error;
  return error instanceof Error ? error.message : String(error);
}
