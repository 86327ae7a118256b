import type { EventObject } from 'xstate';
import { errorOf } from './event-payloads.ts';
import * as running from './running.actions.ts';
import * as check from './storage-check.actions.ts';
import { runtimeSetup } from './runtime.setup.ts';

/**
 * The running life of the runtime, after restore: one request at a time. `idle` takes each
 * request as an event; on entering it, the request that waited longest (queued while another was
 * under way, or before `running`) is raised to it, or, when none waits, the next chunk of the
 * check after restore. Kept shapes sleep (registry entries) until a change is routed to them
 * (`applying`), a client reads them (`activating`) or a new shape needs them (`adding`); they
 * wake dependencies first, and go back to sleep when idle (SLEEP.DUE).
 */
/** The request's error back to its caller. */
const rejectRequest = { type: 'rejectRequest', params: ({ event }: { event: EventObject }) => errorOf(event) } as const;

/** A request refused (nothing written) goes back to its caller, and `idle`; any other failure stops the runtime. */
const refusedElseFailed = [
  { guard: { type: 'isRequestRefused', params: ({ event }: { event: EventObject }) => errorOf(event) }, target: 'idle', actions: [rejectRequest, 'finishRequest'] },
  { target: '#shapeRuntime.failed' },
] as const;

export const runningState = runtimeSetup.createStateConfig({
  entry: ['completeRestore', 'startStorageCheck'],
  invoke: { id: 'sleepClock', src: 'sleepClock', input: ({ context }) => ({ everyMs: context.sleepCheckMs }) },
  initial: 'idle',
  states: {
    idle: {
      entry: 'takeNext',
      on: {
        'SHAPE.ADD_REQUESTED': { target: 'adding', actions: 'takeRequest' },
        'SHAPE.REMOVE_REQUESTED': [
          { guard: 'removesRegisteredShape', target: 'removing', actions: 'takeRequest' },
          { target: 'idle', reenter: true, actions: 'refuseStaleRemoval' },
        ],
        'SHAPE.FAILED': [{ guard: 'removesRegisteredShape', target: 'removing', actions: 'takeRequest' }, { target: 'idle', reenter: true }],
        'SHAPE.EXPIRED': [{ guard: 'removesRegisteredShape', target: 'removing', actions: 'takeRequest' }, { target: 'idle', reenter: true }],
        'TRANSACTION.RECEIVED': { target: 'applying', actions: 'takeTransactionBatch' },
        'TRANSACTIONS.RECEIVED': { target: 'applying', actions: 'takeTransactionBatch' },
        'SHAPE.USED': { target: 'activating', actions: 'takeRequest' },
        'CHECKPOINT.REQUESTED': { target: 'checkpointing', actions: 'takeRequest' },
        'SHAPES.RESYNC_REQUESTED': { target: 'resyncing', actions: 'takeRequest' },
        'SHUTDOWN.REQUESTED': { target: '#shapeRuntime.stopping', actions: 'takeRequest' },
        'STORAGE.CHECK_DUE': 'checkingStorage',
        'STORAGE.CHECK_COMPLETED': { target: 'idle', reenter: true, actions: 'completeStorageCheck' },
        'SLEEP.DUE': { actions: 'sleepIdleShapes' },
      },
    },
    adding: {
      invoke: {
        id: 'createShape',
        src: 'createShape',
        input: ({ context }) => running.createShapeInput(context),
        onDone: {
          target: 'idle',
          actions: [
            { type: 'registerAddedShapes', params: ({ event }) => event.output },
            { type: 'announceAddWakes', params: ({ event }) => event.output },
            { type: 'announceShapeAdded', params: ({ event }) => event.output },
            'finishRequest',
            'evictOverLimit',
          ],
        },
        // A bad definition, a damaged table or dependency is refused before anything is written; a storage
        // failure part-way leaves disk and memory apart, so the runtime stops and the next restore reconciles.
        onError: refusedElseFailed,
      },
    },
    // A client reads a shape: it wakes first (its files checked, its dependencies woken before it).
    activating: {
      invoke: {
        id: 'activateShapes',
        src: 'activateShapes',
        input: ({ context }) => running.activationInput(context),
        onDone: {
          target: 'idle',
          actions: [
            { type: 'wakeUsedShape', params: ({ event }) => event.output },
            { type: 'announceReadWakes', params: ({ event }) => event.output },
            { type: 'answerUse', params: ({ event }) => event.output },
            'finishRequest',
          ],
        },
        onError: '#shapeRuntime.failed',
      },
    },
    removing: {
      initial: 'stoppingActors',
      states: {
        stoppingActors: {
          entry: 'beginRemoval',
          on: {
            'CASCADE.STOP': { actions: ['forgetRemovedShape', 'announceRunningRemoval'] },
            'CASCADE.SENT': 'deletingStorage',
          },
        },
        deletingStorage: {
          invoke: {
            id: 'deleteShapes',
            src: 'deleteShapes',
            input: ({ context }) => ({ storage: context.storage, handles: context.removing.map((r) => r.handle) }),
            onDone: { target: '#shapeRuntime.running.idle', actions: ['announceRemovalDone', 'recordCheckRemoval', 'clearRemoval', 'finishRequest'] },
            // The actors are gone already: a storage failure here stops the runtime; restore finishes the job.
            onError: '#shapeRuntime.failed',
          },
        },
      },
    },
    // Transactions, as one batch: a change routed to a sleeping shape wakes it there, dependencies first.
    applying: {
      invoke: {
        id: 'applyTransactions',
        src: 'applyTransactions',
        input: ({ context }) => running.applyTransactionsInput(context),
        onDone: { target: 'idle', actions: { type: 'finishTransactions', params: ({ event }) => event.output } },
        onError: '#shapeRuntime.failed',
      },
    },
    // A database source read some tables again: their shapes, and what depends on them, are brought back in step.
    resyncing: {
      invoke: {
        id: 'resyncShapes',
        src: 'resyncShapes',
        input: ({ context }) => running.resyncShapesInput(context),
        onDone: { target: 'idle', actions: [{ type: 'finishResync', params: ({ event }) => event.output }, 'finishRequest'] },
        // A read the row store could not answer wrote nothing: refused (the source asks again).
        onError: refusedElseFailed,
      },
    },
    checkpointing: {
      invoke: {
        id: 'writeBackup',
        src: 'writeBackup',
        input: ({ context }) => running.backupInput(context),
        onDone: { target: 'idle', actions: [{ type: 'announceCheckpoint', params: ({ event }) => event.output }, 'finishRequest'] },
        onError: { target: 'idle', actions: [rejectRequest, 'finishRequest'] },
      },
    },
    // The check after restore, one chunk at a time, only while no request waits.
    checkingStorage: {
      invoke: {
        id: 'checkStorage',
        src: 'checkStorage',
        input: ({ context }) => ({ storage: context.storage, shapes: check.nextCheckChunk(context) }),
        onDone: {
          target: 'idle',
          actions: [
            { type: 'recordCheckedFiles', params: ({ event }) => event.output },
            { type: 'recordCheckedChunk', params: ({ event }) => event.output },
          ],
        },
        onError: '#shapeRuntime.failed',
      },
    },
  },
});
