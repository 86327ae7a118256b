import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assign, createActor, fromCallback, sendTo, setup, spawnChild, waitFor, type ActorRefFrom, type DoneActorEvent, type EventObject } from 'xstate';
import { openFileStorage, shapeRuntimeMachine, type Removal, type RequestError, type RestoreReport, type RuntimeEmitted, type RuntimeOutput, type ShapeStorage } from 'shape-actors';

type ShapeRuntimeRef = ActorRefFrom<typeof shapeRuntimeMachine>;

/** Forwards everything the runtime emits (typed: RuntimeEmitted) to the host, as ordinary events. */
const runtimeEvents = fromCallback<EventObject, { runtime: ShapeRuntimeRef }>(({ input, sendBack }) => {
  const subscription = input.runtime.on('*', (event) => sendBack(event));
  return () => subscription.unsubscribe();
});

type HostEvent =
  | { type: 'CLIENT.SUBSCRIBED'; table: string; where?: string }
  | { type: 'DB.TRANSACTION'; transaction: { xid: number; changes: unknown[] } }
  | { type: 'HOST.STOP' }
  | RuntimeEmitted
  | DoneActorEvent<RuntimeOutput, 'shapes'>;

/** A host service with the shape runtime as a child actor in its own system. */
export const hostMachine = setup({
  types: {
    input: {} as { storage: ShapeStorage },
    context: {} as { storage: ShapeStorage; runtime: ShapeRuntimeRef | null; report: RestoreReport | null; shapes: string[]; removed: Removal[]; applied: number; refused: RequestError[] },
    events: {} as HostEvent,
  },
  actors: { shapeRuntime: shapeRuntimeMachine, runtimeEvents },
}).createMachine({
  id: 'host',
  context: ({ input }) => ({ storage: input.storage, runtime: null, report: null, shapes: [], removed: [], applied: 0, refused: [] }),
  entry: [
    // In: the runtime's input (storage, policy, ...). Its actors join this system: `shape:<h>`, `materializer:<h>`.
    assign({ runtime: ({ spawn, context }) => spawn('shapeRuntime', { id: 'shapes', systemId: 'shapeRuntime', input: { storage: context.storage, policy: 'validate' } }) }),
    spawnChild('runtimeEvents', { input: ({ context }) => ({ runtime: context.runtime! }) }),
  ],
  on: {
    // Out: removals at restore and at run time, each with its reason and cause.
    'CASCADE.STOPPED': { actions: assign({ removed: ({ context, event }) => [...context.removed, event.removal] }) },
    // A refused request (a bad where clause, an invalid transaction) is answered, never dropped.
    'REQUEST.FAILED': { actions: assign({ refused: ({ context, event }) => [...context.refused, event.error] }) },
  },
  initial: 'restoring',
  states: {
    restoring: {
      on: { 'RESTORE.COMPLETED': { target: 'serving', actions: assign({ report: ({ event }) => event.report }) } },
    },
    serving: {
      on: {
        'CLIENT.SUBSCRIBED': {
          actions: sendTo('shapes', ({ event }) => ({
            type: 'SHAPE.ADD_REQUESTED' as const,
            requestId: `subscribe:${event.table}:${event.where ?? ''}`,
            definition: { table: event.table, ...(event.where ? { where: event.where } : {}) },
          })),
        },
        'SHAPE.ADDED': { actions: assign({ shapes: ({ context, event }) => [...context.shapes, event.handle] }) },
        'DB.TRANSACTION': {
          actions: sendTo('shapes', ({ event }) => ({ type: 'TRANSACTION.RECEIVED' as const, requestId: `tx:${event.transaction.xid}`, transaction: event.transaction })),
        },
        'TRANSACTION.APPLIED': { actions: assign({ applied: ({ context }) => context.applied + 1 }) },
        'HOST.STOP': 'stopping',
      },
    },
    stopping: {
      // A clean shutdown stops every shape's actors (dependents first) and writes the backup.
      entry: sendTo('shapes', { type: 'SHUTDOWN.REQUESTED', requestId: 'host:stop' }),
      on: { 'xstate.done.actor.shapes': 'stopped' }, // the runtime reached its final state
    },
    stopped: { type: 'final' },
  },
});

/** Using it: start the host, let it restore, subscribe a client, feed a transaction, stop cleanly. */
export async function runHost(storage: ShapeStorage, where = 'id IN (SELECT user_id FROM public.memberships WHERE org_id = 7)') {
  const host = createActor(hostMachine, { input: { storage } });
  host.start();
  await waitFor(host, (s) => s.matches('serving'));
  host.send({ type: 'CLIENT.SUBSCRIBED', table: 'public.users', where });
  // The runtime answers every request: SHAPE.ADDED, or REQUEST.FAILED with a code and a message.
  const answered = await waitFor(host, (s) => s.context.shapes.length === 1 || s.context.refused.length > 0);
  if (answered.context.refused.length > 0) {
    host.send({ type: 'HOST.STOP' });
    await waitFor(host, (s) => s.status === 'done');
    const [error] = answered.context.refused;
    throw new Error(`subscription refused: ${error!.message}`);
  }
  host.send({
    type: 'DB.TRANSACTION',
    transaction: {
      xid: 1,
      changes: [
        { op: 'insert', table: 'public.memberships', row: { id: 1, user_id: 5, org_id: 7 } },
        { op: 'insert', table: 'public.users', row: { id: 5, name: 'eve' } },
      ],
    },
  });
  await waitFor(host, (s) => s.context.applied === 1);
  host.send({ type: 'HOST.STOP' });
  await waitFor(host, (s) => s.status === 'done');
  return host.getSnapshot().context; // { report, shapes, removed, applied, refused, ... }
}

// Run directly (`npx tsx scripts/embed-example.ts [where]`): one host on a new data dir in the temp dir.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dataDir = await mkdtemp(join(tmpdir(), 'shape-actors-embed-'));
  const storage = await openFileStorage(dataDir);
  try {
    const { report, shapes, applied } = await runHost(storage, process.argv[2]);
    console.log(JSON.stringify({ dataDir, restoredFrom: report?.mode, shapes, applied }));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  } finally {
    await storage.close();
  }
}
