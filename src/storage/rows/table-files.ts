import { EMPTY_TABLE_INDEX, parseTableIndex, TABLE_INDEX_FILE, type TableIndex } from './table-index.ts';

/** What the index of a row store's files says, read once by one parser for every reader. */
export type TableIndexRead =
  | { readonly status: 'missing' }
  | { readonly status: 'ok'; readonly index: TableIndex }
  | { readonly status: 'unusable'; readonly reason: string };

/**
 * Where the embedded row store keeps its files: a directory (`<dataDir>/tables/`,
 * DirectoryTableFiles) or memory (MemoryTableFiles). Only bytes cross this
 * line; the store decodes them, so both backends behave alike. The readers
 * anyone may use without opening the store (the index, the tables it records)
 * are methods here, on top of the primitives.
 */
export abstract class TableFiles {
  /** For reports: what and where these files are. */
  abstract readonly description: string;
  /** A file's name as people see it (a path). */
  abstract pathOf(name: string): string;
  /** The names of the files (empty when there are none, or no directory). */
  abstract list(): Promise<string[]>;
  /** A file's bytes (null when it does not exist). */
  abstract read(name: string): Promise<Buffer | null>;
  /** Appends durably. */
  abstract append(name: string, data: string): Promise<void>;
  /** Replaces (or creates) a file atomically: a crash leaves the old bytes or the new ones. */
  abstract replace(name: string, data: string): Promise<void>;
  /** Creates a file that must not exist, durably. */
  abstract create(name: string, data: string | Uint8Array): Promise<void>;
  /** Cuts a file to `length` bytes, durably. */
  abstract truncate(name: string, length: number): Promise<void>;

  async readIndex(): Promise<TableIndexRead> {
    const bytes = await this.read(TABLE_INDEX_FILE);
    if (bytes === null) return { status: 'missing' };
    const index = parseTableIndex(bytes.toString('utf8'));
    return typeof index === 'string' ? { status: 'unusable', reason: index } : { status: 'ok', index };
  }

  /** The tables the index records (none when it is missing or unusable). */
  async recordedTables(): Promise<ReadonlySet<string>> {
    const read = await this.readIndex();
    return new Set(Object.keys(read.status === 'ok' ? read.index.tables : EMPTY_TABLE_INDEX.tables));
  }
}

/** A file in memory: bytes with room to grow, so an append copies only what it adds (amortized). */
interface MemoryFile {
  bytes: Buffer;
  length: number;
}

/**
 * The files in memory (a MemoryStorage's row store): kept as bytes, so reading them back decodes
 * like the disk. An append writes into spare room (doubled when full): it copied the whole file
 * on every batch, so following a large table cost the size of its log per transaction.
 */
export class MemoryTableFiles extends TableFiles {
  readonly description = 'memory row store';
  readonly #files = new Map<string, MemoryFile>();

  pathOf(name: string): string {
    return `memory:tables/${name}`;
  }

  async list(): Promise<string[]> {
    return [...this.#files.keys()];
  }

  async read(name: string): Promise<Buffer | null> {
    const file = this.#files.get(name);
    return file ? Buffer.from(file.bytes.subarray(0, file.length)) : null;
  }

  async append(name: string, data: string): Promise<void> {
    const file = this.#files.get(name) ?? { bytes: Buffer.alloc(0), length: 0 };
    const size = Buffer.byteLength(data);
    if (file.length + size > file.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * file.bytes.length, file.length + size, 4096));
      file.bytes.copy(grown, 0, 0, file.length);
      file.bytes = grown;
    }
    file.length += file.bytes.write(data, file.length);
    this.#files.set(name, file);
  }

  async replace(name: string, data: string): Promise<void> {
    this.#files.set(name, whole(Buffer.from(data)));
  }

  async create(name: string, data: string | Uint8Array): Promise<void> {
    if (this.#files.has(name)) throw new Error(`${this.pathOf(name)} exists`);
    this.#files.set(name, whole(Buffer.from(data)));
  }

  async truncate(name: string, length: number): Promise<void> {
    const file = this.#files.get(name);
    if (file) file.length = Math.min(file.length, length);
  }
}

function whole(bytes: Buffer): MemoryFile {
  return { bytes, length: bytes.length };
}
