import type { ShapeDefinition } from '../shapes/definition.ts';
import type { TableFiles } from './rows/table-files.ts';
import type { LogOffset } from '../shapes/log-offset.ts';
import type { WhereExpr } from '../shapes/where/ast.ts';
import type { AppliedXids } from '../shapes/applied-xids.ts';

/** A shape as storage keeps it: its definition and the handles its subqueries resolved to. */
export interface StoredShape {
  readonly handle: string;
  readonly definition: ShapeDefinition;
  /** One per subquery of `definition.where`, in order of appearance. */
  readonly dependencyHandles: readonly string[];
  /** Created directly by a caller (not only as another shape's dependency). */
  readonly requested: boolean;
}

/**
 * A definition as the parser understood it, kept beside it so that restore parses no SQL:
 * the where clause's expression and the definitions of its subqueries (in order).
 */
export interface ParsedDefinition {
  /** WHERE_AST_VERSION of the parser that wrote it: a record of another version is parsed again from its SQL. */
  readonly version: number;
  readonly where?: WhereExpr;
  readonly dependencies: readonly ShapeDefinition[];
}

/** A stored shape as the metadata log keeps it: one record per shape, read in one go at restore. */
export interface ShapeMetadata {
  readonly shape: StoredShape;
  /** Absent when the writer had not parsed the definition (then restore parses it). */
  readonly parsed?: ParsedDefinition;
}

export type MetadataReadResult<T = ShapeMetadata> =
  | { readonly status: 'missing' }
  | { readonly status: 'unusable'; readonly file: string; readonly reason: string }
  | {
      readonly status: 'ok';
      readonly file: string;
      /** handle -> what the reader's `take` made of its latest record (deleted shapes are absent). */
      readonly shapes: ReadonlyMap<string, T>;
      /** Records in the log (puts and deletes): more than `shapes.size` means there is garbage to compact. */
      readonly records: number;
      /** Written in an older layout than this runtime writes (still read): rewritten when a restore commits. */
      readonly outdated?: true;
      /** A bad line: the records from there on are not read (restore reads those shapes' definition files and rewrites the log). */
      readonly damage?: { readonly line: number; readonly reason: string; readonly torn: boolean };
    };

/** One change as a shape's log keeps it; replaying the log in order gives the shape's rows. */
export interface LogEntry {
  /** The transaction that produced it. */
  readonly xid: number;
  /** The Postgres transaction id of that transaction (`Transaction.pgXid`), when it came from Postgres. */
  readonly pgXid?: number;
  readonly op: 'insert' | 'update' | 'delete';
  /** The row's primary key, canonically encoded. */
  readonly key: string;
  readonly row: Readonly<Record<string, unknown>>;
}

/** Something under the shapes directory that is not a shape. */
export interface StrayEntry {
  readonly name: string;
  /** `temp`: an unfinished create; `trash`: an unfinished delete; `unknown`: anything else. */
  readonly kind: 'temp' | 'trash' | 'unknown';
  readonly path: string;
}

export interface ShapeListing {
  readonly handles: readonly string[];
  readonly strays: readonly StrayEntry[];
}

export type { FramedDamage as LogDamage } from './framed-lines.ts';
import type { FramedDamage as LogDamage } from './framed-lines.ts';

export interface LogReadResult {
  readonly entries: readonly LogEntry[];
  /** Set when the log was damaged; a torn tail is cut back to the last whole entry. */
  readonly damage?: LogDamage;
  /** True when a torn tail was truncated on disk (only with `repair`). */
  readonly repaired: boolean;
}

/** A log entry and its offset in the shape's log (see shapes/log-offset.ts). */
export interface PositionedEntry {
  readonly offset: LogOffset;
  readonly entry: LogEntry;
}

export interface LogPageRequest {
  /** The page holds the entries after this offset. */
  readonly after: LogOffset;
  /**
   * Stop once about this many bytes of entries are read (default 10 MiB). A snapshot page stops
   * before going over (but holds at least one entry); a transaction is always read whole.
   */
  readonly maxBytes?: number;
  /** Only transactions up to this xid (the durable position: later ones may be half written). */
  readonly throughXid?: number;
}

