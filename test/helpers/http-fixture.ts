/** A runtime with the HTTP layer in front of it, and plain requests to it (what a client sends, byte for byte). */
import { afterEach } from 'vitest';
import { startShapeServer, type ShapeServer, type ShapeServerOptions } from '../../src/http/shape-server.ts';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { formatLogOffset } from '../../src/shapes/log-offset.ts';
import { MemoryStorage } from '../../src/storage/index.ts';

export interface Served {
  readonly runtime: ShapeRuntime;
  readonly server: ShapeServer;
  /** GET (or another method) `path` with query parameters; the body parsed as JSON when it is. */
  request(path: string, query?: Record<string, string>, init?: RequestInit): Promise<Reply>;
  /** Every shape, its definition and where its log ends, and the position: to show a request changed nothing. */
  state(): Promise<string>;
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

const started: Served[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) {
    await s.server.close();
    await s.runtime.shutdown();
  }
});

export async function serve(options: Partial<Omit<ShapeServerOptions, 'runtime'>> = {}, runtime?: ShapeRuntime): Promise<Served> {
  const rt = runtime ?? (await createShapeRuntime({ storage: new MemoryStorage() }));
  const server = await startShapeServer({ runtime: rt, port: 0, longPollMs: 400, ...options });
  const served: Served = {
    runtime: rt,
    server,
    async request(path, query = {}, init = {}) {
      const url = new URL(path, server.url);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      const response = await fetch(url, init);
      const text = await response.text();
      let json: unknown = undefined;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    async state() {
      const shapes = [];
      for (const s of rt.list()) shapes.push([s.handle, s.definition, s.requested, formatLogOffset(await rt.reads.lastOffset(s.handle))]);
      return JSON.stringify({ shapes, position: rt.position() });
    },
  };
  started.push(served);
  return served;
}

export const items = (...rows: Record<string, unknown>[]) => rows.map((row) => ({ op: 'insert' as const, table: 'public.items', row }));

/** Polls until `condition` holds (at most `timeoutMs`). */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`condition not met after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
