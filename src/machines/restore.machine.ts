import { assign, emit, enqueueActions, setup } from 'xstate';
import { tableColumnTypes } from '../shapes/column-types.ts';
import { ActorDirectory } from '../actors/actor-directory.ts';
import { commitRestoreActor, removedWithStorage } from '../actors/commit-restore.actor.ts';
import { createShapeActor } from '../actors/create-shape.actor.ts';
import { deleteShapesActor } from '../actors/delete-shapes.actor.ts';
import { checkBackupActor, loadBackupActor } from '../actors/load-backup.actor.ts';
import { loadShapesActor } from '../actors/load-shapes.actor.ts';
import { writeBackupActor } from '../actors/write-backup.actor.ts';
import { applyTransactionsActor } from '../actors/apply-transactions.actor.ts';
import { resyncShapesActor } from '../actors/resync-shapes.actor.ts';
import { checkStorageActor } from '../actors/check-storage.actor.ts';
import type { ShapeFileCheck } from '../restore/check-shape-files.ts';
import { ownedActorsActor } from '../actors/owned-actors.actor.ts';
import { silentLogger } from '../logging/runtime-logger.ts';
import { ShapeRegistry } from '../registry/shape-registry.ts';
import * as payload from './event-payloads.ts';
import * as restore from './restore.actions.ts';
import * as running from './running.actions.ts';
import * as check from './storage-check.actions.ts';
import type { RuntimeContext, RuntimeEmitted, RuntimeEvent, RuntimeOutput, ShapeRuntimeInput } from './runtime.types.ts';

/**
 * The shape runtime's statechart. Both load paths (`loadingBackup`,
 * `loadingShapes`) end in `validatingDependencies`, which sends a CASCADE.STOP
 * for every shape that must go before anything is spawned; `spawning` then
 * starts actors dependencies first, so no actor ever points at a dependency
 * that is not running. Requests that arrive before `running` wait in a queue.
 */
