import { crc32 } from 'node:zlib';
import type { LogDamage, LogEntry } from './storage.ts';

/**
 * A log line is `<crc32 hex>\t<entry JSON>\n`: the checksum catches a flipped
 * bit that would still be valid JSON, the newline marks a whole entry.
 */
export function encodeLogEntries(entries: readonly LogEntry[]): string {
  let out = '';
  for (const entry of entries) {
    const json = JSON.stringify({ xid: entry.xid, op: entry.op, key: entry.key, row: entry.row });
    out += `${checksum(json)}\t${json}\n`;
  }
  return out;
}

export interface DecodedLog {
  readonly entries: LogEntry[];
  /** Byte length of the whole entries (where a torn tail is cut back to). */
  readonly validBytes: number;
  readonly damage?: LogDamage;
}

export function decodeLog(buffer: Buffer): DecodedLog {
  const entries: LogEntry[] = [];
  let start = 0;
  let line = 0;
  while (start < buffer.length) {
    line++;
    const end = buffer.indexOf(0x0a, start);
    if (end === -1) {
      return { entries, validBytes: start, damage: { kind: 'torn-tail', line, reason: 'last line has no newline (interrupted append)' } };
    }
    const problem = decodeLine(buffer.toString('utf8', start, end), entries);
    if (problem) {
      // A bad final line is a torn append; a bad line with whole lines after it is damage.
      const kind = end + 1 >= buffer.length ? 'torn-tail' : 'corrupt-entry';
      return { entries, validBytes: start, damage: { kind, line, reason: problem } };
    }
    start = end + 1;
  }
  return { entries, validBytes: start };
}

function decodeLine(text: string, into: LogEntry[]): string | undefined {
  const tab = text.indexOf('\t');
  if (tab !== 8) return 'line is not "<checksum>\\t<entry>"';
  const json = text.slice(9);
  if (text.slice(0, 8) !== checksum(json)) return 'checksum mismatch';
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return 'entry is not JSON';
  }
  if (!isLogEntry(value)) return 'entry lacks xid, op, key or row';
  into.push(value);
  return undefined;
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

function checksum(text: string): string {
  return crc32(text).toString(16).padStart(8, '0');
}
