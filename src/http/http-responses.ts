import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FieldErrors } from './shape-params.ts';

/** Every `electric-*` header a browser must be allowed to read (Electric's CORS list). */
export const EXPOSED_HEADERS = 'electric-cursor,electric-handle,electric-has-data,electric-offset,electric-schema,electric-up-to-date,electric-internal-known-error,retry-after';

/** Cache-control as Electric sets it (`Response.put_cache_headers`). */
export const CACHE = {
  initial: 'public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746',
  live: 'public, max-age=5, stale-while-revalidate=5',
  catchUp: 'public, max-age=60, stale-while-revalidate=300',
  mustRefetch: 'public, max-age=60, must-revalidate',
  mustRefetchNoHandle: 'public, max-age=1, must-revalidate',
  health: 'no-cache, no-store, must-revalidate',
  noCache: 'no-cache',
} as const;

/** A refusal: a status and a JSON body that says why (never a stack trace). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(typeof body.message === 'string' ? body.message : String(body.error ?? status));
  }
}

export function invalidRequest(errors: FieldErrors): HttpError {
  return new HttpError(400, { message: 'Invalid request', errors });
}

export function unavailable(code: string, message: string, retryAfterSeconds: number): HttpError {
  return new HttpError(503, { code, message }, { 'retry-after': String(retryAfterSeconds), 'electric-internal-known-error': 'true' });
}

/** The server is stopping (or its runtime is): held and new requests are told to retry shortly. */
export function serverStopping(): HttpError {
  return unavailable('server_stopping', 'the server is stopping: retry shortly', 1);
}

export function corsHeaders(req: IncomingMessage, shapeRoute: boolean): Record<string, string> {
  const origin = req.headers.origin;
  return {
    'access-control-allow-origin': typeof origin === 'string' && origin !== '' ? origin : '*',
    'access-control-expose-headers': EXPOSED_HEADERS,
    'access-control-allow-methods': shapeRoute ? 'GET, POST, HEAD, DELETE, OPTIONS' : 'GET, HEAD',
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8', ...headers });
}

export function sendError(res: ServerResponse, error: HttpError): void {
  const cache: Record<string, string> = error.status >= 400 ? { 'cache-control': 'no-store', 'surrogate-control': 'no-store' } : {};
  sendJson(res, error.status, error.body, { ...cache, ...error.headers });
}

/** Writes a whole response (HEAD: the headers only), unless the client has gone. */
export function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  if (res.destroyed || res.headersSent) return;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.statusCode = status;
  if (res.req.method === 'HEAD' || status === 204 || status === 304) {
    res.end();
    return;
  }
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

const CURSOR_EPOCH_SECONDS = Date.UTC(2024, 9, 9) / 1000;

/**
 * `electric-cursor`: the next long-poll interval's end, in seconds since 2024-10-09 (Electric's
 * `get_next_interval_timestamp`), so cached live responses of past intervals are not served
 * again; when that is not past the request's cursor, the cursor plus 1 to 3600.
 */
export function nextCursor(longPollMs: number, requestCursor: string | null, now = Date.now()): string {
  const interval = Math.max(1, Math.round(longPollMs / 1000));
  const next = Math.ceil((now / 1000 - CURSOR_EPOCH_SECONDS) / interval) * interval;
  const previous = requestCursor !== null && /^\d{1,15}$/.test(requestCursor) ? Number(requestCursor) : null;
  if (previous !== null && next <= previous) return String(previous + 1 + Math.floor(Math.random() * 3600));
  return String(next);
}

/** Whether an If-None-Match header names this ETag (comma-separated, quoted or not). */
export function matchesEtag(req: IncomingMessage, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '').replace(/^"|"$/g, '') === etag);
}