/**
 * Part of a shape's log. Read from `-1` or a snapshot offset, a page holds snapshot entries
 * only (the log written when the shape was created); from `0_inf` or a transaction's offset,
 * whole transactions (unless `after` itself was inside one).
 */
export interface LogPage {
  readonly entries: readonly PositionedEntry[];
  /** Where the next read starts: the last entry's offset, `0_inf` once the snapshot is read, else `after`. */
  readonly next: LogOffset;
  /** This page read to the end of the snapshot (`next` is `0_inf`). */
  readonly snapshotEnded: boolean;
}

/**
 * A batch of transactions about to be written: recorded durably before any
 * shape log is touched, so that after a crash part-way the batch can be undone
 * (logs cut back to `position`) and applied again, exactly once.
 */
export interface PreparedBatch {
  /** Position (last applied xid) before the batch. */
  readonly position: number;
  /** The batch's transactions, as received (re-validated when redone). */
  readonly transactions: readonly unknown[];
  /** Shapes whose logs the batch appends to. */
  readonly handles: readonly string[];
}

export interface JournalReadOptions {
  readonly repair?: boolean;
  /** `torn`: the last line, an interrupted append (cut back with `repair`). */
  readonly onDamage?: (damage: { readonly file: string; readonly line: number; readonly reason: string; readonly torn: boolean; readonly repaired: boolean }) => void;
}

export interface BackupContents {
  readonly createdAt: string;
  readonly shapes: readonly StoredShape[];
  /** Storage position the runtime had reached when the backup was written (opaque to storage). */
  readonly position: string | null;
  /** The metadata log the backup was written beside, as the store knew it then (absent: not known). */
  readonly metadata?: MetadataDigest;
}

/**
 * A metadata log's byte length and CRC-32: whether it is still the log a backup was written
 * beside. The log only grows between compactions (each appends at least a line), and a rewrite
 * of the same length with the same CRC-32 is a 1 in 2^32 chance; what restore skips on a match
 * is reporting, never validation (see loadFromBackup).
 */
export interface MetadataDigest {
  readonly bytes: number;
  readonly crc32: number;
}

export interface BackupReadOptions {
  /**
   * The metadata log as the caller read it: a backup written beside exactly this log names the
   * shapes it holds, so its records are not parsed (status `same-as-metadata`: its handles only).
   */
  readonly unlessMetadataIs?: MetadataDigest;
}

export type BackupReadResult =
  | ({ readonly status: 'ok'; readonly file: string } & BackupContents)
  | {
      readonly status: 'same-as-metadata';
      readonly file: string;
      readonly createdAt: string;
      readonly position: string | null;
      /** The handles the backup names, in its order (its records are the metadata log's). */
      readonly handles: readonly string[];
    }
  | { readonly status: 'missing' }
  | { readonly status: 'unusable'; readonly file: string; readonly reason: string };

/**
 * `damaged`: the data is there but lost records, so it is not trusted (a row-store table);
 * `not-a-data-dir`: a directory that holds other things, never adopted as a data dir.
 */
export type StorageErrorCode = 'not-found' | 'corrupt' | 'exists' | 'io' | 'locked' | 'damaged' | 'not-a-data-dir';

/** A storage failure that names the shape (when there is one), the file and the reason. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    readonly file: string,
    readonly reason: string,
    readonly handle?: string,
  ) {
    super(`${handle ? `shape ${handle}: ` : ''}${reason} (${file})`);
  }
}

/**
 * Where shapes live. The file store is the default; the memory store serves
 * tests; both pass the same conformance suite (test/conformance/storage.ts).
 */
