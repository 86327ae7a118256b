import { decodeEveryFramedLine, encodeFramedLines } from '../framed-lines.ts';
import { logEntryProblem } from '../log-codec.ts';
import type { LogEntry } from '../storage.ts';
import type { Row } from '../../shapes/where/evaluate.ts';

/**
 * A table's log (`tables/<table>.jsonl`): framed lines of `{ xid, op, key, row }`,
 * appended as transactions are flushed. A compacted log starts with a header,
 * `{ compacted: { through, rows } }`, followed by one insert per live row as of
 * transaction `through` (each carrying that xid), then whatever was appended since.
 */
export interface CompactionHeader {
  readonly through: number;
  readonly rows: number;
}

export interface BadLine {
  /** 1-based. */
  readonly line: number;
  readonly reason: string;
  /** Byte offset where it starts. */
  readonly start: number;
}

export interface DecodedTableLog {
  readonly header: CompactionHeader | null;
  readonly records: readonly LogEntry[];
  /** Where each record's line ends, in bytes (`ends[i]` for `records[i]`). */
  readonly ends: readonly number[];
  /** Where the header's line ends (0 without one). */
  readonly headerEnd: number;
  /** Bad lines with whole lines after them: records lost (damage, never cut away). */
  readonly bad: readonly BadLine[];
  /** A bad last line: an append that never completed (its transaction was never acknowledged). */
  readonly torn: BadLine | null;
  /** Where a torn last line starts (the file's length when there is none). */
  readonly validBytes: number;
  /** Highest xid it records (the header's `through` counts); 0 when none. */
  readonly lastXid: number;
}

type TableLine = LogEntry | { readonly compacted: CompactionHeader };

function isHeader(value: unknown): value is { compacted: CompactionHeader } {
  if (typeof value !== 'object' || value === null || !('compacted' in value)) return false;
  const h = (value as { compacted: unknown }).compacted;
  if (typeof h !== 'object' || h === null) return false;
  const { through, rows } = h as Record<string, unknown>;
  return Object.keys(value).length === 1 && Number.isSafeInteger(through) && (through as number) >= 0 && Number.isSafeInteger(rows) && (rows as number) >= 0;
}

const lineProblem = (value: unknown): string | undefined => (isHeader(value) ? undefined : logEntryProblem(value));

/** Reads every line: a bad line in the middle is noted and skipped, the records after it are kept. */
export function decodeTableLog(buffer: Buffer): DecodedTableLog {
  const records: LogEntry[] = [];
  const ends: number[] = [];
  const bad: BadLine[] = [];
  let header: CompactionHeader | null = null;
  let headerEnd = 0;
  let torn: BadLine | null = null;
  let validBytes = buffer.length;
  let lastXid = 0;
  for (const line of decodeEveryFramedLine<TableLine>(buffer, lineProblem)) {
    const record = line.record;
    let problem = line.problem;
    if (record && 'compacted' in record) {
      if (line.line === 1) {
        header = record.compacted;
        headerEnd = line.end;
        lastXid = Math.max(lastXid, header.through);
        continue;
      }
      problem = 'compaction header not on the first line';
    }
    if (problem !== undefined) {
      if (line.end >= buffer.length) {
        torn = { line: line.line, reason: problem, start: line.start };
        validBytes = line.start;
      } else bad.push({ line: line.line, reason: problem, start: line.start });
      continue;
    }
    const entry = record as LogEntry;
    records.push(entry);
    ends.push(line.end);
    if (entry.xid > lastXid) lastXid = entry.xid;
  }
  return { header, records, ends, headerEnd, bad, torn, validBytes, lastXid };
}

/**
 * Where the log is cut to undo the transactions after `xid` (records are in
 * xid order): after its last record at or below it. Bad lines past that point
 * are in the undone region and go with it.
 */
export function tableLogThrough(decoded: DecodedTableLog, xid: number): { readonly bytes: number; readonly records: number } {
  let i = decoded.records.length;
  while (i > 0 && decoded.records[i - 1]!.xid > xid) i--;
  return { bytes: i === 0 ? decoded.headerEnd : decoded.ends[i - 1]!, records: i };
}

/** A compacted log: the header, then an insert of each live row as of `through`. */
export function encodeCompactedTable(through: number, rows: ReadonlyMap<string, Row>): string {
  const lines: TableLine[] = [{ compacted: { through, rows: rows.size } }];
  for (const [key, row] of rows) lines.push({ xid: through, op: 'insert', key, row });
  return encodeFramedLines(lines);
}
