import { parseLogOffset, type LogOffset } from '../shapes/log-offset.ts';
import { substituteParams } from './where-params.ts';

/** Field -> reasons, as Electric's 400 body carries them (`{"message": "Invalid request", "errors": ...}`). */
export type FieldErrors = Record<string, string[]>;

/** Collects reasons per field (a class, not a closure per request). */
export class FieldErrorList {
  readonly errors: FieldErrors = {};
  count = 0;

  add(field: string, reason: string): void {
    (this.errors[field] ??= []).push(reason);
    this.count++;
  }
}

/** What a client asked for: a shape definition (as given) and where in its log. */
export interface ShapeQuery {
  /** `now`: only where the log ends. */
  readonly offset: LogOffset | 'now';
  /** The client's handle (absent, and ignored, with `-1` or `now`). */
  readonly handle: string | null;
  readonly live: boolean;
  readonly cursor: string | null;
  /** The definition, with `$n` replaced by its parameter as a quoted literal. */
  readonly definition: { readonly table: string; readonly where?: string; readonly columns?: readonly string[]; readonly replica: 'default' | 'full' };
}

/**
 * Reads the query string of `GET /v1/shape` (Electric's `Params`): `table`, `where`,
 * `params[n]`, `columns`, `replica`, `offset`, `handle`, `live`, `cursor`, `log`. Unknown keys
 * are ignored (the client sends `cache-buster`, `expired_handle`). Every problem is collected
 * under its parameter's name.
 */
export function parseShapeQuery(search: URLSearchParams): { ok: true; query: ShapeQuery } | { ok: false; errors: FieldErrors } {
  const errors = new FieldErrorList();

  const rawOffset = search.get('offset');
  let offset: LogOffset | 'now' | null = null;
  if (rawOffset === null) errors.add('offset', "can't be blank");
  else if (rawOffset === 'now') offset = 'now';
  else if ((offset = parseLogOffset(rawOffset)) === null) errors.add('offset', 'has invalid format');

  const fromStart = offset === 'now' || (offset !== null && offset.tx < 0);
  const handle = fromStart ? null : search.get('handle');
  if (offset !== null && !fromStart && !handle) errors.add('handle', "can't be blank when offset != -1");

  const live = flag(search, 'live');
  if (live && offset === 'now') errors.add('live', "can't be true when offset is 'now'");
  else if (live && fromStart) errors.add('live', "can't be true when offset == -1");
  if (flag(search, 'live_sse') || flag(search, 'experimental_live_sse')) {
    errors.add('live_sse', live ? 'server-sent events are not supported by this server: use long polling (live=true without live_sse)' : "can't be true unless live is also true");
  }

  const log = search.get('log');
  if (log === 'changes_only') errors.add('log', 'changes_only is not supported by this server: use log=full (the initial snapshot, then every change)');
  else if (log !== null && log !== 'full') errors.add('log', 'is invalid');
  for (const key of search.keys()) {
    if (key.startsWith('subset__')) {
      errors.add('subset', 'subset snapshots are not supported by this server');
      break;
    }
  }

  const definition = parseDefinitionParams(search, errors);

  if (errors.count > 0 || offset === null || !definition) return { ok: false, errors: errors.errors };
  return { ok: true, query: { offset, handle, live, cursor: search.get('cursor'), definition } };
}

export type RequestedDefinition = ShapeQuery['definition'];

/** `table`, `where` with `params[n]`, `columns`, `replica`: the shape a request names (null when `table` is missing or a part is bad). */
export function parseDefinitionParams(search: URLSearchParams, errors: FieldErrorList): RequestedDefinition | null {
  const before = errors.count;
  const table = search.get('table');
  if (!table) errors.add('table', "can't be blank");
  const replica = search.get('replica') ?? 'default';
  if (replica !== 'default' && replica !== 'full') errors.add('replica', 'is invalid');

  let columns: string[] | undefined;
  const rawColumns = search.get('columns');
  if (rawColumns !== null) {
    const split = splitColumnList(rawColumns);
    if (typeof split === 'string') errors.add('columns', split);
    else columns = split;
  }

  let where = search.get('where') ?? undefined;
  const params = positionalParams(search, errors);
  if (where !== undefined && params) {
    const substituted = substituteParams(where, params);
    if (substituted.ok) where = substituted.sql;
    else errors.add('params', substituted.reason);
  }
  if (errors.count > before || !table) return null;
  return { table, ...(where !== undefined && where.trim() !== '' ? { where } : {}), ...(columns ? { columns } : {}), replica: replica as 'default' | 'full' };
}

/** Electric's booleans: present and not `false` is true (a bare `&live` counts). */
function flag(search: URLSearchParams, key: string): boolean {
  const value = search.get(key);
  return value !== null && value !== 'false';
}

/** `params[1]=...&params[2]=...` (positional `$n` values); null when there are none. */
function positionalParams(search: URLSearchParams, errors: FieldErrorList): Map<number, string> | null {
  const params = new Map<number, string>();
  for (const [key, value] of search) {
    if (key === 'params') {
      errors.add('params', 'must be given as params[1]=...&params[2]=... (one per positional $n)');
      continue;
    }
    const match = /^params\[(.*)\]$/.exec(key);
    if (!match) continue;
    if (!/^[1-9]\d{0,3}$/.test(match[1]!)) errors.add('params', `${key}: the key must be a positive integer (params[1] for $1)`);
    else params.set(Number(match[1]), value);
  }
  return params.size > 0 ? params : null;
}

/** A comma-separated column list; quoted identifiers may hold commas (`"a,b",c`). A string is the reason it is not one. */
export function splitColumnList(text: string): string[] | string {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      if (quoted && text[i + 1] === '"') {
        current += '""';
        i++;
        continue;
      }
      quoted = !quoted;
      current += ch;
    } else if (ch === ',' && !quoted) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  if (quoted) return 'has an unterminated quoted identifier';
  out.push(current);
  if (out.some((c) => c.trim() === '')) return 'Invalid zero-length identifier';
  return out.map((c) => c.trim());
}