export interface ShapeStorage {
  /** For reports and logs: what and where this store is. */
  readonly description: string;
  /** The embedded row store's files, beside the shapes (its `tables/`, or memory): open it with TableStore.open. */
  readonly tables: TableFiles;
  listShapes(): Promise<ShapeListing>;
  /** Throws StorageError: `not-found` when the shape has no storage, `corrupt` when its definition cannot be read. */
  readShape(handle: string): Promise<StoredShape>;
  /**
   * Creates the shape's storage (definition and initial log), all or nothing, then records it in the
   * metadata log (with `parsed`, when the caller has it). `exists` if the handle is taken.
   */
  createShape(shape: StoredShape, initialLog?: readonly LogEntry[], parsed?: ParsedDefinition): Promise<void>;
  /** Rewrites an existing shape's definition record (all or nothing), then its metadata record. */
  updateShape(shape: StoredShape, parsed?: ParsedDefinition): Promise<void>;
  /** Deletes the shape's storage, all or nothing, then records the delete in the metadata log. Deleting a missing shape is not an error. */
  deleteShape(handle: string): Promise<void>;
  /**
   * The metadata log: every stored shape's record, from one file. It is an index of the shape
   * directories (each shape's own definition file is the truth): restore reads it instead of
   * every definition, and rebuilds what it lacks from those files. Each record is handed to
   * `take` as it is read (restore makes its registry record there, so the parsed record is
   * garbage at once); `shapes` keeps what `take` answered for each handle's latest record.
   */
  readMetadata<T>(take: (metadata: ShapeMetadata) => T): Promise<MetadataReadResult<T>>;
  /** Replaces the metadata log with exactly these records, atomically (compaction, repair, migration). */
  writeMetadata(shapes: readonly ShapeMetadata[]): Promise<void>;
  /** Records in the metadata log now (puts and deletes): compaction is due when it is well past the shapes stored. */
  metadataRecords(): number;
  /** The metadata log's digest as this store last read, appended to or wrote it (null: not known, e.g. not read yet). */
  metadataDigest(): MetadataDigest | null;
  /** Appends entries durably: when the promise resolves they survive a crash. */
  appendLog(handle: string, entries: readonly LogEntry[]): Promise<void>;
  /** Reads the whole log. A torn last line is reported and, with `repair`, cut off on disk. */
  readLog(handle: string, options?: { repair?: boolean }): Promise<LogReadResult>;
  /**
   * Reads part of the log, after an offset, without reading what comes before it (a seek, not
   * a scan). `createShape`'s `initialLog` is the snapshot; `appendLog`s are transactions, whose
   * xids only grow. `corrupt` when a line on the way is damaged.
   */
  readLogPage(handle: string, request: LogPageRequest): Promise<LogPage>;
  /** The offset of the log's last entry up to `throughXid` (`0_inf` when no transaction gave the shape an entry). */
  logEnd(handle: string, throughXid?: number): Promise<LogOffset>;
  /** Whether a backup file exists at all (usable or not: reading it tells). */
  hasBackup(): Promise<boolean>;
  readBackup(options?: BackupReadOptions): Promise<BackupReadResult>;
  /** Writes the backup atomically, replacing the previous one (with the metadata log's digest, when the store knows it). */
  writeBackup(contents: Omit<BackupContents, 'createdAt' | 'metadata'>): Promise<void>;
  /**
   * A backup is used once: after a restore has loaded it (or found it unusable) it no longer
   * counts. A used backup is kept as the last retired one; an unusable one (another version,
   * damaged) is kept aside under its own name, never overwritten.
   */
  retireBackup(how: 'used' | 'unusable'): Promise<void>;
  /** Removes an unfinished create or delete left by a crash. */
  removeStray(entry: StrayEntry): Promise<void>;
  /** Journal: records a batch about to be written, durably. */
  prepareBatch(batch: PreparedBatch): Promise<void>;
  /** Journal: the batch is wholly on disk; `position` is now the last applied xid. */
  commitBatch(position: number): Promise<void>;
  /**
   * Journal: the batch prepared but never committed (the process stopped mid-write), if any.
   * With `repair`, a torn last line is cut back (the next append must start a line of its own);
   * `onDamage` hears of each bad line.
   */
  readInDoubtBatch(options?: JournalReadOptions): Promise<PreparedBatch | null>;
  /** Journal: forgets committed batches (not which xids they applied). */
  resetJournal(): Promise<void>;
  /**
   * The xids applied so far, as far as the journal records them (see AppliedXids): read once,
   * then kept current by every `commitBatch`. The runtime tells an already applied transaction
   * from one never applied with it.
   */
  appliedXids(): Promise<AppliedXids>;
  /** Cuts a shape's log back to the entries of transactions up to `position` (undoing an in-doubt batch). */
  rollbackLog(handle: string, position: number): Promise<void>;
  /** Releases what the store holds (the data dir lock). */
  close(): Promise<void>;
}
