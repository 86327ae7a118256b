import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isHandle } from '../shapes/handle.ts';
import { BackupFile } from './backup-file.ts';
import { decodeDefinitionFile, encodeDefinitionFile } from './definition-file.ts';
import { nodeDurableFs, type DurableFs } from './fs-durable.ts';
import { bytesThroughXid, decodeLog, encodeLogEntries } from './log-codec.ts';
import { JournalFile } from './journal-file.ts';
import type { AppliedXids } from '../shapes/applied-xids.ts';
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts';
import { DEFINITION_FILE, LOG_FILE, checkDataDir, dataDirLayout } from './data-dir-layout.ts';
import { DirectoryTableFiles } from './rows/directory-table-files.ts';
import { LogFileReader } from './log-file-reader.ts';
import { fileLogEnd, readFileLogPage, type SnapshotHint } from './log-pages.ts';
import type { LogOffset } from '../shapes/log-offset.ts';
import { errnoText, exists, isErrno } from './fs-errors.ts';
import { MetadataFile } from './metadata-file.ts';
import { tempOf, writeLeftovers } from './write-leftovers.ts';
import {
  StorageError,
  type BackupContents,
  type BackupReadOptions,
  type BackupReadResult,
  type JournalReadOptions,
  type LogEntry,
  type LogPage,
  type LogPageRequest,
  type LogReadResult,
  type MetadataDigest,
  type MetadataReadResult,
  type ParsedDefinition,
  type PreparedBatch,
  type ShapeListing,
  type ShapeMetadata,
  type ShapeStorage,
  type StoredShape,
  type StrayEntry,
} from './storage.ts';

const TEMP_PREFIX = '.tmp-';
/** Shapes whose snapshot is being read page by page, remembered at once. */
const SNAPSHOT_HINTS = 4096;
const TRASH_PREFIX = '.trash-';

/** The layout lives in data-dir-layout.ts; re-exported here for the imports that predate it. */
export { checkDataDir, dataDirLayout } from './data-dir-layout.ts';

export interface OpenFileStorageOptions {
  /**
   * Create the data dir when the directory is missing (otherwise a missing dir is an error). An
   * empty directory is opened either way; one that holds anything but a data dir never is.
   */
  readonly create?: boolean;
  /** Take the data dir lock (default true): a second process gets a `locked` error. */
  readonly lock?: boolean;
  /** Take over a lock written on another host once it has not been refreshed for a while (see data-dir-lock.ts). */
  readonly forceUnlock?: boolean;
  /** How changes reach the disk (the crash tests record them). */
  readonly fs?: DurableFs;
}

/**
 * Opens a data dir: an existing one, an empty directory, or (with `create`) a missing one.
 * Anything else is a StorageError naming the path and why, before anything is written: a file,
 * or a directory holding other things (a project folder is never adopted as a data dir).
 */
export async function openFileStorage(dataDir: string, options: OpenFileStorageOptions = {}): Promise<FileStorage> {
  if ((await checkDataDir(dataDir, options)) === 'missing') await (options.fs ?? nodeDurableFs).mkdir(dataDir);
  const lock = options.lock === false ? null : await lockDataDir(dataDir, { forceUnlock: options.forceUnlock === true });
  return new FileStorage(dataDir, lock, options.fs);
}

/**
 * The default store: one directory per shape, files written so that a crash leaves whole states
 * only, and the metadata log that indexes them.
 */
export class FileStorage implements ShapeStorage {
  readonly description: string;
  readonly tables: DirectoryTableFiles;
  readonly layout: ReturnType<typeof dataDirLayout>;
  /** Where each shape's next snapshot page starts, for shapes being read (bounded: oldest dropped first). */
  readonly #snapshotHints = new Map<string, SnapshotHint>();
  readonly #metadata: MetadataFile;
  readonly #journal: JournalFile;
  readonly #backup: BackupFile;

  constructor(
    readonly dataDir: string,
    private readonly lock: DataDirLock | null = null,
    private readonly fs: DurableFs = nodeDurableFs,
  ) {
    this.description = `file store at ${dataDir}`;
    this.layout = dataDirLayout(dataDir);
    this.tables = new DirectoryTableFiles(this.layout.tables, fs);
    this.#metadata = new MetadataFile(this.layout.metadata, fs);
    this.#journal = new JournalFile(this.layout.journal, fs);
    this.#backup = new BackupFile(this.layout.backupDir, this.layout.backup, this.layout.retiredBackup, fs);
  }

