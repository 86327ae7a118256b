/**
 * `--inspect` and `--trace`, driven through the CLI in-process: a real
 * WebSocket client connects to the inspector's address the CLI prints, as
 * the browser page would, and must see the restore machine's states and every
 * consumer and materializer by id (`shape:<h>`, `materializer:<h>`); the
 * removed shapes' actors must never appear. `--trace FILE` writes the
 * recorder's events, also when the command fails.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.ts';
import { startLiveInspector } from '../../src/inspection/inspector-server.ts';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();

const OUTER = "id IN (SELECT user_id FROM public.memberships WHERE org_id IN (SELECT id FROM public.orgs WHERE name = 'acme'))";

/** Nested subquery shapes (outer -> mid -> inner) plus an unrelated shape with its own dependency; backup written. */
async function incidentDir(): Promise<{ dir: string; outer: string; mid: string; inner: string; orders: string; customers: string }> {
  const dir = join(await tempDir(), 'data');
  const runtime = await createShapeRuntime({ dataDir: dir });
  const outer = await runtime.add({ table: 'public.users', where: OUTER });
  const [inner, mid] = outer.created as [string, string];
  const orders = await runtime.add({ table: 'public.orders', where: "customer_id IN (SELECT id FROM public.customers WHERE country = 'NZ')" });
  await runtime.shutdown();
  await rm(join(dir, 'shapes', inner), { recursive: true });
  return { dir, outer: outer.handle, mid, inner, orders: orders.handle, customers: orders.dependencyHandles[0]! };
}

interface StatelyMessage {
  type: string;
  name?: string;
  sessionId: string;
  snapshot?: { value?: unknown; status?: string };
}

/**
 * Runs a CLI command with `--inspect`; connects a WebSocket client (a viewer)
 * as soon as the CLI prints the address, and collects what it receives until
 * the CLI closes it.
 */
async function runInspected(argv: string[]): Promise<{ code: number; stdout: string; stderr: string; messages: StatelyMessage[]; closedByServer: boolean; address: string }> {
  let stdout = '';
  let stderr = '';
  const messages: StatelyMessage[] = [];
  let viewer: WebSocket | null = null;
  let closed: Promise<void> = Promise.resolve();
  let address = '';
  let closedByServer = false;
  const code = await runCli([...argv, '--inspect', '--inspect-wait', '20'], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => {
      stderr += t;
      const match = /Stately inspector: open (http:\/\/\S+) \(events stream over (ws:\/\/\S+)\)/.exec(t);
      if (match && !viewer) {
        address = match[1]!;
        const socket = new WebSocket(match[2]!);
        viewer = socket;
        socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as StatelyMessage));
        closed = new Promise((resolve) =>
          socket.on('close', (codeNumber) => {
            closedByServer = codeNumber === 1000;
            resolve();
          }),
        );
      }
    },
  });
  await closed;
  return { code, stdout, stderr, messages, closedByServer, address };
}

