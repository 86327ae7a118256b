import { encodeFramedLines, readFramedLines } from './framed-lines.ts';
import type { ParsedDefinition, ShapeMetadata } from './storage.ts';
import { parseStoredShape } from './stored-shape.schema.ts';

export const METADATA_FORMAT = 'shape-actors/metadata';
export const METADATA_VERSION = 1;

/**
 * The metadata log: framed lines (`<crc32>\t<json>\n`, as the shape logs), a header line, then
 * one record per change: `{"op":"put","shape":{...},"parsed":{...}}` when a shape is created or
 * updated, `{"op":"delete","handle":"..."}` when it is deleted. The latest record of a handle wins.
 */
type MetadataLine =
  | { readonly op: 'header'; readonly format: typeof METADATA_FORMAT; readonly version: number }
  | ({ readonly op: 'put' } & ShapeMetadata)
  | { readonly op: 'delete'; readonly handle: string };

export function encodeMetadataHeader(): string {
  return encodeFramedLines([{ op: 'header', format: METADATA_FORMAT, version: METADATA_VERSION }]);
}

export function encodeMetadataPut(metadata: ShapeMetadata): string {
  return encodeFramedLines([putLine(metadata)]);
}

export function encodeMetadataDelete(handle: string): string {
  return encodeFramedLines([{ op: 'delete', handle }]);
}

/** A whole log holding exactly `shapes` (compaction). */
export function encodeMetadataLog(shapes: readonly ShapeMetadata[]): string {
  return encodeMetadataHeader() + encodeFramedLines(shapes.map(putLine));
}

function putLine(metadata: ShapeMetadata): MetadataLine {
  return metadata.parsed ? { op: 'put', shape: metadata.shape, parsed: metadata.parsed } : { op: 'put', shape: metadata.shape };
}

export type DecodedMetadata<T = ShapeMetadata> =
  | { readonly ok: false; readonly reason: string }
  | {
      readonly ok: true;
      readonly shapes: Map<string, T>;
      readonly records: number;
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
  let unusable: string | null = null;
  const read = readFramedLines<MetadataLine>(buffer, validateLine, (line) => {
    if (lines++ === -1) {
      if (line.op !== 'header') unusable = 'first record is not the metadata header';
      else if (line.version !== METADATA_VERSION) unusable = `metadata version ${line.version}, this runtime reads version ${METADATA_VERSION}`;
      return unusable === null;
    }
    if (line.op === 'put') shapes.set(line.shape.handle, take(line.parsed ? { shape: line.shape, parsed: line.parsed } : { shape: line.shape }));
    else if (line.op === 'delete') shapes.delete(line.handle);
    else unusable = 'a header in the middle of the log';
    return unusable === null;
  });
  if (unusable !== null) return { ok: false, reason: unusable };
  const records = Math.max(lines, 0);
  const damage = read.damage && { line: read.damage.line, reason: read.damage.reason, torn: read.damage.kind === 'torn-tail' };
  return damage ? { ok: true, shapes, records, validBytes: read.validBytes, damage } : { ok: true, shapes, records, validBytes: read.validBytes };
}

const HANDLE = /^\d{1,20}-\d{1,20}$/;

function validateLine(value: unknown): string | undefined {
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
