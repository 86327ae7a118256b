import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isHandle } from '../shapes/handle.ts';
import { decodeBackup, encodeBackup } from './backup-codec.ts';
import { nodeDurableFs, type DurableFs } from './fs-durable.ts';
import { bytesThroughXid, decodeLog, encodeLogEntries } from './log-codec.ts';
import { encodeJournalRecord, readJournal } from './journal-codec.ts';
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts';
import { DirectoryTableFiles } from './rows/directory-table-files.ts';
import { LogFileReader } from './log-file-reader.ts';
import { fileLogEnd, readFileLogPage, type SnapshotHint } from './log-pages.ts';
import type { LogOffset } from '../shapes/log-offset.ts';
import {
  StorageError,
  type BackupContents,
  type BackupReadResult,
  type JournalReadOptions,
  type LogEntry,
  type LogPage,
  type LogPageRequest,
  type LogReadResult,
  type PreparedBatch,
  type ShapeListing,
  type ShapeStorage,
  type StoredShape,
  type StrayEntry,
} from './storage.ts';
import { definitionFileSchema, describeZodError } from './stored-shape.schema.ts';

export const DEFINITION_FILE = 'definition.json';
export const LOG_FILE = 'log.jsonl';
export const BACKUP_FILE = 'registry.jsonl';
export const RETIRED_BACKUP_FILE = 'registry.retired.jsonl';
export const JOURNAL_FILE = 'journal.jsonl';
/** Past this size a committed journal is emptied. */
const JOURNAL_RESET_BYTES = 16 * 1024 * 1024;
const TEMP_PREFIX = '.tmp-';
/** Shapes whose snapshot is being read page by page, remembered at once. */
const SNAPSHOT_HINTS = 4096;
const TRASH_PREFIX = '.trash-';

/** Paths of the on-disk layout (docs/on-disk-format.md describes it for people). */
export function dataDirLayout(dataDir: string) {
  const shapes = join(dataDir, 'shapes');
  const backup = join(dataDir, 'backup');
  return {
    shapes,
    backupDir: backup,
    backup: join(backup, BACKUP_FILE),
    retiredBackup: join(backup, RETIRED_BACKUP_FILE),
    journal: join(dataDir, JOURNAL_FILE),
    tables: join(dataDir, 'tables'),
    shapeDir: (handle: string) => join(shapes, handle),
    definition: (handle: string) => join(shapes, handle, DEFINITION_FILE),
    log: (handle: string) => join(shapes, handle, LOG_FILE),
  };
}

export interface OpenFileStorageOptions {
  /** Create the data dir when it does not exist (otherwise a missing dir is an error). */
  readonly create?: boolean;
  /** Take the data dir lock (default true): a second process gets a `locked` error. */
  readonly lock?: boolean;
  /** How changes reach the disk (the crash tests record them). */
  readonly fs?: DurableFs;
}

/**
 * Opens a data dir. A missing dir (unless `create`) or a path that is not a
 * directory is a StorageError naming the path: the one kind of bad input a
 * restore cannot carry on from.
 */
export async function openFileStorage(dataDir: string, options: OpenFileStorageOptions = {}): Promise<FileStorage> {
  let info;
  try {
    info = await stat(dataDir);
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw new StorageError('io', dataDir, `cannot read data dir: ${errnoText(error)}`);
    if (!options.create) throw new StorageError('not-found', dataDir, 'data dir does not exist');
    await (options.fs ?? nodeDurableFs).mkdir(dataDir);
    info = await stat(dataDir);
  }
  if (!info.isDirectory()) throw new StorageError('io', dataDir, 'data dir is not a directory');
  const lock = options.lock === false ? null : await lockDataDir(dataDir);
  return new FileStorage(dataDir, lock, options.fs);
}

/** The default store: one directory per shape, files written so that a crash leaves whole states only. */
export class FileStorage implements ShapeStorage {
  readonly description: string;
  readonly tables: DirectoryTableFiles;
  readonly layout: ReturnType<typeof dataDirLayout>;
  /** Where each shape's next snapshot page starts, for shapes being read (bounded: oldest dropped first). */
  readonly #snapshotHints = new Map<string, SnapshotHint>();

