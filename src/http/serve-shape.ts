import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RuntimeLogger } from '../logging/runtime-logger.ts';
import { ShapeRuntimeError, type AddedShape, type ServedShape, type ShapeReads } from '../runtime/index.ts';
import { normalizeShape, tableNameOf } from '../shapes/definition.ts';
import { BEFORE_ALL, compareLogOffsets, formatLogOffset, maxLogOffset, type LogOffset } from '../shapes/log-offset.ts';
import type { LogPage } from '../storage/storage.ts';
import { CACHE, HttpError, invalidRequest, matchesEtag, nextCursor, send, serverStopping } from './http-responses.ts';
import { validateNewShape } from './new-shape-checks.ts';
import type { ShapeQuery } from './shape-params.ts';
import { encodeEntries, messageContext, MUST_REFETCH_BODY, snapshotEndMessage, upToDateMessage, type Message } from './shape-messages.ts';
import { creationError, definitionError } from './shape-definition-errors.ts';
import type { EncodedPage, SnapshotChunkCache } from './snapshot-chunks.ts';

export interface ShapeServing {
  readonly reads: ShapeReads;
  /** Creates a shape (and its dependency shapes): the runtime's `add`, or the Postgres source's. */
  readonly add: (definition: ShapeQuery['definition']) => Promise<AddedShape>;
  readonly longPollMs: number;
  readonly chunkBytes: number;
  readonly txids: boolean;
  readonly logger: RuntimeLogger;
  /** True once the handler is closing: held requests end with a 503. */
  readonly closing: () => boolean;
  /** Live requests waiting for entries now. */
  waiting: number;
  readonly snapshots: SnapshotChunkCache;
}

/**
 * `GET /v1/shape`, as Electric's `Api` resolves and serves it: find the handle serving the
 * requested definition (creating the shape on first request), answer 409 must-refetch when the
 * client's handle is not that one, then serve the log after the client's offset; a live
 * request with nothing to serve waits until entries are durable, its timeout, or the shape's
 * removal (then a 409 naming the handle that now serves the definition).
 */
export async function serveShape(serving: ShapeServing, query: ShapeQuery, req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const handle = await resolveHandle(serving, query);
  if (handle.mustRefetch) return mustRefetch(res, handle.handle);
  try {
    await serveHandle(serving, handle.handle, query, req, res, signal);
  } catch (error) {
    // Removed between being found and being read: as a removal while waiting.
    if (!(error instanceof ShapeRuntimeError) || (error.code !== 'shape-removed' && error.code !== 'unknown-shape')) throw error;
    mustRefetch(res, await currentHandle(serving, query), error.removal?.reason);
  }
}

async function serveHandle(serving: ShapeServing, handle: string, query: ShapeQuery, req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const shape = serving.reads.shape(handle);
  if (!shape) return mustRefetch(res, await currentHandle(serving, query));
  if (query.offset === 'now') return serveNow(serving, shape, query, req, res);

  const offset = query.offset;
  const outOfBounds = await waitWhileOutOfBounds(serving, shape.handle, offset, signal);
  if (outOfBounds === 'removed') return mustRefetch(res, await currentHandle(serving, query));
  if (outOfBounds === 'stopped') throw serverStopping();
  if (outOfBounds !== 'in-bounds') {
    if (outOfBounds === 'gone') return;
    throw invalidRequest({ offset: ['out of bounds for this shape'] });
  }
  if (offset.tx <= 0 && offset.op !== Infinity) {
    // The snapshot: the same for every client of this handle, encoded once.
    const chunk = await serving.snapshots.get(shape.handle, offset, serving.chunkBytes, async () => encodePage(serving, shape, await serving.reads.readLogPage(shape.handle, { after: offset, maxBytes: serving.chunkBytes })));
    return servePage(serving, shape, query, offset, chunk, req, res);
  }
  let page = await serving.reads.readLogPage(shape.handle, { after: offset, maxBytes: serving.chunkBytes });
  if (query.live && page.entries.length === 0 && compareLogOffsets(page.next, offset) === 0) {
    serving.waiting++;
    const wait = await serving.reads.waitForEntries(shape.handle, offset, { timeoutMs: serving.longPollMs, signal }).finally(() => serving.waiting--);
    if (wait.status === 'aborted') {
      if (serving.closing()) throw serverStopping();
      return; // the client went away
    }
    if (wait.status === 'stopped') throw serverStopping();
    if (wait.status === 'removed') {
      serving.logger.info({ handle: shape.handle, reason: wait.removal.reason, cause: wait.removal.cause }, 'live request: shape removed, client must refetch');
      return mustRefetch(res, await currentHandle(serving, query), wait.removal.reason);
    }
    if (wait.status === 'timeout') return noChange(serving, shape, query, req, res);
    page = await serving.reads.readLogPage(shape.handle, { after: offset, maxBytes: serving.chunkBytes });
  }
  await servePage(serving, shape, query, offset, await encodePage(serving, shape, page), req, res);
}