describe('--inspect: the Stately inspector over a WebSocket on localhost', () => {
  it('streams the restore machine states and each activation by id (consumers and materializers, dependencies first); removed shapes never appear', async () => {
    const d = await incidentDir();
    // Reading `orders` wakes it, and first what it depends on (a kept shape sleeps until needed).
    const run = await runInspected(['log', '--data-dir', d.dir, '--handle', d.orders, '--json']);
    expect(run.code).toBe(0);
    expect(run.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/); // loopback only: events carry row data
    expect(run.stderr).toContain('Inspector connected.');
    const report = (JSON.parse(run.stdout) as { restore: { removed: { handle: string }[] } }).restore;
    expect(report.removed.map((r) => r.handle).sort()).toEqual([d.outer, d.mid, d.inner].sort());

    // Actors arrive named by id: the restore machine, the woken shape's consumer, its dependency's consumer and materializer.
    const actorNames = run.messages.filter((m) => m.type === '@xstate.actor').map((m) => m.name);
    expect(actorNames).toContain('shapeRuntime');
    expect(actorNames).toEqual(expect.arrayContaining([`shape:${d.customers}`, `materializer:${d.customers}`, `shape:${d.orders}`]));
    for (const h of [d.outer, d.mid, d.inner]) {
      expect(actorNames).not.toContain(`shape:${h}`);
      expect(actorNames).not.toContain(`materializer:${h}`);
    }
    // The materializer of the dependency is created before the consumer that needs it.
    expect(actorNames.indexOf(`materializer:${d.customers}`)).toBeLessThan(actorNames.indexOf(`shape:${d.orders}`));

    // The restore machine's states, in order, from its snapshots.
    const root = run.messages.find((m) => m.type === '@xstate.actor' && m.name === 'shapeRuntime')!.sessionId;
    const states = run.messages.filter((m) => m.type === '@xstate.snapshot' && m.sessionId === root).map((m) => JSON.stringify(m.snapshot?.value));
    const seen = states.filter((v, i) => v !== states[i - 1]);
    // (a command waits for the check after restore: running.checkingStorage, then idle; the read wakes `orders`: activating.)
    expect(seen).toEqual(['"checkingBackup"', '"loadingBackup"', '"committingRestore"', '{"running":"checkingStorage"}', '{"running":"idle"}', '{"running":"activating"}', '{"running":"idle"}', '"stopping"', '"stopped"']);
    // Events too: the shutdown request the CLI sent.
    expect(run.messages.some((m) => m.type === '@xstate.event' && (m as { event?: { type?: string } }).event?.type === 'SHUTDOWN.REQUESTED')).toBe(true);

    // Stopped cleanly: the viewer was closed normally and nothing listens any more.
    expect(run.closedByServer).toBe(true);
    const refused = await new Promise<string>((resolve) => {
      const again = new WebSocket(run.address.replace('http', 'ws'));
      again.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
      again.on('open', () => resolve('open'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('serves the inspector page, gives a late viewer every event, and lets the process end', async () => {
    const live = await startLiveInspector();
    const page = await (await fetch(live.url)).text();
    expect(page).toContain('https://stately.ai/inspect');
    expect(page).toContain(JSON.stringify(live.webSocketUrl));
    const dir = join(await tempDir(), 'data');
    const runtime = await createShapeRuntime({ dataDir: dir, inspect: live.inspect });
    const added = await runtime.add({ table: 'public.users', where: 'id IN (SELECT user_id FROM public.m WHERE org_id = 1)' });
    // A viewer that connects after the fact gets the events from the start (not only the last 200).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const late: StatelyMessage[] = [];
    const viewer = new WebSocket(live.webSocketUrl);
    viewer.on('message', (data) => late.push(JSON.parse(data.toString()) as StatelyMessage));
    await new Promise((resolve) => viewer.on('open', resolve));
    await runtime.shutdown();
    const closed = new Promise((resolve) => viewer.on('close', resolve));
    await live.stop();
    await closed;
    const names = late.filter((m) => m.type === '@xstate.actor').map((m) => m.name);
    expect(names[0]).toBe('shapeRuntime');
    expect(names).toEqual(expect.arrayContaining([`shape:${added.handle}`, `shape:${added.dependencyHandles[0]}`, `materializer:${added.dependencyHandles[0]}`]));
    expect(live.viewers()).toBe(0);
  });

  it('--inspect-wait 0 starts at once; with no viewer the command still succeeds', async () => {
    const d = await incidentDir();
    let stderr = '';
    const code = await runCli(['list', '--data-dir', d.dir, '--inspect', '--inspect-wait', '0'], { stdout: () => {}, stderr: (t) => void (stderr += t) });
    expect(code).toBe(0);
    expect(stderr).toMatch(/Stately inspector: open http:\/\/127\.0\.0\.1:\d+/);
    expect(stderr).not.toMatch(/Waiting/);
  });

  it('refuses a bad port before touching anything', async () => {
    let stderr = '';
    const code = await runCli(['list', '--data-dir', '/nonexistent', '--inspect', '99999'], { stdout: () => {}, stderr: (t) => void (stderr += t) });
    expect(code).toBe(2);
    expect(stderr).toMatch(/not a port number/);
  });
});

describe('--trace FILE: the inspection events as JSON', () => {
  it('records the restore machine and every actor by systemId', async () => {
    const d = await incidentDir();
    const file = join(await tempDir(), 'trace.json');
    // (reading `orders` wakes it and its dependency: their actors start)
    const code = await runCli(['log', '--data-dir', d.dir, '--handle', d.orders, '--trace', file], { stdout: () => {}, stderr: () => {} });
    expect(code).toBe(0);
    const trace = JSON.parse(await readFile(file, 'utf8')) as { truncated: boolean; events: { type: string; systemId: string | null; stateValue?: unknown }[] };
    expect(trace.truncated).toBe(false);
    const created = trace.events.filter((e) => e.type === '@xstate.actor').map((e) => e.systemId);
    expect(created).toEqual(expect.arrayContaining(['shapeRuntime', `shape:${d.customers}`, `materializer:${d.customers}`, `shape:${d.orders}`]));
    expect(created).not.toContain(`shape:${d.outer}`);
    const rootStates = trace.events.filter((e) => e.type === '@xstate.snapshot' && e.systemId === 'shapeRuntime').map((e) => JSON.stringify(e.stateValue));
    expect(rootStates).toEqual(expect.arrayContaining(['"loadingBackup"', '{"running":"idle"}', '"stopped"']));
  });

  it('is written when the command fails, too', async () => {
    const d = await incidentDir();
    const file = join(await tempDir(), 'trace.json');
    let stderr = '';
    const code = await runCli(['remove', '--data-dir', d.dir, '--handle', '1-1', '--trace', file], { stdout: () => {}, stderr: (t) => void (stderr += t) });
    expect(code).toBe(1);
    expect(stderr).toMatch(/no .*shape has handle 1-1/);
    const trace = JSON.parse(await readFile(file, 'utf8')) as { events: { type: string; systemId: string | null; stateValue?: unknown }[] };
    // The whole run is in it: the restore machine, through running, to its clean stop after the refusal.
    expect(trace.events.some((e) => e.type === '@xstate.actor' && e.systemId === 'shapeRuntime')).toBe(true);
    const rootStates = trace.events.filter((e) => e.type === '@xstate.snapshot' && e.systemId === 'shapeRuntime').map((e) => JSON.stringify(e.stateValue));
    expect(rootStates).toEqual(expect.arrayContaining(['"loadingBackup"', '{"running":"idle"}', '"stopped"']));
  });
});
