import { encodeFramedLines, readFramedLines } from './framed-lines.ts';
import { packDelete, packPut, unpackRecord, type UnpackedRecord } from './packed-metadata.ts';
import type { ParsedDefinition, ShapeMetadata } from './storage.ts';
import { parseStoredShape } from './stored-shape.schema.ts';

export const METADATA_FORMAT = 'shape-actors/metadata';
/** What this runtime writes. */
export const METADATA_VERSION = 2;
/** The versions it reads (a log of version 1 is rewritten in version 2 by the restore that reads it). */
export type MetadataVersion = 1 | 2;

/**
 * The metadata log: framed lines (`<crc32>\t<json>\n`, as the shape logs), a header line
 * `{"op":"header","format":"shape-actors/metadata","version":2}`, then one record per change:
 * a put when a shape is created or updated, a delete when it is deleted (version 2: arrays, see
 * packed-metadata.ts; version 1: `{"op":"put","shape":{...},"parsed":{...}}` and
 * `{"op":"delete","handle":"..."}`). The latest record of a handle wins.
 */
type MetadataLineV1 =
  | { readonly op: 'header'; readonly format: typeof METADATA_FORMAT; readonly version: number }
  | ({ readonly op: 'put' } & ShapeMetadata)
  | { readonly op: 'delete'; readonly handle: string };

export function encodeMetadataHeader(version: MetadataVersion = METADATA_VERSION): string {
  return encodeFramedLines([{ op: 'header', format: METADATA_FORMAT, version }]);
}

/** One put record, in the version of the log it is appended to. */
export function encodeMetadataPut(metadata: ShapeMetadata, version: MetadataVersion = METADATA_VERSION): string {
  return encodeFramedLines([version === 1 ? putLineV1(metadata) : packPut(metadata)]);
}

export function encodeMetadataDelete(handle: string, version: MetadataVersion = METADATA_VERSION): string {
  return encodeFramedLines([version === 1 ? { op: 'delete', handle } : packDelete(handle)]);
}

/** A whole log holding exactly `shapes` (compaction), in this runtime's version. */
export function encodeMetadataLog(shapes: readonly ShapeMetadata[]): string {
  return encodeMetadataHeader() + encodeFramedLines(shapes.map(packPut));
}

function putLineV1(metadata: ShapeMetadata): MetadataLineV1 {
  return metadata.parsed ? { op: 'put', shape: metadata.shape, parsed: metadata.parsed } : { op: 'put', shape: metadata.shape };
}

export type DecodedMetadata<T = ShapeMetadata> =
  | { readonly ok: false; readonly reason: string }
  | {
      readonly ok: true;
      readonly shapes: Map<string, T>;
      readonly records: number;
      /** The version of the log read (older than METADATA_VERSION: to be rewritten). */
      readonly version: MetadataVersion;
      /** Byte length of the whole lines (a torn tail is cut back to here before the next append). */
      readonly validBytes: number;
      readonly damage?: { readonly line: number; readonly reason: string; readonly torn: boolean };
    };

/**
 * Reads the log up to its first bad line (a torn last line is an interrupted append). A first
 * line that is a header of another format or version makes the whole log unusable: restore then
 * reads every shape's definition file, as it does for shapes the log lacks. Each put record is
 * handed to `take` as it is read, and what it answers is kept for its handle (restore builds its
 * record there, so that the parsed line is garbage at once); the latest record of a handle wins.
 */
export function decodeMetadata<T>(buffer: Buffer, take: (metadata: ShapeMetadata) => T): DecodedMetadata<T> {
  const shapes = new Map<string, T>();
  let lines = -1;
  let version: MetadataVersion = METADATA_VERSION;
  let unusable: string | null = null;
  // A version 2 line is unpacked while it is validated; `take` has the record from there.
  let unpacked: UnpackedRecord | null = null;
  const validate = (value: unknown): string | undefined => {
    // (A first record that is no header at all: the log is unusable, said once it is taken.)
    if (lines === -1) return isHeader(value) ? validateLineV1(value) : undefined;
    if (version === 1) return validateLineV1(value);
    const record = unpackRecord(value);
    if (typeof record === 'string') return isHeader(value) ? undefined : record;
    unpacked = record;
    return undefined;
  };
  const read = readFramedLines<unknown>(buffer, validate, (line) => {
    if (lines++ === -1) {
      const header = line as MetadataLineV1;
      if (header.op !== 'header') unusable = 'first record is not the metadata header';
      else if (header.version !== 1 && header.version !== 2) unusable = `metadata version ${header.version}, this runtime reads versions 1 and ${METADATA_VERSION}`;
      else version = header.version;
      return unusable === null;
    }
    const record: UnpackedRecord | MetadataLineV1 = version === 1 ? (line as MetadataLineV1) : (unpacked ?? (line as MetadataLineV1));
    unpacked = null;
    if (record.op === 'put') {
      const metadata = 'metadata' in record ? record.metadata : record.parsed ? { shape: record.shape, parsed: record.parsed } : { shape: record.shape };
      shapes.set(metadata.shape.handle, take(metadata));
    } else if (record.op === 'delete') shapes.delete(record.handle);
    else unusable = 'a header in the middle of the log';
    return unusable === null;
  });
  if (unusable !== null) return { ok: false, reason: unusable };
  const records = Math.max(lines, 0);
  const damage = read.damage && { line: read.damage.line, reason: read.damage.reason, torn: read.damage.kind === 'torn-tail' };
  const decoded = { ok: true, shapes, records, version, validBytes: read.validBytes } as const;
  return damage ? { ...decoded, damage } : decoded;
}

function isHeader(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { op?: unknown }).op === 'header';
}

const HANDLE = /^\d{1,20}-\d{1,20}$/;

function validateLineV1(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const line = value as Record<string, unknown>;
  switch (line.op) {
    case 'header':
      return line.format === METADATA_FORMAT && typeof line.version === 'number' ? undefined : 'not a metadata header';
    case 'delete':
      return typeof line.handle === 'string' && HANDLE.test(line.handle) ? undefined : 'delete record without a handle';
    case 'put': {
      const shape = parseStoredShape(line.shape);
      if (!shape.ok) return `put record: ${shape.reason}`;
      return line.parsed === undefined || isParsedDefinition(line.parsed) ? undefined : 'put record: parsed definition malformed';
    }
    default:
      return 'unknown record';
  }
}

/** Structure only: the expression was written by the parser of `version` (restore parses again when it is not this one's). */
function isParsedDefinition(value: unknown): value is ParsedDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  if (typeof p.version !== 'number' || !Array.isArray(p.dependencies)) return false;
  if (p.where !== undefined && (typeof p.where !== 'object' || p.where === null || typeof (p.where as { kind?: unknown }).kind !== 'string')) return false;
  return p.dependencies.every((d) => typeof d === 'object' && d !== null && typeof (d as { table?: unknown }).table === 'string');
}
