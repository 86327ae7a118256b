import { SNAPSHOT_END, type LogOffset } from '../shapes/log-offset.ts';
import { isSnapshotLine, withoutMark } from './log-codec.ts';
import type { LogFileReader } from './log-file-reader.ts';
import type { LogPage, LogPageRequest, PositionedEntry } from './storage.ts';

export const DEFAULT_PAGE_BYTES = 10 * 1024 * 1024;

/** Where the next snapshot page of a shape starts (its first entry's index and byte), kept from the last page. */
export interface SnapshotHint {
  readonly index: number;
  readonly byte: number;
}

/**
 * A page of a log file (see ShapeStorage.readLogPage). Snapshot lines come first; transaction
 * lines follow in xid order, so a transaction is found by binary search and the snapshot's k-th
 * line by counting newlines (from `hint` when the previous page ended there).
 */
export async function readFileLogPage(reader: LogFileReader, request: LogPageRequest, hint: SnapshotHint | undefined): Promise<{ page: LogPage; hint?: SnapshotHint }> {
  const { after } = request;
  const maxBytes = request.maxBytes ?? DEFAULT_PAGE_BYTES;
  const entries: PositionedEntry[] = [];
  let bytes = 0;
  if (after.tx <= 0 && after.op !== Infinity) {
    const first = after.tx < 0 ? 0 : after.op + 1;
    let index = first;
    const from = hint && hint.index <= first ? await reader.skipLines(hint.byte, first - hint.index) : await reader.skipLines(0, first);
    for await (const block of reader.lines(from)) {
      for (const { line, start, end } of block) {
        if (!isSnapshotLine(line)) return { page: { entries, next: SNAPSHOT_END, snapshotEnded: true } };
        if (entries.length > 0 && bytes + (end - start) > maxBytes) {
          return { page: { entries, next: entries.at(-1)!.offset, snapshotEnded: false }, hint: { index, byte: start } };
        }
        bytes += end - start;
        entries.push({ offset: { tx: 0, op: index++ }, entry: withoutMark(line) });
      }
    }
    return { page: { entries, next: SNAPSHOT_END, snapshotEnded: true } };
  }
  const through = request.throughXid ?? Infinity;
  const from = after.tx === 0 ? await snapshotEnd(reader) : await reader.firstLineAfterXid(after.tx - 1);
  let xid = -1;
  let op = 0;
  for await (const block of reader.lines(from)) {
    for (const { line, start, end } of block) {
      if (line.xid > through) return transactionsPage(entries, after);
      if (line.xid !== xid) {
        if (bytes >= maxBytes) return transactionsPage(entries, after);
        xid = line.xid;
        op = 0;
      }
      const offset: LogOffset = { tx: xid, op: op++ };
      if (xid === after.tx && offset.op <= after.op) continue; // before `after`, within its transaction
      bytes += end - start;
      entries.push({ offset, entry: withoutMark(line) });
    }
  }
  return transactionsPage(entries, after);
}

function transactionsPage(entries: PositionedEntry[], after: LogOffset): { page: LogPage } {
  return { page: { entries, next: entries.at(-1)?.offset ?? after, snapshotEnded: false } };
}

/** Offset of the last entry up to `throughXid` (ShapeStorage.logEnd). */
export async function fileLogEnd(reader: LogFileReader, throughXid: number): Promise<LogOffset> {
  const limit = throughXid === Infinity ? reader.end : await reader.firstLineAfterXid(throughXid);
  if (limit === 0) return SNAPSHOT_END;
  const last = await reader.lineAt(await reader.lineStartBefore(limit), limit);
  if (isSnapshotLine(last)) return SNAPSHOT_END;
  const first = await reader.firstLineAfterXid(last.xid - 1);
  return { tx: last.xid, op: (await reader.countLines(first, limit)) - 1 };
}

/** Where the snapshot's lines end (they share the xid the shape was created at). */
async function snapshotEnd(reader: LogFileReader): Promise<number> {
  for await (const [first] of reader.lines(0)) return first && isSnapshotLine(first.line) ? reader.firstLineAfterXid(first.line.xid) : 0;
  return 0;
}
