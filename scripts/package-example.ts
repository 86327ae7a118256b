import { createActor, setup, waitFor } from 'xstate';
import { createShapeRuntime, MemoryStorage, shapeRuntimeMachine, type RuntimeEmitted } from 'shape-actors';

const dataDir = process.argv[2] ?? './shape-data';
const todo = { op: 'insert', table: 'public.todos', row: { id: 1, title: 'write docs', done: false } } as const;

// 1. The promise facade, for a program without XState of its own: restore (creating the data dir), act, shut down.
const runtime = await createShapeRuntime({ dataDir });
const open = await runtime.add({ table: 'public.todos', where: 'done = false' });
await runtime.applyTransaction({ xid: runtime.position() + 1, changes: [todo] });
const rows = (await runtime.readLog(open.handle)).map((entry) => entry.row);
await runtime.shutdown(); // stops every actor and writes the backup

// 2. The runtime as actor logic in your own machine: its consumers and materializers join your actor system.
const hostMachine = setup({ actors: { shapes: shapeRuntimeMachine } }).createMachine({
  invoke: { id: 'shapes', src: 'shapes', systemId: 'shapeRuntime', input: { storage: new MemoryStorage() } },
});
const host = createActor(hostMachine).start();
const shapes = host.getSnapshot().children.shapes!; // typed: it takes RuntimeRequest events and emits RuntimeEmitted ones
const added = new Promise<Extract<RuntimeEmitted, { type: 'SHAPE.ADDED' }>>((resolve) => shapes.on('SHAPE.ADDED', resolve));
shapes.send({ type: 'SHAPE.ADD_REQUESTED', requestId: 'add-1', definition: { table: 'public.users', where: 'id IN (SELECT user_id FROM public.admins)' } });
const { handle, dependencyHandles } = await added;
const consumer = host.system.get(`shape:${handle}`); // the shape's consumer, in the host's system
const materializer = host.system.get(`materializer:${dependencyHandles[0]}`); // its dependency's materializer
shapes.send({ type: 'SHUTDOWN.REQUESTED', requestId: 'stop-1' });
await waitFor(shapes, (snapshot) => snapshot.status === 'done');

console.log(JSON.stringify({ facade: { handle: open.handle, rows }, host: { handle, consumer: consumer?.id ?? null, materializer: materializer?.id ?? null } }));
