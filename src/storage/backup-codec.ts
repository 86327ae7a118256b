import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { BackupContents, StoredShape } from './storage.ts';
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
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

/**
 * Backup layout: one header line (format, version, time, position, count,
 * byte length, and a sha256 over those fields and the body), then one stored
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
  };
  return `${JSON.stringify({ ...covered, sha256: checksum(covered, body) })}\n${body}`;
}

export type DecodedBackup = { ok: true; contents: BackupContents } | { ok: false; reason: string };

export function decodeBackup(text: string): DecodedBackup {
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
  return { ok: true, contents: { createdAt: header.data.createdAt, position: header.data.position, shapes } };
}

/** Covers the header's fields (position included: a resumed stream trusts it) and the body. */
function checksum(header: object, body: string): string {
  return createHash('sha256').update(JSON.stringify(header)).update('\n').update(body).digest('hex');
}