async function encodePage(serving: ShapeServing, shape: ServedShape, page: LogPage): Promise<EncodedPage> {
  const table = tableNameOf(shape.definition);
  const parts: Message[] = [];
  encodeEntries(page.entries, messageContext([table.schema, table.name], shape.keyColumns, await serving.reads.columns(shape.handle), serving.txids), parts);
  return { messages: JSON.stringify(parts).slice(1, -1), next: page.next, snapshotEnded: page.snapshotEnded, entries: page.entries.length };
}

async function servePage(serving: ShapeServing, shape: ServedShape, query: ShapeQuery, offset: LogOffset, page: EncodedPage, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { reads } = serving;
  const tail: Message[] = [];
  if (page.snapshotEnded && offset.tx <= 0 && offset.op !== Infinity) tail.push(snapshotEndMessage(reads.position(), serving.txids));
  const last = await reads.lastOffset(shape.handle);
  // Electric's `determine_up_to_date`: never on `-1` (its long max-age must stay valid).
  const upToDate = offset.tx >= 0 && compareLogOffsets(page.next, maxLogOffset(last, offset)) >= 0;
  if (upToDate) tail.push(upToDateMessage(query.live ? page.next.tx : Math.max(reads.position(), page.next.tx)));
  const etag = `${shape.handle}:${formatLogOffset(offset)}:${formatLogOffset(page.next)}`;
  const headers = shapeHeaders(serving, shape, query, page.next, upToDate, true);
  headers.etag = `"${etag}"`;
  if (!query.live) headers['electric-schema'] = schemaHeader(await reads.columns(shape.handle));
  if (matchesEtag(req, etag)) return send(res, 304, '', headers);
  const rest = tail.length > 0 ? JSON.stringify(tail).slice(1, -1) : '';
  send(res, 200, `[${page.messages}${page.messages && rest ? ',' : ''}${rest}]`, headers);
}

/** A live request that timed out: `[up-to-date]`, nothing new (an ETag that never revalidates). */
function noChange(serving: ShapeServing, shape: ServedShape, query: ShapeQuery, _req: IncomingMessage, res: ServerResponse): void {
  const offset = query.offset as LogOffset;
  const headers = shapeHeaders(serving, shape, query, offset, true, false);
  headers.etag = `"${shape.handle}:${formatLogOffset(offset)}:${formatLogOffset(offset)}:${process.hrtime.bigint()}"`;
  send(res, 200, JSON.stringify([upToDateMessage(serving.reads.position())]), headers);
}

/** `offset=now`: where the log ends, with up-to-date and no data. */
async function serveNow(serving: ShapeServing, shape: ServedShape, query: ShapeQuery, _req: IncomingMessage, res: ServerResponse): Promise<void> {
  const last = await serving.reads.lastOffset(shape.handle);
  const headers = shapeHeaders(serving, shape, query, last, true, false);
  headers['electric-schema'] = schemaHeader(await serving.reads.columns(shape.handle));
  send(res, 200, JSON.stringify([upToDateMessage(serving.reads.position())]), headers);
}

