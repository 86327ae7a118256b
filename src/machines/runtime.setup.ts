import { assign, emit, enqueueActions, setup } from 'xstate';
import { plannedStarts, type ActivationPlan } from '../actors/activation.ts';
import { activateShapesActor } from '../actors/activate-shapes.actor.ts';
import { applyTransactionsActor, type ApplyTransactionsOutput } from '../actors/apply-transactions.actor.ts';
import { checkStorageActor, type CheckedChunk } from '../actors/check-storage.actor.ts';
import { commitRestoreActor, type CommitRestoreOutput } from '../actors/commit-restore.actor.ts';
import { createShapeActor, type CreateShapeOutput } from '../actors/create-shape.actor.ts';
import { resyncShapesActor, type ResyncShapesOutput } from '../actors/resync-shapes.actor.ts';
import { deleteShapesActor } from '../actors/delete-shapes.actor.ts';
import { checkBackupActor, loadBackupActor } from '../actors/load-backup.actor.ts';
import { loadShapesActor } from '../actors/load-shapes.actor.ts';
import { ownedActorsActor } from '../actors/owned-actors.actor.ts';
import { sleepClockActor } from '../actors/sleep-clock.actor.ts';
import { writeBackupActor } from '../actors/write-backup.actor.ts';
import type { BackupLoad } from '../restore/load-shapes.ts';
import type { LoadResult } from '../restore/load-result.ts';
import { errorOf, requestError } from './event-payloads.ts';
import * as restore from './restore.actions.ts';
import { runtimeLogActor } from './runtime-log.ts';
import * as running from './running.actions.ts';
import * as check from './storage-check.actions.ts';
import type { RuntimeContext, RuntimeEmitted, RuntimeEvent, RuntimeOutput, ShapeRuntimeInput } from './runtime.types.ts';

/**
 * The runtime statechart's vocabulary, in one place: its types, the actors it invokes, its
 * guards (on plain data: context, the event, what an actor answered) and its named actions
 * (pure computations, and effects: the only writers of the runtime's shapes). What an invoked
 * actor answers reaches an action as its typed params. The states are in restore.machine.ts
 * (restore) and running.machine.ts (the running life).
 */
