import { readFile } from 'node:fs/promises';
import type { DurableFs } from './fs-durable.ts';
import { errnoText, exists, isErrno } from './fs-errors.ts';
import { decodeMetadata, encodeMetadataHeader, encodeMetadataLog } from './metadata-codec.ts';
import { StorageError, type MetadataReadResult, type ShapeMetadata } from './storage.ts';

interface FileState {
  exists: boolean;
  /** Records in the file (header excluded), as read and appended by this process. */
  records: number;
  /** The whole lines' length when the last line is torn (an interrupted append): cut back before the next append. */
  cutTo: number | null;
}

/**
 * The file store's metadata log (`<data dir>/metadata.jsonl`): appended once each shape
 * directory change is durable (a crash leaves at most a directory the log does not name yet,
 * which restore reads from its definition file), replaced whole by compaction.
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

  async read<T>(take: (metadata: ShapeMetadata) => T): Promise<MetadataReadResult<T>> {
    let buffer: Buffer;
    try {
      buffer = await readFile(this.file);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        this.#state = { exists: false, records: 0, cutTo: null };
        return { status: 'missing' };
      }
      if (isErrno(error, 'EISDIR')) return { status: 'unusable', file: this.file, reason: 'not a file' };
      throw new StorageError('io', this.file, `metadata log unreadable: ${errnoText(error)}`);
    }
    const decoded = decodeMetadata(buffer, take);
    if (!decoded.ok) return { status: 'unusable', file: this.file, reason: decoded.reason };
    this.#state = { exists: true, records: decoded.records, cutTo: decoded.damage?.torn ? decoded.validBytes : null };
    const ok = { status: 'ok', file: this.file, shapes: decoded.shapes, records: decoded.records } as const;
    return decoded.damage ? { ...ok, damage: decoded.damage } : ok;
  }

  /** Appends one encoded record, starting the file with its header when there is none. */
  async append(line: string): Promise<void> {
    const state = this.#state ?? (this.#state = { exists: await exists(this.file), records: 0, cutTo: null });
    if (state.cutTo !== null) {
      await this.fs.truncate(this.file, state.cutTo);
      state.cutTo = null;
    }
    await this.fs.append(this.file, state.exists ? line : encodeMetadataHeader() + line);
    state.exists = true;
    state.records++;
  }

  async write(shapes: readonly ShapeMetadata[]): Promise<void> {
    await this.fs.replaceFile(this.file, encodeMetadataLog(shapes));
    this.#state = { exists: true, records: shapes.length, cutTo: null };
  }
}
