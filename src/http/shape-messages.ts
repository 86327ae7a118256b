import type { ShapeColumn } from '../runtime/index.ts';
import type { PositionedEntry } from '../storage/storage.ts';

/**
 * The body of a shape response, Electric's way: a JSON array of messages. A change is
 * `{"key", "value", "headers": {"operation", "relation", "lsn", "op_position", "txids", "last"}}`;
 * a snapshot row has only `operation` and `relation`. A subquery shape's move-in is a plain
 * `insert` and its move-out a plain `delete` (the shape's log holds them so), which the
 * client's `Shape` applies like any other change.
 */
export interface MessageContext {
  readonly relation: readonly [schema: string, table: string];
  readonly keyColumns: readonly string[];
  /**
   * How each column's values go: a typed column's as Postgres text (`array`: an array column's
   * as a Postgres array literal, which the client parses by the schema's `dims`); a column absent
   * here (untyped) as the JSON value held.
   */
  readonly encodings: ReadonlyMap<string, 'text' | 'array'>;
  /**
   * Put `txids: [xid]` on changes that carry no Postgres transaction id (the embedded store's xid is
   * the caller's transaction id; Postgres' commit LSN is not a txid). A change from Postgres carries
   * `txids: [pgXid]` whatever this says, as Electric sends them.
   */
  readonly txids: boolean;
}

export function messageContext(relation: readonly [string, string], keyColumns: readonly string[], columns: readonly ShapeColumn[], txids: boolean): MessageContext {
  const encodings = new Map<string, 'text' | 'array'>();
  for (const c of columns) if (c.type !== null) encodings.set(c.name, c.dims ? 'array' : 'text');
  return { relation, keyColumns, encodings, txids };
}

export type Message = Record<string, unknown>;

/** Appends the messages of `entries` (in log order) to `out`, to be serialised with the rest of the body at once. */
export function encodeEntries(entries: readonly PositionedEntry[], context: MessageContext, out: Message[]): void {
  const prefix = relationKeyPrefix(context.relation);
  const relation = context.relation;
  for (let i = 0; i < entries.length; i++) {
    const { offset, entry } = entries[i]!;
    const key = prefix + keySections(entry.row, context.keyColumns);
    const value = encodeRow(entry.row, context.encodings);
    if (offset.tx === 0) {
      out.push({ key, value, headers: { operation: entry.op, relation } });
      continue;
    }
    const headers: Record<string, unknown> = { operation: entry.op, relation, lsn: String(offset.tx), op_position: offset.op };
    if (entry.pgXid !== undefined) headers.txids = [entry.pgXid];
    else if (context.txids) headers.txids = [offset.tx];
    if (entries[i + 1]?.offset.tx !== offset.tx) headers.last = true;
    out.push({ key, value, headers });
  }
}

export function upToDateMessage(globalLastSeenLsn: number): Message {
  return { headers: { control: 'up-to-date', global_last_seen_lsn: String(globalLastSeenLsn) } };
}

/**
 * Ends an initial snapshot. Its `xmin`/`xmax` are transaction ids (a client such as TanStack DB
 * takes a txid below `xmin` as visible in the snapshot): on the embedded store, where the xid is
 * the caller's transaction id, both are the position it was read at; when the xid is no
 * transaction id (following Postgres: a commit LSN), both are 0, which claims no transaction visible.
 */
export function snapshotEndMessage(position: number, txids: boolean): Message {
  const bound = String(txids ? position : 0);
  return { headers: { control: 'snapshot-end', xmin: bound, xmax: bound, xip_list: [] } };
}

export const MUST_REFETCH_BODY = '[{"headers":{"control":"must-refetch"}}]';

/** `"schema"."table"`, with `/` and `.` doubled inside the names (Electric's `build_key`). */
function relationKeyPrefix([schema, table]: readonly [string, string]): string {
  const escape = (part: string) => part.replaceAll('/', '//').replaceAll('.', '..');
  return `"${escape(schema)}"."${escape(table)}"`;
}

/** `/"<key value>"` per key column (`/` doubled inside), `/_` for NULL. */
function keySections(row: Readonly<Record<string, unknown>>, keyColumns: readonly string[]): string {
  let out = '';
  for (const column of keyColumns) {
    const value = row[column];
    out += value === null || value === undefined ? '/_' : `/"${textOf(value).replaceAll('/', '//')}"`;
  }
  return out;
}

function encodeRow(row: Readonly<Record<string, unknown>>, encodings: ReadonlyMap<string, 'text' | 'array'>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column in row) {
    const value = row[column];
    const encoding = encodings.get(column);
    out[column] = value === null || value === undefined ? null : encoding === undefined ? value : encoding === 'array' && Array.isArray(value) ? arrayText(value) : textOf(value);
  }
  return out;
}

/** A JSON array as Postgres prints an array value: `{1,2}`, `{"a b",NULL}`, `{{1,2},{3,4}}`. */
export function arrayText(values: readonly unknown[]): string {
  const items = values.map((v) => (v === null || v === undefined ? 'NULL' : Array.isArray(v) ? arrayText(v) : arrayItem(textOf(v))));
  return `{${items.join(',')}}`;
}

/** An element quoted as Postgres quotes it: when empty, `NULL`, or holding a delimiter, a brace, a quote, a backslash or white space. */
function arrayItem(text: string): string {
  return text === '' || /^null$/i.test(text) || /[{},"\\\s]/.test(text) ? `"${text.replace(/[\\"]/g, '\\$&')}"` : text;
}

/** A value as Postgres prints it: booleans `t`/`f`, numbers in decimal, JSON documents as JSON text. */
export function textOf(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
      return value ? 't' : 'f';
    case 'number':
    case 'bigint':
      return String(value);
    default:
      return JSON.stringify(value);
  }
}
