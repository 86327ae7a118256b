/**
 * The demo's clients: the real `@electric-sql/client` following some of its shapes over the
 * HTTP layer, through a restart and through the incident.
 */
import type { ShapeServer } from '../http/shape-server.ts';
import type { ShapeRuntime } from '../runtime/index.ts';
import { caughtUp, followShape, loadElectricClient, type FollowedShape, type FollowParams } from './electric-clients.ts';
import { table, type JsonValue } from './format.ts';

export interface ClientState {
  readonly name: string;
  readonly handle: string | null;
  readonly refetches: number;
  readonly rows: readonly JsonValue[];
}

export class DemoServing {
  #server: ShapeServer | null = null;
  #runtime: ShapeRuntime | null = null;
  #port = 0;
  readonly #clients: FollowedShape[] = [];
  readonly #restoreTimers = unrefLongTimers();

  private constructor(
    private readonly client: Awaited<ReturnType<typeof loadElectricClient>>['client'],
    /** Why the clients cannot run (the package is missing), or null. */
    readonly missing: string | null,
  ) {}

  static async create(): Promise<DemoServing> {
    const loaded = await loadElectricClient();
    return new DemoServing(loaded.client, loaded.missing);
  }

  get url(): string | null {
    return this.#server?.url ?? null;
  }

  /** Serves `runtime` on loopback (the same port as before after a restart, so the clients find it again). */
  async serve(runtime: ShapeRuntime): Promise<void> {
    if (!this.client) return;
    const { startShapeServer } = await import('../http/shape-server.ts');
    this.#runtime = runtime;
    this.#server = await startShapeServer({ runtime, port: this.#port, longPollMs: 2_000 });
    this.#port = this.#server.port;
  }

  follow(shapes: readonly { readonly name: string; readonly definition: FollowParams }[]): void {
    if (!this.client || !this.#server) return;
    for (const { name, definition } of shapes) this.#clients.push(followShape(this.client, this.#server.url, name, definition));
  }

  /** Waits until every client holds everything the server has for its (current) handle. */
  async settled(): Promise<ClientState[]> {
    const runtime = this.#runtime;
    if (!runtime) return [];
    for (const client of this.#clients) await caughtUp(client, () => runtime.reads, 20_000);
    // The rows of a response reach Shape just after its offset does.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return this.#clients.map((c) => ({
      name: c.name,
      handle: c.stream.shapeHandle ?? null,
      refetches: c.refetches(),
      rows: [...c.rows().values()].sort((a, b) => Number(a.id) - Number(b.id)) as JsonValue[],
    }));
  }

  /** Stops serving (held live requests get a 503: the clients retry); the clients keep trying. */
  async stopServer(): Promise<void> {
    await this.#server?.close();
    this.#server = null;
  }

  async stop(): Promise<void> {
    for (const client of this.#clients) client.stop();
    await this.stopServer();
    this.#restoreTimers();
  }
}

/**
 * The client library throttles saving its up-to-date tracker to localStorage with a 60 s timer,
 * also where there is no localStorage (Node), and never clears it: a process that ran a client
 * would live on a minute after its work. While the demo's clients run, timers of 30 s or more
 * are unref'd (the demo's own waits are shorter), so the CLI ends when the demo does.
 */
function unrefLongTimers(): () => void {
  const original = globalThis.setTimeout;
  const patched = ((handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const timer = original(handler, ms, ...args);
    if ((ms ?? 0) >= 30_000) timer.unref();
    return timer;
  }) as unknown as typeof setTimeout;
  globalThis.setTimeout = patched;
  return () => {
    if (globalThis.setTimeout === patched) globalThis.setTimeout = original;
  };
}

/** The clients as a table: name, handle (and whether it changed since `before`), must-refetches, rows. */
export function clientsTable(states: readonly ClientState[], before?: readonly ClientState[]): string {
  return table(
    ['CLIENT', 'HANDLE', 'REFETCHED', 'ROWS'],
    states.map((s) => {
      const earlier = before?.find((b) => b.name === s.name);
      const changed = earlier && earlier.handle !== s.handle ? ' (new)' : '';
      return [s.name, `${s.handle ?? '-'}${changed}`, String(s.refetches), s.rows.map((r) => JSON.stringify(r)).join(' ')];
    }),
  );
}