export const runtimeSetup = setup({
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
    activateShapes: activateShapesActor,
    checkStorage: checkStorageActor,
    ownedActors: ownedActorsActor,
    sleepClock: sleepClockActor,
    runtimeLog: runtimeLogActor,
  },
  guards: {
    backupExists: (_, exists: boolean) => exists,
    backupUsable: (_, load: BackupLoad) => load.usable,
    isDryRun: ({ context }) => context.dryRun,
    isRequestRefused: (_, error: unknown) => running.isRequestRefused(error),
    removesRegisteredShape: ({ context, event }) => running.removesRegisteredShape(context, event),
  },
  actions: {
    // ---- pure: computed while transitioning
    enterPhase: assign(({ context }, params: restore.PhaseParam) => restore.enterPhase(context, params.phase)),
    enqueueRequest: assign(({ context, event }) => restore.enqueueRequest(context, event)),
    noteFallback: assign((_, output: boolean | BackupLoad) => restore.noteFallback(output)),
    storeLoad: assign((_, output: LoadResult | BackupLoad) => restore.storeLoad(output)),
    planRestore: enqueueActions(({ context, enqueue }) => restore.planRestore(context, enqueue)),
    announceRestoreRemoval: enqueueActions(({ event, enqueue }) => restore.announceRemoval(event, 'restore', enqueue)),
    storeCommit: assign(({ context }, output: CommitRestoreOutput) => restore.storeCommit(context, output)),
    completeRestore: enqueueActions(({ context, enqueue }) => restore.completeRestore(context, enqueue)),
    startStorageCheck: assign(({ context }) => check.startStorageCheck(context)),
    takeNext: enqueueActions(({ context, enqueue }) => running.takeNext(context, enqueue)),
    takeRequest: assign(({ event }) => running.takeRequest(event)),
    takeTransactionBatch: assign(({ context, event }) => running.takeTransactionBatch(context, event)),
    finishRequest: assign(() => running.finishRequest()),
    refuseStaleRemoval: enqueueActions(({ event, enqueue }) => running.refuseStaleRemoval(event, enqueue)),
    rejectRequest: enqueueActions(({ context, enqueue }, error: unknown) => running.rejectRequest(context, error, enqueue)),
    announceShapeAdded: emit(({ context }, output: CreateShapeOutput) => running.shapeAdded(context, output)),
    evictOverLimit: assign(({ context }) => running.evictOverLimit(context)),
    answerUse: enqueueActions(({ context, enqueue }, plan: ActivationPlan) => running.answerUse(context, plan, enqueue)),
    finishTransactions: enqueueActions(({ context, enqueue }, output: ApplyTransactionsOutput) => running.finishTransactions(context, output, enqueue)),
    finishResync: enqueueActions(({ context, enqueue }, output: ResyncShapesOutput) => running.finishResync(context, output, enqueue)),
    beginRemoval: enqueueActions(({ context, enqueue }) => running.beginRemoval(context, enqueue)),
    announceRunningRemoval: enqueueActions(({ event, enqueue }) => restore.announceRemoval(event, 'running', enqueue)),
    announceRemovalDone: emit(({ context }) => running.removalDone(context)),
    recordCheckRemoval: assign(({ context }) => check.recordCheckRemoval(context)),
    clearRemoval: assign({ removing: [], removingRequestId: null }),
    announceCheckpoint: emit(({ context }, shapes: number) => running.checkpointWritten(context, shapes)),
    recordCheckedChunk: enqueueActions(({ context, enqueue }, chunk: CheckedChunk) => check.recordCheckedChunk(context, chunk, enqueue)),
    completeStorageCheck: enqueueActions(({ context, enqueue }) => check.completeStorageCheck(context, enqueue)),
    noteActorFailure: enqueueActions(({ event, enqueue }) => running.noteActorFailure(event, errorOf(event), enqueue)),
    announceStopped: emit(({ context }) => running.runtimeStopped(context)),
    rejectQueuedRequests: enqueueActions(({ context, enqueue }) => running.rejectQueued(context, 'runtime-stopped', enqueue)),
    announceAddWakes: enqueueActions(({ enqueue }, output: CreateShapeOutput) => {
      const started = [...plannedStarts(output.dependencies), ...plannedStarts(output.created)];
      if (started.length > 0) enqueue.emit({ type: 'SHAPES.WOKEN', cause: 'add', started });
    }),
    announceReadWakes: enqueueActions(({ enqueue }, plan: ActivationPlan) => {
      const started = plannedStarts(plan);
      if (started.length > 0) enqueue.emit({ type: 'SHAPES.WOKEN', cause: 'read', started });
    }),
    sleepIdleShapes: enqueueActions(({ context, enqueue }) => {
      const handles = running.shapesToSleep(context);
      if (handles.length === 0) return;
      enqueue(({ context: live }) => live.shapes.sleep(handles));
      enqueue.emit({ type: 'SHAPES.SLEPT', handles });
    }),
    noteFailure: enqueueActions(({ enqueue }, error: unknown) => {
      const failure = requestError(error);
      enqueue.assign({ failure });
      enqueue.emit({ type: 'RUNTIME.FAILED', error: failure.message });
    }),
    // ---- effects: run only in a live actor; each says what it started or stopped
    openRowStore: ({ context }, output: CommitRestoreOutput) => restore.openRowStore(context, output),
    registerRestored: ({ context }) => restore.registerRestored(context),
    registerAddedShapes: ({ context }, output: CreateShapeOutput) => running.registerAddedShapes(context, output),
    wakeUsedShape: ({ context }, plan: ActivationPlan) => running.wakeUsedShape(context, plan),
    forgetRemovedShape: ({ context, event }) => running.forgetRemovedShape(context, event),
    recordCheckedFiles: ({ context }, chunk: CheckedChunk) => check.recordCheckedFiles(context, chunk),
    stopAllActors: ({ context }) => context.shapes.stopAll(),
  },
});
