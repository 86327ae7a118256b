import { isAscii } from 'node:buffer';
import { crc32 } from 'node:zlib';

/**
 * Append-only files of JSON records, one per line: `<crc32 hex>\t<json>\n`.
 * The checksum catches a flipped bit that would still be valid JSON; the
 * newline marks a whole record, so an interrupted append is recognisable.
 */
export function encodeFramedLines(records: readonly unknown[]): string {
  let out = '';
  for (const record of records) {
    const json = JSON.stringify(record);
    out += `${checksum(json)}\t${json}\n`;
  }
  return out;
}

export interface FramedDamage {
  readonly kind: 'torn-tail' | 'corrupt-entry';
  /** 1-based line number of the first bad line. */
  readonly line: number;
  readonly reason: string;
}

export interface DecodedFramedLines<T> {
  readonly records: T[];
  /** Byte offset of the end of each good record (`ends[i]` is where record i ends). */
  readonly ends: number[];
  /** Byte length of the whole good records (where a torn tail is cut back to). */
  readonly validBytes: number;
  readonly damage?: FramedDamage;
}

/** Decodes up to the first bad line; `validate` says why a parsed record is not one (or undefined when it is). */
export function decodeFramedLines<T>(buffer: Buffer, validate: (value: unknown) => string | undefined): DecodedFramedLines<T> {
  const records: T[] = [];
  const ends: number[] = [];
  const read = readFramedLines<T>(buffer, validate, (record, end) => {
    records.push(record);
    ends.push(end);
  });
  return read.damage ? { records, ends, validBytes: read.validBytes, damage: read.damage } : { records, ends, validBytes: read.validBytes };
}

export interface ReadFramedLines {
  /** Byte length of the whole good records read (where a torn tail is cut back to). */
  readonly validBytes: number;
  readonly damage?: FramedDamage;
}

/**
 * decodeFramedLines without the array: each good record is handed to `take` as it is decoded
 * (with the offset where it ends), up to the first bad line or until `take` answers false. A
 * reader that keeps something smaller than the record (restore's metadata log) lets each parsed
 * line go at once: held until the whole file was read, 100k of them were copied by every
 * young-generation collection until promoted.
 */
export function readFramedLines<T>(buffer: Buffer, validate: (value: unknown) => string | undefined, take: (record: T, end: number) => boolean | void): ReadFramedLines {
  const one: T[] = [];
  const text = asciiText(buffer);
  let start = 0;
  let line = 0;
  while (start < buffer.length) {
    line++;
    const end = buffer.indexOf(0x0a, start);
    if (end === -1) {
      return { validBytes: start, damage: { kind: 'torn-tail', line, reason: 'last line has no newline (interrupted append)' } };
    }
    one.length = 0;
    const problem = decodeLine(buffer, start, end, validate, one, text);
    if (problem) {
      // A bad final line is a torn append; a bad line with whole lines after it is damage.
      const kind = end + 1 >= buffer.length ? 'torn-tail' : 'corrupt-entry';
      return { validBytes: start, damage: { kind, line, reason: problem } };
    }
    start = end + 1;
    if (take(one[0]!, start) === false) break;
  }
  return { validBytes: start };
}

export interface FramedLine<T> {
  /** 1-based. */
  readonly line: number;
  /** Byte offsets: where the line starts, and where the next one does. */
  readonly start: number;
  readonly end: number;
  /** The record, or why the line is not one. */
  readonly record?: T;
  readonly problem?: string;
}

/**
 * Every line, good or bad: a bad line does not stop the reading (whole lines
 * after it are read too). The last line is bad when it has no newline.
 */
export function decodeEveryFramedLine<T>(buffer: Buffer, validate: (value: unknown) => string | undefined): FramedLine<T>[] {
  const lines: FramedLine<T>[] = [];
  let start = 0;
  while (start < buffer.length) {
    const nl = buffer.indexOf(0x0a, start);
    const line = lines.length + 1;
    if (nl === -1) {
      lines.push({ line, start, end: buffer.length, problem: 'last line has no newline (interrupted append)' });
      break;
    }
    const into: T[] = [];
    const problem = decodeLine(buffer, start, nl, validate, into);
    lines.push(problem ? { line, start, end: nl + 1, problem } : { line, start, end: nl + 1, record: into[0]! });
    start = nl + 1;
  }
  return lines;
}

/**
 * The whole buffer as one string when every byte is ASCII (then a byte offset is a character
 * offset, and a line's record is a slice of it): one decode instead of one per line, about 10%
 * of reading restore's 100k-line metadata log. Null otherwise (each line is decoded as UTF-8).
 */
function asciiText(buffer: Buffer): string | null {
  return buffer.length > 0 && isAscii(buffer) ? buffer.toString('latin1') : null;
}

/** The line at [start, end) of `buffer` (without its newline). The checksum is of the record's bytes, as written. `text`: the buffer decoded, when ASCII. */
function decodeLine<T>(buffer: Buffer, start: number, end: number, validate: (value: unknown) => string | undefined, into: T[], text: string | null = null): string | undefined {
  if (end - start < 9 || buffer[start + 8] !== 0x09 || buffer.subarray(start, start + 8).includes(0x09)) return 'line is not "<checksum>\\t<record>"';
  const record = buffer.subarray(start + 9, end);
  if (hexAt(buffer, start) !== crc32(record)) return 'checksum mismatch';
  let value: unknown;
  try {
    value = JSON.parse(text === null ? buffer.toString('utf8', start + 9, end) : text.slice(start + 9, end));
  } catch {
    return 'record is not JSON';
  }
  const problem = validate(value);
  if (problem) return problem;
  into.push(value as T);
  return undefined;
}

/** The 8 lowercase hex digits at `at` as a number (as `checksum` writes them), or -1 when they are not. */
function hexAt(buffer: Buffer, at: number): number {
  let n = 0;
  for (let i = at; i < at + 8; i++) {
    const c = buffer[i]!;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (digit < 0) return -1;
    n = n * 16 + digit;
  }
  return n;
}

function checksum(text: string): string {
  return crc32(text).toString(16).padStart(8, '0');
}