  async listShapes(): Promise<ShapeListing> {
    const strays: StrayEntry[] = await this.#atomicWriteLeftovers();
    let entries;
    try {
      entries = await readdir(this.layout.shapes, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return { handles: [], strays };
      throw new StorageError('io', this.layout.shapes, `cannot list shapes: ${errnoText(error)}`);
    }
    const handles: string[] = [];
    for (const entry of entries) {
      if (entry.isDirectory() && isHandle(entry.name)) {
        handles.push(entry.name);
        continue;
      }
      const path = join(this.layout.shapes, entry.name);
      if (entry.name.startsWith(TEMP_PREFIX)) strays.push({ name: entry.name, kind: 'temp', path });
      else if (entry.name.startsWith(TRASH_PREFIX)) strays.push({ name: entry.name, kind: 'trash', path });
      else strays.push({ name: entry.name, kind: 'unknown', path });
    }
    return { handles, strays };
  }

  async readShape(handle: string): Promise<StoredShape> {
    const file = this.layout.definition(this.checked(handle));
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        const dirExists = await exists(this.layout.shapeDir(handle));
        throw dirExists
          ? new StorageError('corrupt', file, 'definition file is missing', handle)
          : new StorageError('not-found', file, 'shape has no storage', handle);
      }
      throw new StorageError('corrupt', file, `definition file unreadable: ${errnoText(error)}`, handle);
    }
    return decodeDefinitionFile(text, handle, file);
  }

  async createShape(shape: StoredShape, initialLog: readonly LogEntry[] = [], parsed?: ParsedDefinition): Promise<void> {
    const target = this.layout.shapeDir(this.checked(shape.handle));
    if (await exists(target)) throw new StorageError('exists', target, 'a shape with this handle is already stored', shape.handle);
    await this.fs.mkdir(this.layout.shapes);
    // Build the whole directory under a temp name, then rename it into place:
    // a crash leaves either no shape or a complete one (plus a temp dir restore cleans up).
    const temp = join(this.layout.shapes, `${TEMP_PREFIX}${shape.handle}-${randomBytes(4).toString('hex')}`);
    await this.fs.mkdir(temp);
    await this.fs.createFile(join(temp, DEFINITION_FILE), encodeDefinitionFile(shape));
    await this.fs.createFile(join(temp, LOG_FILE), encodeLogEntries(initialLog, { snapshot: true }));
    await this.fs.syncDirectory(temp);
    await this.fs.rename(temp, target);
    // Only now: a crash before this append leaves a shape the log does not name, which restore reads from its files.
    await this.#metadata.appendPut(metadataOf(shape, parsed));
  }

  async updateShape(shape: StoredShape, parsed?: ParsedDefinition): Promise<void> {
    const file = this.layout.definition(this.checked(shape.handle));
    if (!(await exists(this.layout.shapeDir(shape.handle)))) throw new StorageError('not-found', file, 'shape has no storage', shape.handle);
    await this.fs.replaceFile(file, encodeDefinitionFile(shape));
    await this.#metadata.appendPut(metadataOf(shape, parsed));
  }

  async deleteShape(handle: string): Promise<void> {
    const dir = this.layout.shapeDir(this.checked(handle));
    this.#snapshotHints.delete(handle);
    // Rename first so the shape disappears in one step, then remove the files.
    const trash = join(this.layout.shapes, `${TRASH_PREFIX}${handle}-${randomBytes(4).toString('hex')}`);
    try {
      await this.fs.rename(dir, trash);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw new StorageError('io', dir, `cannot delete shape: ${errnoText(error)}`, handle);
    }
    await this.#metadata.appendDelete(handle);
    await this.fs.remove(trash);
  }

  readMetadata<T>(take: (metadata: ShapeMetadata) => T): Promise<MetadataReadResult<T>> {
    return this.#metadata.read(take);
  }

  async writeMetadata(shapes: readonly ShapeMetadata[]): Promise<void> {
    await this.#metadata.write(shapes);
  }

  metadataRecords(): number {
    return this.#metadata.records;
  }

  metadataDigest(): MetadataDigest | null {
    return this.#metadata.digest;
  }

  async appendLog(handle: string, entries: readonly LogEntry[]): Promise<void> {
    const file = this.layout.log(this.checked(handle));
    if (entries.length === 0) return;
    if (!(await exists(this.layout.shapeDir(handle)))) throw new StorageError('not-found', file, 'shape has no storage', handle);
    await this.fs.append(file, encodeLogEntries(entries));
  }

  async readLog(handle: string, options: { repair?: boolean } = {}): Promise<LogReadResult> {
    const file = this.layout.log(this.checked(handle));
    let buffer: Buffer;
    try {
      buffer = await readFile(file);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        const dirExists = await exists(this.layout.shapeDir(handle));
        if (!dirExists) throw new StorageError('not-found', file, 'shape has no storage', handle);
        return { entries: [], damage: { kind: 'corrupt-entry', line: 0, reason: 'log file is missing' }, repaired: false };
      }
      throw new StorageError('io', file, `log unreadable: ${errnoText(error)}`, handle);
    }
    const decoded = decodeLog(buffer);
    if (!decoded.damage) return { entries: decoded.records, repaired: false };
    let repaired = false;
    if (options.repair && decoded.damage.kind === 'torn-tail') {
      await this.fs.truncate(file, decoded.validBytes);
      repaired = true;
    }
    return { entries: decoded.records, damage: decoded.damage, repaired };
  }

  async readLogPage(handle: string, request: LogPageRequest): Promise<LogPage> {
    return this.#withLog(handle, async (reader) => {
      const { page, hint } = await readFileLogPage(reader, request, this.#snapshotHints.get(handle));
      this.#snapshotHints.delete(handle);
      if (hint) {
        this.#snapshotHints.set(handle, hint);
        if (this.#snapshotHints.size > SNAPSHOT_HINTS) this.#snapshotHints.delete(this.#snapshotHints.keys().next().value!);
      }
      return page;
    });
  }

  async logEnd(handle: string, throughXid = Infinity): Promise<LogOffset> {
    return this.#withLog(handle, (reader) => fileLogEnd(reader, throughXid));
  }

  async #withLog<T>(handle: string, read: (reader: LogFileReader) => Promise<T>): Promise<T> {
    const file = this.layout.log(this.checked(handle));
    const reader = await LogFileReader.open(file, handle);
    if (!reader) {
      if (!(await exists(this.layout.shapeDir(handle)))) throw new StorageError('not-found', file, 'shape has no storage', handle);
      throw new StorageError('corrupt', file, 'log file is missing', handle);
    }
    try {
      return await read(reader);
    } finally {
      await reader.close();
    }
  }

  hasBackup(): Promise<boolean> {
    return this.#backup.exists();
  }

  readBackup(options: BackupReadOptions = {}): Promise<BackupReadResult> {
    return this.#backup.read(options);
  }

  /** The backup records the metadata log's digest as it is now: the log it was written beside. */
  async writeBackup(contents: Omit<BackupContents, 'createdAt' | 'metadata'>): Promise<void> {
    const metadata = await this.#metadata.currentDigest();
    await this.#backup.write(metadata ? { ...contents, metadata } : contents);
  }

  retireBackup(how: 'used' | 'unusable'): Promise<void> {
    return this.#backup.retire(how);
  }

  async removeStray(entry: StrayEntry): Promise<void> {
    if (entry.kind === 'unknown') throw new StorageError('io', entry.path, 'refusing to delete a file this store did not create');
    await this.fs.remove(entry.path);
  }

  prepareBatch(batch: PreparedBatch): Promise<void> {
    return this.#journal.prepare(batch);
  }

  commitBatch(position: number): Promise<void> {
    return this.#journal.commit(position);
  }

  readInDoubtBatch(options: JournalReadOptions = {}): Promise<PreparedBatch | null> {
    return this.#journal.readInDoubt(options);
  }

  resetJournal(): Promise<void> {
    return this.#journal.reset();
  }

  appliedXids(): Promise<AppliedXids> {
    return this.#journal.applied();
  }

  async rollbackLog(handle: string, position: number): Promise<void> {
    const file = this.layout.log(this.checked(handle));
    let buffer: Buffer;
    try {
      buffer = await readFile(file);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw new StorageError('io', file, `log unreadable: ${errnoText(error)}`, handle);
    }
    const keep = bytesThroughXid(decodeLog(buffer), position);
    if (keep === buffer.length) return;
    await this.fs.truncate(file, keep);
  }

  async close(): Promise<void> {
    await this.lock?.release();
  }

  /**
   * Temp files of replaced files (backup, journal, the row store's index and compacted logs) that
   * a crash left behind mid-write: `<file>.<number>` (write-file-atomic's naming). Never loaded;
   * restore removes them.
   */
  #atomicWriteLeftovers(): Promise<StrayEntry[]> {
    return writeLeftovers([
      [this.dataDir, tempOf('journal\\.jsonl')],
      [this.dataDir, tempOf('metadata\\.jsonl')],
      [this.layout.backupDir, tempOf('registry\\.jsonl')],
      [this.layout.tables, tempOf('[^/]+\\.jsonl?')],
    ]);
  }

  /** Handles become directory names: never let one escape the shapes directory. */
  private checked(handle: string): string {
    if (!isHandle(handle)) throw new StorageError('not-found', this.layout.shapes, `not a shape handle: ${JSON.stringify(handle)}`);
    return handle;
  }
}

function metadataOf(shape: StoredShape, parsed: ParsedDefinition | undefined): ShapeMetadata {
  return parsed ? { shape, parsed } : { shape };
}

export { encodeDefinitionFile, errnoText, isErrno };
