import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { BackupContents, BackupReadResult, MetadataDigest, StoredShape } from './storage.ts';
import { describeZodError, parseStoredShape } from './stored-shape.schema.ts';

export const BACKUP_FORMAT = 'shape-actors/backup';
export const BACKUP_VERSION = 1;

const headerSchema = z
  .object({
    format: z.literal(BACKUP_FORMAT),
    version: z.number().int(),
    createdAt: z.string(),
    position: z.string().nullable(),
    shapes: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    metadata: z.object({ bytes: z.number().int().nonnegative(), crc32: z.number().int().nonnegative() }).strict().optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

/**
 * Backup layout: one header line (format, version, time, position, count,
 * byte length, the digest of the metadata log it was written beside when the
 * store knew it, and a sha256 over those fields and the body), then one stored
 * shape per line. A truncated file, a
 * flipped bit or a missing line fails the length, the count or the checksum.
 */
export function encodeBackup(contents: BackupContents): string {
  let body = '';
  for (const shape of contents.shapes) body += `${JSON.stringify(shape)}\n`;
  const covered = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    createdAt: contents.createdAt,
    position: contents.position,
    shapes: contents.shapes.length,
    bytes: Buffer.byteLength(body),
    ...(contents.metadata ? { metadata: { bytes: contents.metadata.bytes, crc32: contents.metadata.crc32 } } : {}),
  };
  return `${JSON.stringify({ ...covered, sha256: checksum(covered, body) })}\n${body}`;
}

export type DecodedBackup =
  | { ok: true; contents: BackupContents }
  /** Written beside the metadata log the caller has (decodeBackup's `unlessMetadataIs`): the handles it names, its records not parsed. */
  | { ok: true; sameAsMetadata: { createdAt: string; position: string | null; handles: string[] } }
  | { ok: false; reason: string };

export function decodeBackup(text: string, unlessMetadataIs?: MetadataDigest): DecodedBackup {
  const firstNewline = text.indexOf('\n');
  if (firstNewline === -1) return { ok: false, reason: 'no header line (empty or truncated file)' };
  let rawHeader: unknown;
  try {
    rawHeader = JSON.parse(text.slice(0, firstNewline));
  } catch {
    return { ok: false, reason: 'header is not JSON' };
  }
  const versionOnly = z.object({ format: z.literal(BACKUP_FORMAT), version: z.number() }).safeParse(rawHeader);
  if (versionOnly.success && versionOnly.data.version !== BACKUP_VERSION) {
    return { ok: false, reason: `backup version ${versionOnly.data.version}, this runtime reads version ${BACKUP_VERSION}` };
  }
  const header = headerSchema.safeParse(rawHeader);
  if (!header.success) return { ok: false, reason: `bad header: ${describeZodError(header.error)}` };
  const body = text.slice(firstNewline + 1);
  const bytes = Buffer.byteLength(body);
  if (bytes !== header.data.bytes) return { ok: false, reason: `body is ${bytes} bytes, header says ${header.data.bytes} (truncated or appended to)` };
  const { sha256: expected, ...covered } = header.data;
  if (checksum(covered, body) !== expected) return { ok: false, reason: 'checksum mismatch' };

  const { createdAt, position, metadata } = header.data;
  if (unlessMetadataIs && metadata && metadata.bytes === unlessMetadataIs.bytes && metadata.crc32 === unlessMetadataIs.crc32) {
    const handles = handlesOf(body);
    if (typeof handles === 'string') return { ok: false, reason: handles };
    if (handles.length !== header.data.shapes) return { ok: false, reason: `${handles.length} shapes, header says ${header.data.shapes}` };
    return { ok: true, sameAsMetadata: { createdAt, position, handles } };
  }
  const lines = body.length === 0 ? [] : body.slice(0, -1).split('\n');
  if (lines.length !== header.data.shapes) return { ok: false, reason: `${lines.length} shapes, header says ${header.data.shapes}` };
  const shapes: StoredShape[] = [];
  for (let i = 0; i < lines.length; i++) {
    let value: unknown;
    try {
      value = JSON.parse(lines[i]!);
    } catch {
      return { ok: false, reason: `shape line ${i + 1} is not JSON` };
    }
    const parsed = parseStoredShape(value);
    if (!parsed.ok) return { ok: false, reason: `shape line ${i + 1}: ${parsed.reason}` };
    shapes.push(parsed.shape);
  }
  return { ok: true, contents: metadata ? { createdAt, position, shapes, metadata } : { createdAt, position, shapes } };
}

const HANDLE_PREFIX = '{"handle":"';
const HANDLE = /^\d{1,20}-\d{1,20}$/;

/**
 * The handle of each line of the body (its lines as decodeBackup splits them), read off the
 * line's start (`{"handle":"<handle>",`: a stored shape's first field, as the encoder writes it)
 * without parsing the record nor cutting the body into lines; a line of another form is parsed
 * and checked whole. A string: why a line is not a stored shape.
 */
function handlesOf(body: string): string[] | string {
  const handles: string[] = [];
  const last = body.length - 1; // (the body's final newline)
  for (let start = 0, line = 1; start <= last && body.length > 0; line++) {
    let end = body.indexOf('\n', start);
    if (end === -1 || end > last) end = last;
    const quote = body.startsWith(HANDLE_PREFIX, start) ? body.indexOf('"', start + HANDLE_PREFIX.length) : -1;
    const handle = quote !== -1 && quote < end && body.charCodeAt(quote + 1) === 0x2c ? body.slice(start + HANDLE_PREFIX.length, quote) : '';
    if (HANDLE.test(handle)) handles.push(handle);
    else {
      let value: unknown;
      try {
        value = JSON.parse(body.slice(start, end));
      } catch {
        return `shape line ${line} is not JSON`;
      }
      const parsed = parseStoredShape(value);
      if (!parsed.ok) return `shape line ${line}: ${parsed.reason}`;
      handles.push(parsed.shape.handle);
    }
    start = end + 1;
  }
  return handles;
}

/** A decoded backup as a store's readBackup answers it. */
export function backupReadResult(file: string, decoded: DecodedBackup): BackupReadResult {
  if (!decoded.ok) return { status: 'unusable', file, reason: decoded.reason };
  return 'contents' in decoded ? { status: 'ok', file, ...decoded.contents } : { status: 'same-as-metadata', file, ...decoded.sameAsMetadata };
}

/** Covers the header's fields (position included: a resumed stream trusts it) and the body. */
function checksum(header: object, body: string): string {
  return createHash('sha256').update(JSON.stringify(header)).update('\n').update(body).digest('hex');
}
