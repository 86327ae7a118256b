import { decodeFramedLines, encodeFramedLines, type DecodedFramedLines } from './framed-lines.ts';
import type { LogEntry } from './storage.ts';

/**
 * A shape log (and a table log of the row store): framed lines of `{ xid, pgXid?, op, key, row }`
 * (`pgXid` only on entries of a transaction from Postgres; a line without it reads as before).
 * A shape's snapshot (the log written when it was created) is marked: `"snapshot": true` on
 * each of its lines, which come first. A log written before the mark existed has no marked
 * line; its entries of xid 0 (a shape created before any transaction) count as its snapshot.
 */
export function encodeLogEntries(entries: readonly LogEntry[], options: { readonly snapshot?: boolean } = {}): string {
  if (options.snapshot) return encodeFramedLines(entries.map((e) => ({ ...lineOf(e), snapshot: true })));
  return encodeFramedLines(entries.map(lineOf));
}

function lineOf(e: LogEntry): LogEntry {
  return e.pgXid === undefined ? { xid: e.xid, op: e.op, key: e.key, row: e.row } : { xid: e.xid, pgXid: e.pgXid, op: e.op, key: e.key, row: e.row };
}

export type DecodedLog = DecodedFramedLines<LogEntry>;

/** A line as decoded: an entry, maybe marked as the snapshot's. */
export type LogLine = LogEntry & { readonly snapshot?: true };

/** Decodes a log; entries come without the snapshot mark (`isSnapshotLine` reads it on a `decodeLogLines` line). */
export function decodeLog(buffer: Buffer): DecodedLog {
  const decoded = decodeLogLines(buffer);
  const records = decoded.records;
  for (let i = 0; i < records.length && records[i]!.snapshot; i++) records[i] = withoutMark(records[i]!);
  return decoded;
}

export function decodeLogLines(buffer: Buffer): DecodedFramedLines<LogLine> {
  return decodeFramedLines<LogLine>(buffer, logEntryProblem);
}

/** Why a parsed record is not a log entry (undefined when it is). */
export function logEntryProblem(value: unknown): string | undefined {
  return isLogEntry(value) ? undefined : 'entry lacks xid, op, key or row (or has a pgXid that is no number)';
}

export function isSnapshotLine(line: LogLine): boolean {
  return line.snapshot === true || line.xid === 0;
}

export function withoutMark(line: LogLine): LogEntry {
  return lineOf(line);
}

/** Byte length of the entries of transactions up to `xid` (entries are in xid order). */
export function bytesThroughXid(decoded: DecodedLog, xid: number): number {
  const i = decoded.records.findIndex((e) => e.xid > xid);
  return i === -1 ? decoded.validBytes : i === 0 ? 0 : decoded.ends[i - 1]!;
}

function isLogEntry(v: unknown): v is LogEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.xid === 'number' &&
    (e.pgXid === undefined || typeof e.pgXid === 'number') &&
    (e.op === 'insert' || e.op === 'update' || e.op === 'delete') &&
    typeof e.key === 'string' &&
    typeof e.row === 'object' &&
    e.row !== null &&
    !Array.isArray(e.row) &&
    (e.snapshot === undefined || e.snapshot === true)
  );
}
