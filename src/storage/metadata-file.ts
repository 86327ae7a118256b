import { open, readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { DurableFs } from './fs-durable.ts';
import { errnoText, exists, isErrno } from './fs-errors.ts';
import { decodeMetadata, encodeMetadataDelete, encodeMetadataHeader, encodeMetadataLog, encodeMetadataPut, METADATA_VERSION, type MetadataVersion } from './metadata-codec.ts';
import { StorageError, type MetadataDigest, type MetadataReadResult, type ShapeMetadata } from './storage.ts';

interface FileState {
  exists: boolean;
  /** Records in the file (header excluded), as read and appended by this process. */
  records: number;
  /** The whole lines when the last line is torn (an interrupted append): cut back to them before the next append. */
  cutTo: MetadataDigest | null;
  /** The file's bytes as this process read, appended and wrote them (null: not known, the file was not read first). */
  digest: MetadataDigest | null;
  /** The version its records are written in (appends follow it: a log of version 1 stays one until it is rewritten). */
  version: MetadataVersion;
}

/**
 * The file store's metadata log (`<data dir>/metadata.jsonl`): appended once each shape
 * directory change is durable (a crash leaves at most a directory the log does not name yet,
 * which restore reads from its definition file), replaced whole by compaction. It follows its
 * own digest (length and CRC-32), which a backup records: restore then knows whether the log is
 * still the one the backup was written beside.
 */
export class MetadataFile {
  #state: FileState | null = null;

  constructor(
    readonly file: string,
    private readonly fs: DurableFs,
  ) {}

  get records(): number {
    return this.#state?.records ?? 0;
  }

  get digest(): MetadataDigest | null {
    return this.#state?.digest ?? null;
  }

  /** The digest of the file as it is on disk (read for it when this process does not know it; null when it cannot be read). */
  async currentDigest(): Promise<MetadataDigest | null> {
    const known = this.digest;
    if (known) return known;
    try {
      const buffer = await readFile(this.file);
      return { bytes: buffer.length, crc32: crc32(buffer) };
    } catch (error) {
      return isErrno(error, 'ENOENT') ? EMPTY : null;
    }
  }

  async read<T>(take: (metadata: ShapeMetadata) => T): Promise<MetadataReadResult<T>> {
    let buffer: Buffer;
    try {
      buffer = await readFile(this.file);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        this.#state = { exists: false, records: 0, cutTo: null, digest: EMPTY, version: METADATA_VERSION };
        return { status: 'missing' };
      }
      if (isErrno(error, 'EISDIR')) return { status: 'unusable', file: this.file, reason: 'not a file' };
      throw new StorageError('io', this.file, `metadata log unreadable: ${errnoText(error)}`);
    }
    const digest = { bytes: buffer.length, crc32: crc32(buffer) };
    const decoded = decodeMetadata(buffer, take);
    if (!decoded.ok) return { status: 'unusable', file: this.file, reason: decoded.reason };
    const cutTo = decoded.damage?.torn ? { bytes: decoded.validBytes, crc32: crc32(buffer.subarray(0, decoded.validBytes)) } : null;
    this.#state = { exists: true, records: decoded.records, cutTo, digest, version: decoded.version };
    const ok = { status: 'ok', file: this.file, shapes: decoded.shapes, records: decoded.records, ...(decoded.version < METADATA_VERSION ? { outdated: true as const } : {}) } as const;
    return decoded.damage ? { ...ok, damage: decoded.damage } : ok;
  }

  /** Appends a put record (a shape created or updated). */
  appendPut(metadata: ShapeMetadata): Promise<void> {
    return this.#append((version) => encodeMetadataPut(metadata, version));
  }

  /** Appends a delete record. */
  appendDelete(handle: string): Promise<void> {
    return this.#append((version) => encodeMetadataDelete(handle, version));
  }

  /** Appends one record encoded in the file's version, starting the file with its header when there is none. */
  async #append(encode: (version: MetadataVersion) => string): Promise<void> {
    const state = this.#state ?? (this.#state = await this.#unread());
    const line = encode(state.version);
    if (state.cutTo !== null) {
      await this.fs.truncate(this.file, state.cutTo.bytes);
      state.digest = state.cutTo;
      state.cutTo = null;
    }
    const text = state.exists ? line : encodeMetadataHeader(state.version) + line;
    // (Before the write: should it fail part-way, the file is not what the digest says, and a backup naming it is not trusted.)
    const before = state.digest;
    state.digest = null;
    await this.fs.append(this.file, text);
    state.digest = before && { bytes: before.bytes + Buffer.byteLength(text), crc32: crc32(text, before.crc32) };
    state.exists = true;
    state.records++;
  }

  async write(shapes: readonly ShapeMetadata[]): Promise<void> {
    const text = encodeMetadataLog(shapes);
    this.#state = { exists: true, records: shapes.length, cutTo: null, digest: null, version: METADATA_VERSION };
    await this.fs.replaceFile(this.file, text);
    this.#state.digest = { bytes: Buffer.byteLength(text), crc32: crc32(text) };
  }

  /** The state of a file this process has not read: whether it exists, and the version its header names (this runtime's when it names none it knows). */
  async #unread(): Promise<FileState> {
    if (!(await exists(this.file))) return { exists: false, records: 0, cutTo: null, digest: null, version: METADATA_VERSION };
    const head = Buffer.alloc(HEADER_PEEK);
    const handle = await open(this.file, 'r');
    let bytes: number;
    try {
      ({ bytesRead: bytes } = await handle.read(head, 0, HEADER_PEEK, 0));
    } finally {
      await handle.close();
    }
    const newline = head.subarray(0, bytes).indexOf(0x0a);
    const header = newline === -1 ? null : decodeMetadata(head.subarray(0, newline + 1), () => null);
    return { exists: true, records: 0, cutTo: null, digest: null, version: header?.ok ? header.version : METADATA_VERSION };
  }
}

/** Bytes read to find the header line of a file not read whole (the header is about 80). */
const HEADER_PEEK = 512;

const EMPTY: MetadataDigest = { bytes: 0, crc32: 0 };
