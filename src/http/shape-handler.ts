import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { silentLogger, type RuntimeLogger } from '../logging/runtime-logger.ts';
import { ShapeRuntimeError, type AddedShape, type ShapeRuntime } from '../runtime/index.ts';
import { DEFAULT_PAGE_BYTES } from '../storage/log-pages.ts';
import { CACHE, corsHeaders, HttpError, invalidRequest, send, sendError, sendJson, serverStopping } from './http-responses.ts';
import { deleteShape } from './delete-shape.ts';
import { parseShapeQuery, type ShapeQuery } from './shape-params.ts';
import { serveShape, type ShapeServing } from './serve-shape.ts';
import { SnapshotChunkCache } from './snapshot-chunks.ts';

export interface ShapeHandlerOptions {
  readonly runtime: ShapeRuntime;
  /** How a requested shape is created (default `runtime.add`); when following Postgres, the source's `add`, which checks the catalog and syncs its tables first. */
  readonly add?: (definition: ShapeQuery['definition']) => Promise<AddedShape>;
  /** When set, `/v1/shape` needs `?secret=<it>` (or `api_secret`): 401 otherwise. */
  readonly secret?: string;
  /** Allow `DELETE /v1/shape` (405 otherwise, as Electric). */
  readonly allowDeletion?: boolean;
  /** How long a live request is held when nothing is new (default 20 s; the client aborts at 45 s). */
  readonly longPollMs?: number;
  /** Bytes of log per response, roughly (default 10 MiB, Electric's chunk size; a transaction is never split). */
  readonly chunkBytes?: number;
  /** Requests served at once: for shapes not yet known (`initial`, default 300) and known ones (`existing`, default 10,000). */
  readonly maxConcurrent?: { readonly initial?: number; readonly existing?: number };
  /** Put `txids: [xid]` on changes without a Postgres transaction id (default true: right for the embedded store; a Postgres commit LSN is not a txid). Changes from Postgres carry `txids: [pgXid]` regardless. */
  readonly txids?: boolean;
  /** More of the server's state for `GET /v1/health`, beside `status` (serve following Postgres: whether it caught up). */
  readonly health?: () => Readonly<Record<string, unknown>>;
  readonly logger?: RuntimeLogger;
}

/** A `node:http` request handler (also an Express/Fastify middleware): Electric's shape API. */
export interface ShapeHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Ends held live requests (503, retry shortly) and refuses new ones; resolves once none is in flight. */
  close(): Promise<void>;
  /** Requests in flight, by kind, and the live ones among them waiting for entries. */
  readonly inFlight: { readonly initial: number; readonly existing: number; readonly waiting: number };
}

export const SERVER_HEADER = 'shape-actors/0.1.0';

/**
 * Electric's HTTP shape API over a runtime: `GET /v1/shape` (the log, live), `DELETE /v1/shape`
 * (opt-in), `OPTIONS /v1/shape` (CORS preflight), `GET /v1/health`, `GET /`. Paths match exactly
 * (`/v1/shape/` or `/v1/%73hape` are not routes, so no variant escapes the secret). Every
 * refusal is a status and a JSON reason; an unexpected failure is a 500 that says nothing more
 * (the log has it); no request changes a shape unless it creates or deletes one.
 */