function shapeHeaders(serving: ShapeServing, shape: ServedShape, query: ShapeQuery, next: LogOffset, upToDate: boolean, hasData: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'electric-handle': shape.handle,
    'electric-offset': formatLogOffset(next),
    'electric-has-data': hasData ? 'true' : 'false',
    'cache-control': query.live ? CACHE.live : query.offset !== 'now' && compareLogOffsets(query.offset, BEFORE_ALL) === 0 ? CACHE.initial : CACHE.catchUp,
  };
  if (upToDate) headers['electric-up-to-date'] = '';
  if (query.live) headers['electric-cursor'] = nextCursor(serving.longPollMs, query.cursor);
  return headers;
}

/** Electric's `electric-schema`: column -> {type, dims?, pk_index?, not_null?}; untyped columns are left out (their values are sent as they are held). */
function schemaHeader(columns: readonly { name: string; type: string | null; dims?: number; pkIndex?: number; notNull?: boolean }[]): string {
  const schema: Record<string, Record<string, unknown>> = {};
  for (const c of columns) {
    if (c.type === null) continue;
    schema[c.name] = { type: c.type, ...(c.dims ? { dims: c.dims } : {}), ...(c.pkIndex !== undefined ? { pk_index: c.pkIndex } : {}), ...(c.notNull ? { not_null: true } : {}) };
  }
  return JSON.stringify(schema);
}

function mustRefetch(res: ServerResponse, handle: string | null, removedReason?: string): void {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': handle ? CACHE.mustRefetch : CACHE.mustRefetchNoHandle,
  };
  if (handle) headers['electric-handle'] = handle;
  if (removedReason) headers['shape-actors-removed-reason'] = removedReason;
  send(res, 409, MUST_REFETCH_BODY, headers);
}

/**
 * Electric's `handle_shape_info`: no handle (or `-1` / `now`): the definition's handle, the shape
 * created when there is none. A handle that is the definition's: served. Any other handle
 * (unknown, removed, or another definition's): 409 with the definition's handle, the shape
 * created first when there is none (a removed handle is never served again).
 */
async function resolveHandle(serving: ShapeServing, query: ShapeQuery): Promise<{ handle: string; mustRefetch: boolean }> {
  const active = await serving.reads.handleFor(query.definition).catch((error: unknown) => Promise.reject(definitionError(error)));
  if (query.handle === null || query.handle === active) return { handle: active ?? (await create(serving, query)), mustRefetch: false };
  return { handle: active ?? (await create(serving, query)), mustRefetch: true };
}

/** The handle serving the request's definition now (created when missing), or null when it cannot be created. */
async function currentHandle(serving: ShapeServing, query: ShapeQuery): Promise<string | null> {
  try {
    return (await serving.reads.handleFor(query.definition)) ?? (await create(serving, query));
  } catch {
    return null;
  }
}

async function create(serving: ShapeServing, query: ShapeQuery): Promise<string> {
  await validateNewShape(serving.reads, query.definition);
  try {
    return (await serving.add(query.definition)).handle;
  } catch (error) {
    throw creationError(error, normalizeShape(query.definition).definition.table);
  }
}

/**
 * Electric's out-of-bounds rule: an offset past the shape's end is held (half the long-poll
 * timeout) in case the client is a little ahead (a restart, a handover), then refused.
 */
async function waitWhileOutOfBounds(serving: ShapeServing, handle: string, offset: LogOffset, signal: AbortSignal): Promise<'in-bounds' | 'out-of-bounds' | 'removed' | 'stopped' | 'gone'> {
  const deadline = Date.now() + serving.longPollMs / 2;
  for (let last = await serving.reads.lastOffset(handle); compareLogOffsets(offset, last) > 0; ) {
    const left = deadline - Date.now();
    if (left <= 0) return 'out-of-bounds';
    const wait = await serving.reads.waitForEntries(handle, last, { timeoutMs: left, signal });
    if (wait.status === 'timeout') return 'out-of-bounds';
    if (wait.status === 'aborted') return serving.closing() ? 'stopped' : 'gone';
    if (wait.status !== 'entries') return wait.status;
    last = wait.last;
  }
  return 'in-bounds';
}

export { HttpError };
