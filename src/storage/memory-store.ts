import { isHandle } from '../shapes/handle.ts';
import { decodeBackup, encodeBackup } from './backup-codec.ts';
import { MemoryTableFiles } from './rows/table-files.ts';
import {
  StorageError,
  type BackupContents,
  type BackupReadResult,
  type LogEntry,
  type LogReadResult,
  type PreparedBatch,
  type ShapeListing,
  type ShapeStorage,
  type StoredShape,
  type StrayEntry,
} from './storage.ts';

/**
 * Keeps everything in memory, for tests and embedders that do not need
 * durability. Values are copied in and out, and the backup goes through the
 * same codec as the file store's, so it behaves like a store and not like a map.
 */
export class MemoryStorage implements ShapeStorage {
  readonly description = 'memory store';
  readonly tables = new MemoryTableFiles();
  readonly #shapes = new Map<string, { shape: string; log: LogEntry[] }>();
  #backup: string | undefined;
  #inDoubt: PreparedBatch | null = null;

  async listShapes(): Promise<ShapeListing> {
    return { handles: [...this.#shapes.keys()], strays: [] };
  }

  async readShape(handle: string): Promise<StoredShape> {
    return JSON.parse(this.#entry(handle, 'definition').shape) as StoredShape;
  }

  async createShape(shape: StoredShape, initialLog: readonly LogEntry[] = []): Promise<void> {
    if (!isHandle(shape.handle)) throw new StorageError('not-found', 'memory', `not a shape handle: ${JSON.stringify(shape.handle)}`);
    if (this.#shapes.has(shape.handle)) throw new StorageError('exists', `memory:${shape.handle}`, 'a shape with this handle is already stored', shape.handle);
    this.#shapes.set(shape.handle, { shape: JSON.stringify(shape), log: structuredClone([...initialLog]) });
  }

  async updateShape(shape: StoredShape): Promise<void> {
    this.#entry(shape.handle, 'definition').shape = JSON.stringify(shape);
  }

  async deleteShape(handle: string): Promise<void> {
    this.#shapes.delete(handle);
  }

  async appendLog(handle: string, entries: readonly LogEntry[]): Promise<void> {
    if (!isHandle(handle)) throw new StorageError('not-found', 'memory', `not a shape handle: ${JSON.stringify(handle)}`);
    if (entries.length === 0) return;
    const entry = this.#entry(handle, 'log');
    for (const e of entries) entry.log.push(structuredClone(e));
  }

  async readLog(handle: string): Promise<LogReadResult> {
    return { entries: structuredClone(this.#entry(handle, 'log').log), repaired: false };
  }

  async hasBackup(): Promise<boolean> {
    return this.#backup !== undefined;
  }

  async readBackup(): Promise<BackupReadResult> {
    if (this.#backup === undefined) return { status: 'missing' };
    const decoded = decodeBackup(this.#backup);
    return decoded.ok ? { status: 'ok', file: 'memory:backup', ...decoded.contents } : { status: 'unusable', file: 'memory:backup', reason: decoded.reason };
  }

  async writeBackup(contents: Omit<BackupContents, 'createdAt'>): Promise<void> {
    this.#backup = encodeBackup({ ...contents, createdAt: new Date().toISOString() });
  }

  async retireBackup(_how: 'used' | 'unusable'): Promise<void> {
    this.#backup = undefined;
  }

  async removeStray(entry: StrayEntry): Promise<void> {
    throw new StorageError('io', entry.path, 'the memory store has no strays');
  }

  async prepareBatch(batch: PreparedBatch): Promise<void> {
    this.#inDoubt = structuredClone(batch);
  }

  async commitBatch(): Promise<void> {
    this.#inDoubt = null;
  }

  async readInDoubtBatch(): Promise<PreparedBatch | null> {
    return this.#inDoubt && structuredClone(this.#inDoubt);
  }

  async resetJournal(): Promise<void> {
    this.#inDoubt = null;
  }

  async rollbackLog(handle: string, position: number): Promise<void> {
    const entry = this.#shapes.get(handle);
    if (!entry) return;
    const i = entry.log.findIndex((e) => e.xid > position);
    if (i !== -1) entry.log.length = i;
  }

  async close(): Promise<void> {}

  #entry(handle: string, what: 'definition' | 'log') {
    const entry = this.#shapes.get(handle);
    if (!entry) throw new StorageError('not-found', `memory:${handle}/${what}`, 'shape has no storage', handle);
    return entry;
  }
}
