import { isHandle } from '../shapes/handle.ts';
import { SNAPSHOT_END, type LogOffset } from '../shapes/log-offset.ts';
import { backupReadResult, decodeBackup, encodeBackup } from './backup-codec.ts';
import { MemoryTableFiles } from './rows/table-files.ts';
import { AppliedXids } from '../shapes/applied-xids.ts';
import { xidOf } from '../shapes/transaction.ts';
import {
  StorageError,
  type BackupContents,
  type BackupReadOptions,
  type BackupReadResult,
  type LogEntry,
  type LogPage,
  type LogPageRequest,
  type LogReadResult,
  type PositionedEntry,
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

/**
 * Keeps everything in memory, for tests and embedders that do not need
 * durability. Values are copied in and out, and the backup goes through the
 * same codec as the file store's, so it behaves like a store and not like a map.
 */
export class MemoryStorage implements ShapeStorage {
  readonly description = 'memory store';
  readonly tables = new MemoryTableFiles();
  /** Per shape: its definition (as JSON), its log, and how many of its first entries are the snapshot. */
  readonly #shapes = new Map<string, { shape: string; log: LogEntry[]; snapshot: number }>();
  /** The metadata log, as the JSON of each shape's latest record (null: never written). */
  #metadata: Map<string, string> | null = null;
  #backup: string | undefined;
  #inDoubt: PreparedBatch | null = null;
  /** Applied xids: what the journal records in the file store (a fresh store knows them from 0). */
  readonly #applied = new AppliedXids({ horizon: 0, runs: [] });

  async listShapes(): Promise<ShapeListing> {
    return { handles: [...this.#shapes.keys()], strays: [] };
  }

  async readShape(handle: string): Promise<StoredShape> {
    return JSON.parse(this.#entry(handle, 'definition').shape) as StoredShape;
  }

  async createShape(shape: StoredShape, initialLog: readonly LogEntry[] = [], parsed?: ParsedDefinition): Promise<void> {
    if (!isHandle(shape.handle)) throw new StorageError('not-found', 'memory', `not a shape handle: ${JSON.stringify(shape.handle)}`);
    if (this.#shapes.has(shape.handle)) throw new StorageError('exists', `memory:${shape.handle}`, 'a shape with this handle is already stored', shape.handle);
    this.#shapes.set(shape.handle, { shape: JSON.stringify(shape), log: structuredClone([...initialLog]), snapshot: initialLog.length });
    this.#putMetadata(shape, parsed);
  }

  async updateShape(shape: StoredShape, parsed?: ParsedDefinition): Promise<void> {
    this.#entry(shape.handle, 'definition').shape = JSON.stringify(shape);
    this.#putMetadata(shape, parsed);
  }

  async deleteShape(handle: string): Promise<void> {
    if (this.#shapes.delete(handle)) this.#metadata?.delete(handle);
  }

  async readMetadata<T>(take: (metadata: ShapeMetadata) => T): Promise<MetadataReadResult<T>> {
    if (this.#metadata === null) return { status: 'missing' };
    const shapes = new Map([...this.#metadata].map(([handle, json]) => [handle, take(withHandle(JSON.parse(json) as ShapeMetadata, handle))] as const));
    return { status: 'ok', file: 'memory:metadata', shapes, records: shapes.size };
  }

  async writeMetadata(shapes: readonly ShapeMetadata[]): Promise<void> {
    this.#metadata = new Map(shapes.map((m) => [m.shape.handle, JSON.stringify(m)] as const));
  }

  metadataRecords(): number {
    return this.#metadata?.size ?? 0;
  }

  #putMetadata(shape: StoredShape, parsed: ParsedDefinition | undefined): void {
    (this.#metadata ??= new Map()).set(shape.handle, JSON.stringify(parsed ? { shape, parsed } : { shape }));
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

  async readLogPage(handle: string, request: LogPageRequest): Promise<LogPage> {
    const { log, snapshot } = this.#entry(handle, 'log');
    const { after } = request;
    const maxBytes = request.maxBytes ?? DEFAULT_PAGE_BYTES;
    const through = request.throughXid ?? Infinity;
    const entries: PositionedEntry[] = [];
    let bytes = 0;
    if (after.tx <= 0 && after.op !== Infinity) {
      // The snapshot: entries [0, snapshot), offsets 0_<index>.
      let i = after.tx < 0 ? 0 : after.op + 1;
      for (; i < snapshot; i++) {
        const size = entrySize(log[i]!);
        if (entries.length > 0 && bytes + size > maxBytes) break;
        bytes += size;
        entries.push({ offset: { tx: 0, op: i }, entry: structuredClone(log[i]!) });
      }
      const ended = i >= snapshot;
      return { entries, next: ended ? SNAPSHOT_END : entries.at(-1)?.offset ?? after, snapshotEnded: ended };
    }
    // Transactions: the first entry at or after `after.tx`, then skip what `after.op` covers.
    let i = firstAtOrAfterXid(log, snapshot, after.tx);
    let op = 0;
    for (; i < log.length && log[i]!.xid === after.tx && op <= after.op; i++) op++;
    let xid = -1;
    for (; i < log.length; i++) {
      const entry = log[i]!;
      if (entry.xid > through) break;
      if (entry.xid !== xid) {
        if (bytes >= maxBytes) break;
        op = entry.xid === after.tx ? op : 0;
        xid = entry.xid;
      }
      bytes += entrySize(entry);
      entries.push({ offset: { tx: entry.xid, op: op++ }, entry: structuredClone(entry) });
    }
    return { entries, next: entries.at(-1)?.offset ?? after, snapshotEnded: false };
  }

  async logEnd(handle: string, throughXid = Infinity): Promise<LogOffset> {
    const { log, snapshot } = this.#entry(handle, 'log');
    const end = firstAtOrAfterXid(log, snapshot, throughXid + 1);
    if (end === snapshot) return SNAPSHOT_END;
    const xid = log[end - 1]!.xid;
    return { tx: xid, op: end - firstAtOrAfterXid(log, snapshot, xid) - 1 };
  }

  async hasBackup(): Promise<boolean> {
    return this.#backup !== undefined;
  }

  async readBackup(options: BackupReadOptions = {}): Promise<BackupReadResult> {
    if (this.#backup === undefined) return { status: 'missing' };
    return backupReadResult('memory:backup', decodeBackup(this.#backup, options.unlessMetadataIs));
  }

  /** (A memory store's backups record no digest: restore reconciles them shape by shape.) */
  metadataDigest(): MetadataDigest | null {
    return null;
  }

  async writeBackup(contents: Omit<BackupContents, 'createdAt' | 'metadata'>): Promise<void> {
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
    for (const transaction of this.#inDoubt?.transactions ?? []) {
      const xid = xidOf(transaction);
      if (xid !== null) this.#applied.add(xid);
    }
    this.#inDoubt = null;
  }

  async appliedXids(): Promise<AppliedXids> {
    return this.#applied;
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

/**
 * The parsed record with the store's own string for its handle: the runtime then keys its maps
 * by the very strings this store's are keyed by (a Map lookup with an equal but distinct string
 * compares the two strings' contents: at 100k shapes, two more cache misses per lookup).
 */
function withHandle(metadata: ShapeMetadata, handle: string): ShapeMetadata {
  (metadata.shape as { handle: string }).handle = handle;
  return metadata;
}

const DEFAULT_PAGE_BYTES = 10 * 1024 * 1024;

/** What an entry weighs in a page: its JSON length, as the file store counts its lines. */
function entrySize(entry: LogEntry): number {
  return JSON.stringify(entry).length;
}

/** Index of the first transaction entry (from `from`) whose xid is at least `xid`: a binary search. */
function firstAtOrAfterXid(log: readonly LogEntry[], from: number, xid: number): number {
  let lo = from;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.xid < xid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
