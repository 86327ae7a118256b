import { open, type FileHandle } from 'node:fs/promises';
import { decodeLogLines, type LogLine } from './log-codec.ts';
import { StorageError } from './storage.ts';

const BLOCK = 64 * 1024;
const READ_BLOCK = 256 * 1024;
/** A line starts `<crc32>\t{"xid":<n>` (the encoder writes xid first): enough to seek by. */
const XID_PREFIX = /^[0-9a-f]{8}\t\{"xid":(\d+)[,}]/;
const NEWLINE = 0x0a;

export interface LineAt {
  readonly line: LogLine;
  /** Byte offsets of the line in the file (end: after its newline). */
  readonly start: number;
  readonly end: number;
}

/**
 * Reads a log file by seeking: lines are xid-ordered and whole lines end with a newline, so a
 * binary search over byte positions finds a transaction without reading what comes before it.
 * Only whole lines count: a last line still being appended (no newline yet) is not there.
 */
export class LogFileReader {
  private constructor(
    private readonly fh: FileHandle,
    readonly file: string,
    readonly handle: string,
    /** Where the whole lines end. */
    readonly end: number,
  ) {}

  /** Null when the file does not exist. */
  static async open(file: string, handle: string): Promise<LogFileReader | null> {
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new StorageError('io', file, `log unreadable: ${(error as Error).message}`, handle);
    }
    try {
      const { size } = await fh.stat();
      // Whole lines end after the last newline.
      const end = size === 0 ? 0 : await new LogFileReader(fh, file, handle, size).lineStartBefore(size + 1);
      return new LogFileReader(fh, file, handle, end);
    } catch (error) {
      await fh.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /** Every whole line from `start` (a line start) on, decoded, in order, a block's worth at a time. */
  async *lines(start: number): AsyncGenerator<readonly LineAt[]> {
    let pos = start;
    let block = READ_BLOCK;
    while (pos < this.end) {
      const buffer = await this.read(pos, Math.min(block, this.end - pos));
      const last = buffer.lastIndexOf(NEWLINE);
      if (last === -1) {
        block *= 2; // a line longer than the block
        continue;
      }
      const decoded = decodeLogLines(buffer.subarray(0, last + 1));
      if (decoded.damage) throw this.corrupt(`line at byte ${pos + decoded.validBytes}: ${decoded.damage.reason}`);
      const lines: LineAt[] = new Array(decoded.records.length);
      let lineStart = pos;
      for (let i = 0; i < decoded.records.length; i++) {
        const lineEnd = pos + decoded.ends[i]!;
        lines[i] = { line: decoded.records[i]!, start: lineStart, end: lineEnd };
        lineStart = lineEnd;
      }
      pos = lineStart;
      yield lines;
    }
  }

  /** The first line (from `from`, a line start) whose xid is above `xid`; `end` when none is. */
  async firstLineAfterXid(xid: number, from = 0): Promise<number> {
    let lo = from;
    let hi = this.end;
    // Lines before `lo` have xids <= xid; the line at `hi` (when hi < end) has one above it.
    while (hi - lo > BLOCK) {
      const s = await this.nextLineStart(lo + Math.floor((hi - lo) / 2));
      if (s >= hi) break;
      if ((await this.xidAt(s)) <= xid) lo = s;
      else hi = s;
    }
    // What is left is small (a block, or one long line): read it once and look at each line.
    const window = await this.read(lo, hi - lo);
    for (let at = 0; at < window.length; ) {
      const nl = window.indexOf(NEWLINE, at);
      const lineEnd = nl === -1 ? window.length : nl + 1;
      if (xidOfLine(window.subarray(at, lineEnd), () => this.corrupt(`line at byte ${lo + at}: not a log entry`)) > xid) return lo + at;
      at = lineEnd;
    }
    return hi;
  }

  /** Start of the line `count` lines after the one at `from` (a line start); `end` when there are fewer. */
  async skipLines(from: number, count: number): Promise<number> {
    let pos = from;
    let left = count;
    while (left > 0 && pos < this.end) {
      const buffer = await this.read(pos, Math.min(READ_BLOCK, this.end - pos));
      let i = -1;
      while (left > 0 && (i = buffer.indexOf(NEWLINE, i + 1)) !== -1) left--;
      pos = left === 0 ? pos + i + 1 : pos + buffer.length;
    }
    return Math.min(pos, this.end);
  }

  /** Number of lines between two line starts. */
  async countLines(from: number, to: number): Promise<number> {
    let count = 0;
    for (let pos = from; pos < to; ) {
      const buffer = await this.read(pos, Math.min(READ_BLOCK, to - pos));
      for (let i = buffer.indexOf(NEWLINE); i !== -1; i = buffer.indexOf(NEWLINE, i + 1)) count++;
      pos += buffer.length;
    }
    return count;
  }

  /** Start of the line that ends at `at` (a line start > 0): just after the last newline before `at - 1`. */
  async lineStartBefore(at: number): Promise<number> {
    for (let pos = at - 1; pos > 0; ) {
      const from = Math.max(0, pos - BLOCK);
      const i = (await this.read(from, pos - from)).lastIndexOf(NEWLINE);
      if (i !== -1) return from + i + 1;
      pos = from;
    }
    return 0;
  }

  /** The line that starts at `start` and ends at `end`. */
  async lineAt(start: number, end: number): Promise<LogLine> {
    const decoded = decodeLogLines(await this.read(start, end - start));
    if (decoded.damage || decoded.records.length !== 1) throw this.corrupt(`line at byte ${start}: ${decoded.damage?.reason ?? 'not one entry'}`);
    return decoded.records[0]!;
  }

  private async nextLineStart(pos: number): Promise<number> {
    if (pos <= 0) return 0;
    for (let at = pos - 1; at < this.end; at += BLOCK) {
      const buffer = await this.read(at, Math.min(BLOCK, this.end - at));
      const i = buffer.indexOf(NEWLINE);
      if (i !== -1) return at + i + 1;
    }
    return this.end;
  }

  private async xidAt(start: number): Promise<number> {
    const head = await this.read(start, Math.min(48, this.end - start));
    const match = XID_PREFIX.exec(head.toString('latin1'));
    if (match) return Number(match[1]);
    const end = await this.nextLineStart(start + 1);
    return xidOfLine(await this.read(start, end - start), () => this.corrupt(`line at byte ${start}: not a log entry`));
  }

  private async read(pos: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.fh.read(buffer, got, length - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === length ? buffer : buffer.subarray(0, got);
  }

  private corrupt(reason: string): StorageError {
    return new StorageError('corrupt', this.file, reason, this.handle);
  }
}

/** The xid of one whole line: from its first bytes when laid out as the encoder writes, else decoded. */
function xidOfLine(line: Buffer, corrupt: () => StorageError): number {
  const match = XID_PREFIX.exec(line.toString('latin1', 0, Math.min(48, line.length)));
  if (match) return Number(match[1]);
  const decoded = decodeLogLines(line);
  if (decoded.damage || decoded.records.length !== 1) throw corrupt();
  return decoded.records[0]!.xid;
}