export const shapeRuntimeMachine = setup({
  types: {
    context: {} as RuntimeContext,
    events: {} as RuntimeEvent,
    input: {} as ShapeRuntimeInput,
    emitted: {} as RuntimeEmitted,
    output: {} as RuntimeOutput,
  },
  actors: {
    checkBackup: checkBackupActor,
    loadBackup: loadBackupActor,
    loadShapes: loadShapesActor,
    commitRestore: commitRestoreActor,
    createShape: createShapeActor,
    deleteShapes: deleteShapesActor,
    writeBackup: writeBackupActor,
    applyTransactions: applyTransactionsActor,
    resyncShapes: resyncShapesActor,
    ownedActors: ownedActorsActor,
    checkStorage: checkStorageActor,
  },
  guards: {
    backupExists: ({ event }) => payload.doneOutput<boolean>(event) === true,
    backupUsable: ({ event }) => payload.doneOutput<{ usable: boolean }>(event).usable,
    isDryRun: ({ context }) => context.dryRun,
    isRequestRefused: ({ event }) => payload.isRequestRefused(event),
    nextIsAdd: ({ context }) => context.queue[0]?.type === 'SHAPE.ADD_REQUESTED',
    nextIsRemovalOfRunningShape: ({ context }) => running.nextIsRemovalOf(context, true),
    nextIsRemovalOfUnknownShape: ({ context }) => running.nextIsRemovalOf(context, false),
    nextIsTransaction: ({ context }) => running.isTransactionRequest(context.queue[0]),
    nextIsUse: ({ context }) => context.queue[0]?.type === 'SHAPE.USED',
    nextIsCheckpoint: ({ context }) => context.queue[0]?.type === 'CHECKPOINT.REQUESTED',
    nextIsResync: ({ context }) => context.queue[0]?.type === 'SHAPES.RESYNC_REQUESTED',
    nextIsShutdown: ({ context }) => context.queue[0]?.type === 'SHUTDOWN.REQUESTED',
    storageCheckDue: ({ context }) => check.storageCheckDue(context),
    nextIsStorageCheckCompleted: ({ context }) => context.queue[0]?.type === 'STORAGE.CHECK_COMPLETED',
  },
  actions: {
    // pure: computed while transitioning
    enterPhase: assign(({ context }, params: restore.PhaseParam) => restore.enterPhase(context, params.phase)),
    enqueueRequest: assign(({ context, event }) => restore.enqueueRequest(context, event)),
    dequeueRequest: assign(({ context }) => ({ queue: context.queue.slice(1) })),
    noteFallback: assign(({ context, event }) => restore.noteFallback(context, event)),
    storeLoad: assign(({ event }) => restore.storeLoad(event)),
    planRestore: enqueueActions(({ context, enqueue }) => restore.planRestore(context, enqueue)),
    announceRestoreRemoval: enqueueActions(({ context, event, enqueue }) => restore.announceRemoval(context, event, 'restore', enqueue)),
    storeCommit: assign(({ context, event }) => restore.storeCommit(context, event)),
    completeRestore: enqueueActions(({ context, enqueue }) => restore.completeRestore(context, enqueue)),
    announceShapeAdded: emit(({ context, event }) => running.shapeAdded(context, event)),
    rejectRequest: enqueueActions(({ context, event, enqueue }) => running.rejectRequest(context, event, enqueue)),
    dropStaleRemoval: enqueueActions(({ context, enqueue }) => running.dropStaleRemoval(context, enqueue)),
    evictOverLimit: assign(({ context }) => running.evictOverLimit(context)),
    finishTransactions: enqueueActions(({ context, event, enqueue }) => running.finishTransactions(context, event, enqueue)),
    finishResync: enqueueActions(({ context, event, enqueue }) => running.finishResync(context, event, enqueue)),
    recordUse: enqueueActions(({ context, enqueue }) => running.recordUse(context, enqueue)),
    beginRemoval: enqueueActions(({ context, enqueue }) => running.beginRemoval(context, enqueue)),
    announceRunningRemoval: enqueueActions(({ context, event, enqueue }) => restore.announceRemoval(context, event, 'running', enqueue)),
    announceRemovalDone: emit(({ context }) => running.removalDone(context)),
    clearRemoval: assign({ removing: [], removingRequestId: null }),
    announceCheckpoint: emit(({ context, event }) => running.checkpointWritten(context, event)),
    noteActorFailure: enqueueActions(({ context, event, enqueue }) => running.noteActorFailure(context, event, enqueue)),
    announceStopped: emit(({ context }) => running.runtimeStopped(context)),
    rejectQueuedRequests: enqueueActions(({ context, enqueue }) => running.rejectQueued(context, 'runtime-stopped', enqueue)),
    noteFailure: assign(({ event }) => ({ failure: payload.errorText(event) })),
    startStorageCheck: assign(({ context }) => check.startStorageCheck(context)),
    recordCheckedChunk: enqueueActions(({ context, event, enqueue }) => check.recordCheckedChunk(context, payload.doneOutput<readonly ShapeFileCheck[]>(event), enqueue)),
    recordCheckRemoval: assign(({ context }) => check.recordCheckRemoval(context)),
    completeStorageCheck: enqueueActions(({ context, enqueue }) => check.completeStorageCheck(context, enqueue)),
    // effects: run only in a live actor
    spawnActors: ({ context }) => restore.spawnActors(context),
    registerAddedShapes: ({ context, event }) => running.registerAddedShapes(context, event),
    stopRemovedShape: ({ context, event }) => running.stopRemovedShape(context, event),
    touchUsedShape: ({ context }) => running.touchUsedShape(context),
    stopAllActors: ({ context }) => running.stopAllActors(context),
    logFailure: ({ context, event }) => context.logger.error({ err: payload.errorText(event) }, 'runtime failed'),
  },
}).createMachine({
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
    registry: new ShapeRegistry(),
    directory: new ActorDirectory(self, {
      ...(input.restartIntensity ? { restartIntensity: input.restartIntensity } : {}),
      ...(input.consumerLogic ? { consumerLogic: input.consumerLogic } : {}),
    }),
    rows: null,
    fallbackReason: null,
    load: null,
    plan: null,
    materializerLogs: new Map(),
    spawnOrder: [],
    phases: [],
    report: null,
    queue: [],
    removing: [],
    removingRequestId: null,
    storageCheck: check.NO_STORAGE_CHECK,
    failure: null,
  }),
  // However the runtime ends, the actors it owns end with it.
  invoke: { id: 'ownedActors', src: 'ownedActors', input: ({ context }) => ({ directory: context.directory, graph: context.registry.graph }) },
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
        onDone: [{ guard: 'backupExists', target: 'loadingBackup' }, { target: 'loadingShapes', actions: 'noteFallback' }],
        onError: 'failed',
      },
    },
    loadingBackup: {
      entry: { type: 'enterPhase', params: { phase: 'loadingBackup' } },
      invoke: {
        id: 'loadBackup',
        src: 'loadBackup',
        input: ({ context }) => ({ storage: context.storage, readEverything: context.dryRun }),
        onDone: [{ guard: 'backupUsable', target: 'validatingDependencies', actions: 'storeLoad' }, { target: 'loadingShapes', actions: 'noteFallback' }],
        onError: 'failed',
      },
    },
    loadingShapes: {
      entry: { type: 'enterPhase', params: { phase: 'loadingShapes' } },
      invoke: {
        id: 'loadShapes',
        src: 'loadShapes',
        input: ({ context }) => ({ storage: context.storage, fallbackReason: context.fallbackReason, readEverything: context.dryRun }),
        onDone: { target: 'validatingDependencies', actions: 'storeLoad' },
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
          materializerHandles: restore.materializerHandles(context),
          retireBackup: restore.backupDisposition(context),
          metadata: restore.metadataToRewrite(context),
          keyColumns: context.keyColumns,
          acceptTableDamage: context.acceptTableDamage,
          openRows: context.openRows,
          columnTypes: context.columnTypes,
        }),
        onDone: { target: 'spawning', actions: 'storeCommit' },
        onError: 'failed',
      },
    },
    spawning: {
      entry: [{ type: 'enterPhase', params: { phase: 'spawning' } }, 'spawnActors'],
      always: 'running',
    },
    running: {
      entry: ['completeRestore', 'startStorageCheck'],
      initial: 'idle',
      states: {
        idle: {
          always: [
            { guard: 'nextIsTransaction', target: 'applying' },
            { guard: 'nextIsAdd', target: 'adding' },
            { guard: 'nextIsRemovalOfRunningShape', target: 'removing' },
            { guard: 'nextIsRemovalOfUnknownShape', target: 'idle', reenter: true, actions: ['dropStaleRemoval', 'dequeueRequest'] },
            { guard: 'nextIsUse', target: 'idle', reenter: true, actions: ['touchUsedShape', 'recordUse', 'dequeueRequest'] },
            { guard: 'nextIsCheckpoint', target: 'checkpointing' },
            { guard: 'nextIsResync', target: 'resyncing' },
            { guard: 'nextIsShutdown', target: '#shapeRuntime.stopping' },
            { guard: 'nextIsStorageCheckCompleted', target: 'idle', reenter: true, actions: ['completeStorageCheck', 'dequeueRequest'] },
            { guard: 'storageCheckDue', target: 'checkingStorage' },
          ],
        },
        // The check after restore, one chunk at a time, only while no request waits.
        checkingStorage: {
          invoke: {
            id: 'checkStorage',
            src: 'checkStorage',
            input: ({ context }) => ({ storage: context.storage, shapes: check.nextCheckChunk(context) }),
            onDone: { target: 'idle', actions: 'recordCheckedChunk' },
            onError: '#shapeRuntime.failed',
          },
        },
        adding: {
          invoke: {
            id: 'createShape',
            src: 'createShape',
            input: ({ context }) => running.createShapeInput(context),
            onDone: { target: 'idle', actions: ['registerAddedShapes', 'announceShapeAdded', 'dequeueRequest', 'evictOverLimit'] },
            // A bad definition or a damaged table is refused before anything is written; a storage failure
            // part-way leaves disk and memory apart, so the runtime stops and the next restore reconciles.
            onError: [{ guard: 'isRequestRefused', target: 'idle', actions: ['rejectRequest', 'dequeueRequest'] }, { target: '#shapeRuntime.failed' }],
          },
        },
        removing: {
          initial: 'stoppingActors',
          states: {
            stoppingActors: {
              entry: 'beginRemoval',
              on: {
                'CASCADE.STOP': { actions: ['stopRemovedShape', 'announceRunningRemoval'] },
                'CASCADE.SENT': 'deletingStorage',
              },
            },
            deletingStorage: {
              invoke: {
                id: 'deleteShapes',
                src: 'deleteShapes',
                input: ({ context }) => ({ storage: context.storage, handles: context.removing.map((r) => r.handle) }),
                onDone: { target: '#shapeRuntime.running.idle', actions: ['announceRemovalDone', 'recordCheckRemoval', 'clearRemoval', 'dequeueRequest'] },
                // The actors are gone already: a storage failure here stops the runtime; restore finishes the job.
                onError: '#shapeRuntime.failed',
              },
            },
          },
        },
        applying: {
          invoke: {
            id: 'applyTransactions',
            src: 'applyTransactions',
            input: ({ context }) => running.applyTransactionsInput(context),
            onDone: { target: 'idle', actions: 'finishTransactions' },
            onError: '#shapeRuntime.failed',
          },
        },
        resyncing: {
          invoke: {
            id: 'resyncShapes',
            src: 'resyncShapes',
            input: ({ context }) => running.resyncShapesInput(context),
            onDone: { target: 'idle', actions: 'finishResync' },
            // A read the row store could not answer wrote nothing: refused (the source asks again).
            onError: [{ guard: 'isRequestRefused', target: 'idle', actions: ['rejectRequest', 'dequeueRequest'] }, { target: '#shapeRuntime.failed' }],
          },
        },
        checkpointing: {
          invoke: {
            id: 'writeBackup',
            src: 'writeBackup',
            input: ({ context }) => ({ storage: context.storage, shapes: context.registry.storedShapes(), rows: context.rows }),
            onDone: { target: 'idle', actions: ['announceCheckpoint', 'dequeueRequest'] },
            onError: { target: 'idle', actions: ['rejectRequest', 'dequeueRequest'] },
          },
        },
      },
    },
    stopping: {
      entry: 'stopAllActors',
      invoke: {
        id: 'writeBackup',
        src: 'writeBackup',
        input: ({ context }) => ({ storage: context.storage, shapes: context.registry.storedShapes(), rows: context.rows }),
        onDone: { target: 'stopped', actions: ['announceStopped', 'dequeueRequest', 'rejectQueuedRequests'] },
        onError: { target: 'failed' },
      },
    },
    stopped: { type: 'final' },
    planned: { type: 'final' },
    failed: {
      type: 'final',
      entry: ['noteFailure', 'logFailure', 'stopAllActors', 'rejectQueuedRequests'],
    },
  },
  output: ({ context }) => restore.output(context),
});
