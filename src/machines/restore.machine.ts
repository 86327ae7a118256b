import type { EventObject } from 'xstate';
import { tableColumnTypes } from '../shapes/column-types.ts';
import { removedWithStorage } from '../actors/commit-restore.actor.ts';
import { RuntimeShapes } from '../actors/runtime-shapes.ts';
import { silentLogger } from '../logging/runtime-logger.ts';
import * as restore from './restore.actions.ts';
import { runningState } from './running.machine.ts';
import { errorOf } from './event-payloads.ts';
import { RequestQueue } from './request-queue.ts';
import * as running from './running.actions.ts';
import { runtimeSetup } from './runtime.setup.ts';
import * as check from './storage-check.actions.ts';

const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

/**
 * The shape runtime's statechart. Both load paths (`loadingBackup`,
 * `loadingShapes`) end in `validatingDependencies`, which sends a CASCADE.STOP
 * for every shape that must go before anything runs; `spawning` then
 * registers the survivors, dependencies first, asleep: a kept shape starts its
 * actors when it wakes (running.machine.ts), its dependencies first, so no
 * actor ever points at a dependency that is not running. Requests that arrive
 * before `running` wait in a queue.
 */
export const shapeRuntimeMachine = runtimeSetup.createMachine({
  id: 'shapeRuntime',
  context: ({ input, self }) => ({
    storage: input.storage,
    policy: input.policy ?? 'validate',
    dryRun: input.dryRun ?? false,
    keyColumns: input.keyColumns ?? {},
    acceptTableDamage: input.acceptTableDamage ?? [],
    columnTypes: Object.fromEntries(Object.entries(input.columnTypes ?? {}).map(([table, types]) => [table, tableColumnTypes(types)])),
    maxShapes: input.maxShapes ?? null,
    moveInSource: input.moveInSource ?? null,
    openRows: input.rowStore ?? null,
    logger: input.logger ?? silentLogger,
    onProgress: input.onProgress,
    shapes: new RuntimeShapes(input.storage, self, {
      ...(input.restartIntensity ? { restartIntensity: input.restartIntensity } : {}),
      ...(input.consumerLogic ? { consumerLogic: input.consumerLogic } : {}),
    }),
    idleTimeoutMs: input.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    sleepCheckMs: input.sleepCheckMs ?? Math.min(30_000, Math.max(1_000, (input.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS) / 10)),
    fallbackReason: null,
    load: null,
    plan: null,
    kept: [],
    dependedOn: new Set(),
    phases: [],
    report: null,
    queue: RequestQueue.empty(),
    current: null,
    batch: [],
    removing: [],
    removingRequestId: null,
    storageCheck: check.NO_STORAGE_CHECK,
    failure: null,
  }),
  invoke: [
    // However the runtime ends, the actors it owns end with it.
    { id: 'ownedActors', src: 'ownedActors', input: ({ context }) => ({ shapes: context.shapes }) },
    // Its log lines: made from the events it emits.
    { id: 'runtimeLog', src: 'runtimeLog', input: ({ context, self }) => ({ runtime: self, logger: context.logger }) },
  ],
  initial: 'checkingBackup',
  on: {
    'SHAPE.ADD_REQUESTED': { actions: 'enqueueRequest' },
    'SHAPE.REMOVE_REQUESTED': { actions: 'enqueueRequest' },
    'CHECKPOINT.REQUESTED': { actions: 'enqueueRequest' },
    'SHUTDOWN.REQUESTED': { actions: 'enqueueRequest' },
    'TRANSACTION.RECEIVED': { actions: 'enqueueRequest' },
    'TRANSACTIONS.RECEIVED': { actions: 'enqueueRequest' },
    'SHAPE.USED': { actions: 'enqueueRequest' },
    'SHAPE.FAILED': { actions: 'enqueueRequest' },
    'SHAPE.EXPIRED': { actions: 'enqueueRequest' },
    'SHAPES.RESYNC_REQUESTED': { actions: 'enqueueRequest' },
    'xstate.error.actor.*': { actions: 'noteActorFailure' },
  },
  states: {
    checkingBackup: {
      entry: { type: 'enterPhase', params: { phase: 'checkingBackup' } },
      invoke: {
        id: 'checkBackup',
        src: 'checkBackup',
        input: ({ context }) => ({ storage: context.storage }),
        onDone: [
          { guard: { type: 'backupExists', params: ({ event }) => event.output }, target: 'loadingBackup' },
          { target: 'loadingShapes', actions: { type: 'noteFallback', params: ({ event }) => event.output } },
        ],
        onError: 'failed',
      },
    },
    loadingBackup: {
      entry: { type: 'enterPhase', params: { phase: 'loadingBackup' } },
      invoke: {
        id: 'loadBackup',
        src: 'loadBackup',
        input: ({ context }) => ({ storage: context.storage, readEverything: context.dryRun }),
        onDone: [
          { guard: { type: 'backupUsable', params: ({ event }) => event.output }, target: 'validatingDependencies', actions: { type: 'storeLoad', params: ({ event }) => event.output } },
          { target: 'loadingShapes', actions: { type: 'noteFallback', params: ({ event }) => event.output } },
        ],
        onError: 'failed',
      },
    },
    loadingShapes: {
      entry: { type: 'enterPhase', params: { phase: 'loadingShapes' } },
      invoke: {
        id: 'loadShapes',
        src: 'loadShapes',
        input: ({ context }) => ({ storage: context.storage, fallbackReason: context.fallbackReason, readEverything: context.dryRun }),
        onDone: { target: 'validatingDependencies', actions: { type: 'storeLoad', params: ({ event }) => event.output } },
        onError: 'failed',
      },
    },
    validatingDependencies: {
      entry: [{ type: 'enterPhase', params: { phase: 'validatingDependencies' } }, 'planRestore'],
      on: {
        'CASCADE.STOP': { actions: 'announceRestoreRemoval' },
        'CASCADE.SENT': [{ guard: 'isDryRun', target: 'planned' }, { target: 'committingRestore' }],
      },
    },
    committingRestore: {
      entry: { type: 'enterPhase', params: { phase: 'committingRestore' } },
      invoke: {
        id: 'commitRestore',
        src: 'commitRestore',
        input: ({ context }) => ({
          storage: context.storage,
          deleteHandles: removedWithStorage(context.plan!.removals),
          strays: context.load!.strays,
          tornLogs: context.load!.tornLogs,
          retireBackup: restore.backupDisposition(context),
          metadata: restore.metadataToRewrite(context),
          keyColumns: context.keyColumns,
          acceptTableDamage: context.acceptTableDamage,
          openRows: context.openRows,
          columnTypes: context.columnTypes,
        }),
        onDone: {
          target: 'spawning',
          actions: [
            { type: 'openRowStore', params: ({ event }) => event.output },
            { type: 'storeCommit', params: ({ event }) => event.output },
          ],
        },
        onError: 'failed',
      },
    },
    spawning: {
      entry: [{ type: 'enterPhase', params: { phase: 'spawning' } }, 'registerRestored'],
      always: 'running',
    },
    running: runningState,
    stopping: {
      entry: 'stopAllActors',
      invoke: {
        id: 'writeBackup',
        src: 'writeBackup',
        input: ({ context }) => running.backupInput(context),
        onDone: { target: 'stopped', actions: ['announceStopped', 'finishRequest', 'rejectQueuedRequests'] },
        onError: { target: 'failed' },
      },
    },
    stopped: { type: 'final' },
    planned: { type: 'final' },
    failed: {
      type: 'final',
      entry: [{ type: 'noteFailure', params: ({ event }: { event: EventObject }) => errorOf(event) }, 'stopAllActors', 'rejectQueuedRequests'],
    },
  },
  output: ({ context }) => restore.output(context),
});
