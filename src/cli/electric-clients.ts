/**
 * The official `@electric-sql/client` (ShapeStream + Shape) following shapes of a server: what
 * the demo shows and the tests drive. The package is a devDependency (installed by `npm ci` in
 * a clone): it is imported only when asked for, so the CLI loads without it.
 */
import type { Shape, ShapeStream } from '@electric-sql/client';
import type { ShapeReads } from '../runtime/index.ts';
import { compareLogOffsets, parseLogOffset } from '../shapes/log-offset.ts';

type ElectricClient = typeof import('@electric-sql/client');

/** The client package, or null (with the reason) when it is not installed. */
export async function loadElectricClient(): Promise<{ client: ElectricClient; missing: null } | { client: null; missing: string }> {
  try {
    return { client: await import('@electric-sql/client'), missing: null };
  } catch (error) {
    return { client: null, missing: `@electric-sql/client is not installed (${(error as Error).message.split('\n')[0]}): it is a devDependency, installed by npm ci in a clone` };
  }
}

export interface FollowedShape {
  readonly name: string;
  readonly stream: ShapeStream;
  readonly shape: Shape;
  /** must-refetch messages the client saw (each 409 publishes one). */
  refetches(): number;
  /** Every handle it followed, in order. */
  handles(): readonly string[];
  /** Errors that ended its stream (a 4xx other than 409). */
  readonly errors: unknown[];
  /** Its rows, keyed like the runtime's log keys (`JSON.stringify([id])`). */
  rows(): Map<string, Record<string, unknown>>;
  stop(): void;
}

export interface FollowParams {
  readonly table: string;
  readonly where?: string;
  readonly columns?: readonly string[];
}

export function followShape(client: ElectricClient, baseUrl: string, name: string, params: FollowParams, options: { readonly secret?: string } = {}): FollowedShape {
  const controller = new AbortController();
  const errors: unknown[] = [];
  const handles: string[] = [];
  let refetches = 0;
  const stream = new client.ShapeStream({
    url: `${baseUrl}/v1/shape`,
    params: { table: params.table, ...(params.where ? { where: params.where } : {}), ...(params.columns ? { columns: [...params.columns] } : {}), ...(options.secret ? { secret: options.secret } : {}) },
    signal: controller.signal,
    // Reconnect fast while a server restarts (the default starts at 1 s; `retry-after` still sets the floor).
    backoffOptions: { initialDelay: 50, maxDelay: 500, multiplier: 1.5 },
    onError: (error) => {
      errors.push(error);
    },
  });
  stream.subscribe((messages) => {
    for (const message of messages) if ('control' in message.headers && message.headers.control === 'must-refetch') refetches++;
    const handle = stream.shapeHandle;
    if (handle && handles.at(-1) !== handle) handles.push(handle);
  });
  const shape = new client.Shape(stream);
  return {
    name,
    stream,
    shape,
    refetches: () => refetches,
    handles: () => handles,
    errors,
    rows: () => new Map(shape.currentRows.map((row) => [JSON.stringify([row.id]), { ...row }])),
    stop: () => {
      stream.unsubscribeAll();
      shape.unsubscribeAll();
      controller.abort();
    },
  };
}

/** Waits until the client is up to date with everything the server holds durably for its current handle. */
export async function caughtUp(client: FollowedShape, reads: () => ShapeReads, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const handle = client.stream.shapeHandle;
    if (client.errors.length > 0) throw new Error(`${client.name}: the client stopped on an error: ${String(client.errors[0])}`);
    if (handle && client.stream.isUpToDate && reads().shape(handle)) {
      const at = parseLogOffset(client.stream.lastOffset);
      if (at && compareLogOffsets(at, await reads().lastOffset(handle)) >= 0) return;
    }
    if (Date.now() > deadline) throw new Error(`${client.name}: not caught up after ${timeoutMs} ms (handle ${handle}, offset ${client.stream.lastOffset})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Rows as canonical JSON (sorted keys, undefined columns dropped), to compare with an oracle. */
export function canonicalRows(rows: ReadonlyMap<string, Readonly<Record<string, unknown>>>): string {
  return JSON.stringify(
    [...rows]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, row]) => [key, Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)))]),
  );
}