export function createShapeHandler(options: ShapeHandlerOptions): ShapeHandler {
  const { runtime } = options;
  const logger = options.logger ?? silentLogger;
  const limits = { initial: options.maxConcurrent?.initial ?? 300, existing: options.maxConcurrent?.existing ?? 10_000 };
  const inFlight = { initial: 0, existing: 0 };
  const held = new Set<AbortController>();
  let closing = false;
  let drained: (() => void) | null = null;
  const serving: ShapeServing = {
    reads: runtime.reads,
    add: options.add ?? ((definition) => runtime.add(definition)),
    longPollMs: options.longPollMs ?? 20_000,
    chunkBytes: options.chunkBytes ?? DEFAULT_PAGE_BYTES,
    txids: options.txids ?? true,
    logger,
    closing: () => closing,
    waiting: 0,
    snapshots: new SnapshotChunkCache(),
  };
  const secret = options.secret ? Buffer.from(options.secret) : null;

  async function route(req: IncomingMessage, res: ServerResponse, url: URL, signal: AbortSignal): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const shapeRoute = path === '/v1/shape';
    for (const [name, value] of Object.entries(corsHeaders(req, shapeRoute))) res.setHeader(name, value);
    if (path === '/' && (method === 'GET' || method === 'HEAD')) return send(res, 200, '', {});
    if (path === '/v1/health' && (method === 'GET' || method === 'HEAD')) {
      const up = runtime.actor.getSnapshot().status === 'active' && !closing;
      return sendJson(res, up ? 200 : 503, { status: up ? 'active' : 'stopping', ...options.health?.() }, { 'cache-control': CACHE.health });
    }
    if (!shapeRoute) return sendJson(res, 404, { message: 'Not found' }, { 'cache-control': 'no-store' });
    if (method === 'OPTIONS') {
      return send(res, 204, '', { 'access-control-max-age': '86400', 'access-control-allow-headers': 'if-none-match, traceparent' });
    }
    if (secret && !hasSecret(url, secret)) throw new HttpError(401, { message: 'Unauthorized - Invalid API secret' });
    if (closing) throw serverStopping();
    if (method === 'DELETE') {
      if (!options.allowDeletion) throw new HttpError(405, { message: 'DELETE not allowed' }, { allow: 'GET, HEAD, OPTIONS' });
      return deleteShape(serving, runtime, url.searchParams, res);
    }
    if (method === 'POST') throw invalidRequest({ subset: ['subset snapshots (POST /v1/shape) are not supported by this server'] });
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, { message: `${method} not allowed` }, { allow: 'GET, HEAD, DELETE, OPTIONS' });
    const parsed = parseShapeQuery(url.searchParams);
    if (!parsed.ok) throw invalidRequest(parsed.errors);
    const kind = parsed.query.handle && runtime.reads.shape(parsed.query.handle) ? 'existing' : 'initial';
    if (inFlight[kind] >= limits[kind]) {
      throw new HttpError(
        503,
        { code: 'concurrent_request_limit_exceeded', message: `too many concurrent ${kind} requests (${limits[kind]}): retry later` },
        { 'retry-after': String(5 + Math.floor(Math.random() * 6)), 'electric-internal-known-error': 'true' },
      );
    }
    inFlight[kind]++;
    try {
      await serveShape(serving, parsed.query, req, res, signal);
    } finally {
      inFlight[kind]--;
    }
  }

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    const controller = new AbortController();
    held.add(controller);
    // The client going away ends a held request (its wait, its timer) at once.
    const gone = controller.abort.bind(controller);
    res.on('close', gone);
    res.setHeader('electric-server', SERVER_HEADER);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      url = new URL('http://localhost/invalid');
    }
    route(req, res, url, controller.signal)
      .catch((error: unknown) => {
        if (error instanceof HttpError) return sendError(res, error);
        if (error instanceof ShapeRuntimeError && (error.code === 'runtime-stopped' || error.code === 'runtime-failed')) {
          return sendError(res, serverStopping());
        }
        logger.error({ err: error instanceof Error ? error.message : String(error), path: url.pathname }, 'shape request failed');
        sendError(res, new HttpError(500, { error: 'Internal server error' }));
      })
      .finally(() => {
        res.off('close', gone);
        held.delete(controller);
        if (closing && held.size === 0) drained?.();
      });
  }) as ShapeHandler;

  Object.defineProperty(handler, 'inFlight', { get: () => ({ ...inFlight, waiting: serving.waiting }) });
  handler.close = () => {
    closing = true;
    const done = held.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve));
    for (const controller of held) controller.abort();
    return done;
  };
  return handler;
}

function hasSecret(url: URL, secret: Buffer): boolean {
  const given = url.searchParams.get('secret') ?? url.searchParams.get('api_secret');
  if (given === null) return false;
  const bytes = Buffer.from(given);
  return bytes.length === secret.length && timingSafeEqual(bytes, secret);
}