  constructor(
    readonly dataDir: string,
    private readonly lock: DataDirLock | null = null,
    private readonly fs: DurableFs = nodeDurableFs,
  ) {
    this.description = `file store at ${dataDir}`;
    this.layout = dataDirLayout(dataDir);
    this.tables = new DirectoryTableFiles(this.layout.tables, fs);
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
      const path = join(this.layout.shapes, entry.name);
      if (entry.isDirectory() && isHandle(entry.name)) handles.push(entry.name);
      else if (entry.name.startsWith(TEMP_PREFIX)) strays.push({ name: entry.name, kind: 'temp', path });
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
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new StorageError('corrupt', file, text.length === 0 ? 'definition file is empty' : 'definition file is not JSON', handle);
    }
    const parsed = definitionFileSchema.safeParse(value);
    if (!parsed.success) throw new StorageError('corrupt', file, `definition file invalid: ${describeZodError(parsed.error)}`, handle);
    if (parsed.data.shape.handle !== handle) {
      throw new StorageError('corrupt', file, `definition file names handle ${parsed.data.shape.handle}`, handle);
    }
    return parsed.data.shape;
  }

  async createShape(shape: StoredShape, initialLog: readonly LogEntry[] = []): Promise<void> {
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
  }

  async updateShape(shape: StoredShape): Promise<void> {
    const file = this.layout.definition(this.checked(shape.handle));
    if (!(await exists(this.layout.shapeDir(shape.handle)))) throw new StorageError('not-found', file, 'shape has no storage', shape.handle);
    await this.fs.replaceFile(file, encodeDefinitionFile(shape));
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
    await this.fs.remove(trash);
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

  async hasBackup(): Promise<boolean> {
    return exists(this.layout.backup);
  }

  async readBackup(): Promise<BackupReadResult> {
    const file = this.layout.backup;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return { status: 'missing' };
      return { status: 'unusable', file, reason: `unreadable: ${errnoText(error)}` };
    }
    const decoded = decodeBackup(text);
    return decoded.ok ? { status: 'ok', file, ...decoded.contents } : { status: 'unusable', file, reason: decoded.reason };
  }

  async writeBackup(contents: Omit<BackupContents, 'createdAt'>): Promise<void> {
    await this.fs.mkdir(this.layout.backupDir);
    await this.fs.replaceFile(this.layout.backup, encodeBackup({ ...contents, createdAt: new Date().toISOString() }));
  }

  async retireBackup(how: 'used' | 'unusable'): Promise<void> {
    const target = how === 'used' ? this.layout.retiredBackup : join(this.layout.backupDir, `registry.unusable-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}.jsonl`);
    try {
      await this.fs.rename(this.layout.backup, target);
    } catch (error) {
      // ENOTDIR: `backup` is not a directory, so there is no backup (hasBackup says the same).
      if (!isErrno(error, 'ENOENT') && !isErrno(error, 'ENOTDIR')) throw new StorageError('io', this.layout.backup, `cannot retire backup: ${errnoText(error)}`);
    }
  }

  async removeStray(entry: StrayEntry): Promise<void> {
    if (entry.kind === 'unknown') throw new StorageError('io', entry.path, 'refusing to delete a file this store did not create');
    await this.fs.remove(entry.path);
  }

  async prepareBatch(batch: PreparedBatch): Promise<void> {
    await this.fs.append(this.layout.journal, encodeJournalRecord({ kind: 'prepare', ...batch, transactions: [...batch.transactions], handles: [...batch.handles] }));
  }

  async commitBatch(position: number): Promise<void> {
    await this.fs.append(this.layout.journal, encodeJournalRecord({ kind: 'commit', position }));
    if ((await stat(this.layout.journal)).size > JOURNAL_RESET_BYTES) await this.resetJournal();
  }

  async readInDoubtBatch(options: JournalReadOptions = {}): Promise<PreparedBatch | null> {
    const file = this.layout.journal;
    let buffer: Buffer;
    try {
      buffer = await readFile(file);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      throw new StorageError('io', file, `journal unreadable: ${errnoText(error)}`);
    }
    const read = readJournal(buffer);
    const repair = options.repair === true && read.validBytes < buffer.length;
    if (repair) await this.fs.truncate(file, read.validBytes);
    for (const d of read.damage) {
      options.onDamage?.({ file, line: d.line, reason: d.kind === 'torn-tail' ? `line ${d.line}: ${d.reason} (interrupted append)` : `line ${d.line}: ${d.reason}`, torn: d.kind === 'torn-tail', repaired: repair && d.kind === 'torn-tail' });
    }
    return read.batch;
  }

  async resetJournal(): Promise<void> {
    await this.fs.replaceFile(this.layout.journal, '');
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
  async #atomicWriteLeftovers(): Promise<StrayEntry[]> {
    // write-file-atomic names its temp file `<file>.<number>`.
    const temp = (file: string): RegExp => new RegExp(`^${file}\\.\\d+$`);
    const places: [dir: string, pattern: RegExp][] = [
      [this.dataDir, temp('journal\\.jsonl')],
      [this.layout.backupDir, temp('registry\\.jsonl')],
      [this.layout.tables, temp('[^/]+\\.jsonl?')],
    ];
    const found: StrayEntry[] = [];
    for (const [dir, pattern] of places) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) continue;
        throw error;
      }
      for (const name of names) if (pattern.test(name)) found.push({ name, kind: 'temp', path: join(dir, name) });
    }
    return found;
  }

  /** Handles become directory names: never let one escape the shapes directory. */
  private checked(handle: string): string {
    if (!isHandle(handle)) throw new StorageError('not-found', this.layout.shapes, `not a shape handle: ${JSON.stringify(handle)}`);
    return handle;
  }
}

export function encodeDefinitionFile(shape: StoredShape): string {
  const record = {
    format: 'shape-actors/definition@1',
    shape: {
      handle: shape.handle,
      definition: shape.definition,
      dependencyHandles: shape.dependencyHandles,
      requested: shape.requested,
    },
  };
  return `${JSON.stringify(record, null, 2)}\n`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return false;
    throw error;
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

export function errnoText(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const e = error as NodeJS.ErrnoException;
    return e.code ? `${e.code}: ${e.message}` : e.message;
  }
  return String(error);
}
