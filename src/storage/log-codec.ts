import { decodeFramedLines, encodeFramedLines, type DecodedFramedLines } from './framed-lines.ts';
import type { LogEntry } from './storage.ts';

/** A shape log (and a table log of the row store): framed lines of `{ xid, op, key, row }`. */
export function encodeLogEntries(entries: readonly LogEntry[]): string {
  return encodeFramedLines(entries.map((e) => ({ xid: e.xid, op: e.op, key: e.key, row: e.row })));
}

export type DecodedLog = DecodedFramedLines<LogEntry>;

export function decodeLog(buffer: Buffer): DecodedLog {
  return decodeFramedLines<LogEntry>(buffer, logEntryProblem);
}

/** Why a parsed record is not a log entry (undefined when it is). */
export function logEntryProblem(value: unknown): string | undefined {
  return isLogEntry(value) ? undefined : 'entry lacks xid, op, key or row';
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
    (e.op === 'insert' || e.op === 'update' || e.op === 'delete') &&
    typeof e.key === 'string' &&
    typeof e.row === 'object' &&
    e.row !== null &&
    !Array.isArray(e.row)
  );
}
