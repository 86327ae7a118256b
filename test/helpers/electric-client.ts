/**
 * The real `@electric-sql/client` following shapes of a server under test: its rows (from
 * `Shape`), the must-refetch messages it saw, the handles it was given, its errors.
 */
import { Shape, ShapeStream, type Row as ClientRow } from '@electric-sql/client';
import { expect } from 'vitest';
import type { ShapeReads } from '../../src/runtime/index.ts';
import { compareLogOffsets, parseLogOffset } from '../../src/shapes/log-offset.ts';

export interface FollowedShape {
  readonly name: string;
  readonly stream: ShapeStream;
  readonly shape: Shape;
  /** must-refetch control messages seen (a 409 publishes one). */
  readonly refetches: () => number;
  /** Every handle the client followed, in order. */
  readonly handles: () => readonly string[];
  readonly errors: unknown[];
  /** The client's rows, keyed like the runtime's log (`JSON.stringify([id])`). */
  rows(): Map<string, Record<string, unknown>>;
  stop(): void;
}

export interface FollowParams {
  readonly table: string;
  readonly where?: string;
  readonly columns?: readonly string[];
}

export function follow(baseUrl: string, name: string, params: FollowParams, options: { readonly secret?: string } = {}): FollowedShape {
  const controller = new AbortController();
  const errors: unknown[] = [];
  const handles: string[] = [];
  let refetches = 0;
  const stream = new ShapeStream({
    url: `${baseUrl}/v1/shape`,
    params: { table: params.table, ...(params.where ? { where: params.where } : {}), ...(params.columns ? { columns: [...params.columns] } : {}), ...(options.secret ? { secret: options.secret } : {}) },
    signal: controller.signal,
    // Reconnect fast while a server restarts (the default starts at 1 s; `retry-after` still sets the floor).
    backoffOptions: { initialDelay: 50, maxDelay: 500, multiplier: 1.5 },
    // A refused request is recorded and ends the stream (the tests then see it in `errors`).
    onError: (error) => {
      errors.push(error);
    },
  });
  stream.subscribe((messages) => {
    for (const message of messages) if ('control' in message.headers && message.headers.control === 'must-refetch') refetches++;
    const handle = stream.shapeHandle;
    if (handle && handles.at(-1) !== handle) handles.push(handle);
  });
  const shape = new Shape(stream);
  return {
    name,
    stream,
    shape,
    refetches: () => refetches,
    handles: () => handles,
    errors,
    rows: () => new Map(shape.currentRows.map((row: ClientRow) => [JSON.stringify([row.id]), { ...row }])),
    stop: () => {
      stream.unsubscribeAll();
      shape.unsubscribeAll();
      controller.abort();
    },
  };
}

/** Waits until the client has everything the server holds durably for its current handle. */
export async function caughtUp(client: FollowedShape, reads: () => ShapeReads, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const handle = client.stream.shapeHandle;
    if (client.errors.length > 0) throw new Error(`${client.name}: the client stopped on an error: ${String(client.errors[0])}`);
    if (handle && client.stream.isUpToDate && reads().shape(handle)) {
      const at = parseLogOffset(client.stream.lastOffset);
      const last = await reads().lastOffset(handle);
      if (at && compareLogOffsets(at, last) >= 0) return;
    }
    if (Date.now() > deadline) throw new Error(`${client.name}: not caught up after ${timeoutMs} ms (handle ${handle}, offset ${client.stream.lastOffset}, up to date ${client.stream.isUpToDate})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Rows as canonical JSON (sorted keys, undefined columns dropped), for equality with an oracle. */
export function canonicalRows(rows: ReadonlyMap<string, Readonly<Record<string, unknown>>>): string {
  return JSON.stringify(
    [...rows]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, row]) => [key, Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)))]),
  );
}

/** The client's rows become `expected` (a response's rows reach `Shape` a moment after its offset does). */
export async function expectRows(client: FollowedShape, expected: ReadonlyMap<string, Readonly<Record<string, unknown>>>, context = '', timeoutMs = 5_000): Promise<void> {
  const want = canonicalRows(expected);
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline && canonicalRows(client.rows()) !== want; ) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(canonicalRows(client.rows()), `${client.name}${context}`).toBe(want);
}
