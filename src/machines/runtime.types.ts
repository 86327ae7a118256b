import type { RequestQueue } from './request-queue.ts';
import type { RuntimeShapes } from '../actors/runtime-shapes.ts';
import type { consumerLogic } from '../actors/consumer.actor.ts';
import type { RestartIntensity } from '../actors/restart-intensity.ts';
import type { Removal, RemovalReason } from '../graph/removal.ts';
import type { RestorePlan, RestorePolicy } from '../graph/restore-plan.ts';
import type { ShapeRecord } from '../registry/shape-record.ts';
import type { LoadMode, LoadResult, RestoreProblem } from '../restore/load-result.ts';
import type { DamagedTable } from '../restore/table-damage.ts';
import type { MoveInSource, RowStoreOpener } from '../storage/rows/row-store.ts';
import type { LogEntry, ShapeStorage } from '../storage/storage.ts';
import type { ColumnType, TableColumnTypes } from '../shapes/column-types.ts';
import type { RuntimeLogger } from '../logging/runtime-logger.ts';
import type { LogOffset } from '../shapes/log-offset.ts';
import type { Transaction } from '../shapes/transaction.ts';

/** The restore states, in the order a restore passes through them (for timings). */
export type RestorePhase = 'checkingBackup' | 'loadingBackup' | 'loadingShapes' | 'validatingDependencies' | 'committingRestore' | 'spawning';

export interface ShapeRuntimeInput {
  readonly storage: ShapeStorage;
  /** `validate` (default) keeps every shape whose dependency closure is intact; `dropDependent` drops every subquery shape. */
  readonly policy?: RestorePolicy;
  /** Plan only: nothing on disk changes and no actor is spawned; the machine ends in `planned`. */
  readonly dryRun?: boolean;
  /** Substitute consumer implementation (like `machine.provide`): tests use one that fails. */
  readonly consumerLogic?: typeof consumerLogic;
  /** How often a failing consumer is restarted before its shape is removed. */
  readonly restartIntensity?: RestartIntensity;
  /** Primary key columns per table (schema-qualified name); `['id']` when not listed. */
  readonly keyColumns?: Readonly<Record<string, readonly string[]>>;
  /**
   * Row-store tables whose damage the operator acknowledges (their lost records cannot come back):
   * their kept rows are trusted again and snapshots from them allowed (`restore --accept-table-damage`).
   */
  readonly acceptTableDamage?: readonly string[];
  /**
   * Column types per table (`{ 'public.items': { id: 'int4', price: 'numeric' } }`): where clauses
   * judge the table's values by them; recorded with the table. A table without them is judged by
   * each value's JSON type.
   */
  readonly columnTypes?: Readonly<Record<string, Readonly<Record<string, string | ColumnType>>>>;
  /** Where move-ins find rows that now qualify (default: the embedded row store; a database source can stand in). */
  readonly moveInSource?: MoveInSource;
  /**
   * Opens the row store the runtime resolves changes with, reads snapshots and move-ins from
   * (default: the embedded TableStore in storage's tables). A database source gives its own,
   * which keeps no copy of the tables.
   */
  readonly rowStore?: RowStoreOpener;
  /** Expiry: past this many shapes, the least recently used are evicted (dependents before their dependencies). */
  readonly maxShapes?: number;
  readonly logger?: RuntimeLogger;
  /** Called while registering many shapes, so a host can show progress. */
  readonly onProgress?: (progress: { readonly phase: 'spawning'; readonly done: number; readonly total: number }) => void;
  /** An awake shape no change reached and no client read for this long goes back to sleep (default 5 minutes). */
  readonly idleTimeoutMs?: number;
  /** How often idle shapes are looked for (default: a tenth of the idle timeout, between 1 and 30 s). */
  readonly sleepCheckMs?: number;
}

/** A caller's request; all are queued and handled in order once the runtime is `running`. */
export type RuntimeRequest =
  | { readonly type: 'SHAPE.ADD_REQUESTED'; readonly requestId: string; readonly definition: unknown }
  | { readonly type: 'SHAPE.REMOVE_REQUESTED'; readonly requestId: string; readonly handle: string }
  /** A transaction `{ xid, changes: [{ op, table, row, oldRow? }] }`, validated when applied. */
  | { readonly type: 'TRANSACTION.RECEIVED'; readonly requestId: string; readonly transaction: unknown }
  /**
   * Transactions from an in-process source, typed already (table names
   * normalized, `public.users`): not validated again; applied in order, one reply.
   */
  | { readonly type: 'TRANSACTIONS.RECEIVED'; readonly requestId: string; readonly transactions: readonly Transaction[] }
  /** A shape is in use (a client read it): it moves to the back of the expiry order. */
  | { readonly type: 'SHAPE.USED'; readonly requestId: string; readonly handle: string }
  | { readonly type: 'CHECKPOINT.REQUESTED'; readonly requestId: string }
  /**
   * A source read these tables again at `xid` (a position between its transactions): their
   * shapes, and every shape depending on them, are brought in step with them (see resync-shapes.actor.ts).
   */
  | { readonly type: 'SHAPES.RESYNC_REQUESTED'; readonly requestId: string; readonly xid: number; readonly tables: readonly string[] }
  | { readonly type: 'SHUTDOWN.REQUESTED'; readonly requestId: string }
  /** Internal: a shape's consumer failed for good, or lost a materializer; it goes, with cascade. */
  | { readonly type: 'SHAPE.FAILED'; readonly requestId: string; readonly handle: string; readonly reason: RemovalReason; readonly detail: string }
  /** Internal: expiry chose this shape; it goes, with cascade. */
  | { readonly type: 'SHAPE.EXPIRED'; readonly requestId: string; readonly handle: string }
  /** Internal: the check after restore has read every shape's files and its removals are done: say so. */
  | { readonly type: 'STORAGE.CHECK_COMPLETED'; readonly requestId: string };

/** Requests that carry transactions. */
export type TransactionsRequest = Extract<RuntimeRequest, { readonly type: 'TRANSACTION.RECEIVED' | 'TRANSACTIONS.RECEIVED' }>;

/** Requests that remove a shape (and everything depending on it). */
export type RemovalRequest = Extract<RuntimeRequest, { readonly handle: string; readonly type: 'SHAPE.REMOVE_REQUESTED' | 'SHAPE.FAILED' | 'SHAPE.EXPIRED' }>;

/** Events the machine sends itself. */
export type RuntimeInternalEvent =
  /** Remove one shape: stop its actors (if any) and forget it. Carries why and because of whom. */
  | { readonly type: 'CASCADE.STOP'; readonly removal: Removal }
  /** Every CASCADE.STOP of a batch has been sent. */
  | { readonly type: 'CASCADE.SENT' }
  /** `running.idle`, nothing queued: the check after restore has shapes left to read. */
  | { readonly type: 'STORAGE.CHECK_DUE' }
  /** The sleep clock: time to put idle shapes to sleep (only acted on in `running.idle`). */
  | { readonly type: 'SLEEP.DUE' };

/** A consumer or materializer failed (XState relays it to the runtime, its parent). */
export interface ActorErrorEvent {
  readonly type: `xstate.error.actor.${string}`;
  readonly error: unknown;
  readonly actorId?: string;
}

export type RuntimeEvent = RuntimeRequest | RuntimeInternalEvent | ActorErrorEvent;

/** What became of one transaction of a `TRANSACTIONS.RECEIVED` batch. */
export type BatchOutcome =
  | { readonly xid: number; readonly status: 'applied' | 'skipped' }
  | { readonly xid: number; readonly status: 'rejected'; readonly reason: string };

export interface RequestError {
  readonly code: string;
  readonly message: string;
}

/** What the runtime tells its host (`actor.on(type, ...)`). */
export type RuntimeEmitted =
  | { readonly type: 'RESTORE.COMPLETED'; readonly report: RestoreReport }
  | { readonly type: 'SHAPE.ADDED'; readonly requestId: string; readonly handle: string; readonly dependencyHandles: readonly string[]; readonly created: readonly string[] }
  | { readonly type: 'SHAPE.REMOVED'; readonly requestId: string | null; readonly removals: readonly Removal[] }
  | { readonly type: 'CASCADE.STOPPED'; readonly phase: 'restore' | 'running'; readonly removal: Removal }
  | { readonly type: 'TRANSACTION.APPLIED'; readonly requestId: string; readonly xid: number; readonly status: 'applied' | 'skipped' }
  /** A batch of transactions is durable (one event per batch): the position reached, and each shape whose log grew with its new last offset. */
  | { readonly type: 'BATCH.COMMITTED'; readonly position: number; readonly appended: readonly { readonly handle: string; readonly last: LogOffset }[] }
  | { readonly type: 'TRANSACTIONS.APPLIED'; readonly requestId: string; readonly outcomes: readonly BatchOutcome[] }
  | { readonly type: 'SHAPE.USE_RECORDED'; readonly requestId: string; readonly handle: string }
  | { readonly type: 'SHAPES.RESYNCED'; readonly requestId: string; readonly xid: number; readonly tables: readonly string[]; readonly handles: readonly string[]; readonly written: number }
  | { readonly type: 'CHECKPOINT.WRITTEN'; readonly requestId: string; readonly shapes: number }
  | { readonly type: 'REQUEST.FAILED'; readonly requestId: string; readonly error: RequestError }
  | { readonly type: 'ACTOR.FAILED'; readonly actorId: string; readonly message: string }
  | { readonly type: 'RUNTIME.STOPPED'; readonly requestId: string | null; readonly shapes: number }
  /** The runtime failed (a storage failure it cannot carry on from): it ends. */
  | { readonly type: 'RUNTIME.FAILED'; readonly error: string }
  /**
   * Shapes woke (a change was routed to them, a client read them, a new shape needed them):
   * their actors, started in this order, dependencies first (`shape:<h>`, `materializer:<h>`).
   */
  | { readonly type: 'SHAPES.WOKEN'; readonly cause: 'change' | 'read' | 'add'; readonly started: readonly string[] }
  /** Awake shapes idle for the idle timeout went back to sleep (their state is on disk). */
  | { readonly type: 'SHAPES.SLEPT'; readonly handles: readonly string[] }
  /** The check after restore is done: what it found in the files restore takes on trust (removals already carried out). */
  | { readonly type: 'STORAGE.CHECKED'; readonly report: StorageCheckReport };

/**
 * The check after restore: every kept shape's own files (definition, log), read in the background
 * while the runtime serves (restore reads only the metadata log). Damage removes the shape and its
 * dependents, for the reasons restore gives; a torn log tail is cut back.
 */
export interface StorageCheckReport {
  /** Shapes whose files were read (restore had read the others already). */
  readonly checked: number;
  /** Every removal it caused, each damaged shape followed by its dependents. */
  readonly removed: readonly Removal[];
  readonly problems: readonly RestoreProblem[];
  /** The restore's spawn order without the actors of what the check removed (and materializers no shape needs any more). */
  readonly spawnOrder: readonly string[];
  readonly durationMs: number;
}

/** The check after restore, under way: what is left to read, what it found so far. */
export interface StorageCheckState {
  /** Handles to read, dependencies first; `next` is the first not read yet. */
  readonly order: readonly string[];
  readonly next: number;
  readonly checked: number;
  readonly removed: readonly Removal[];
  readonly problems: readonly RestoreProblem[];
  readonly startedAt: number;
  readonly completed: boolean;
}

export interface PhaseTiming {
  readonly phase: RestorePhase;
  readonly startedAt: number;
  readonly ms: number | null;
}

/** What a restore did, for people (the CLI's table) and machines (`--json`). */
export interface RestoreReport {
  readonly mode: LoadMode;
  readonly policy: RestorePolicy;
  readonly dryRun: boolean;
  readonly fallbackReason: string | null;
  /** Surviving shapes, in spawn order. */
  readonly loaded: readonly string[];
  readonly removed: readonly Removal[];
  readonly problems: readonly RestoreProblem[];
  /** Actors in the order they were (or, on a dry run, would be) spawned: `shape:<h>` / `materializer:<h>`. */
  readonly spawnOrder: readonly string[];
  readonly phases: readonly PhaseTiming[];
  /** Table of every loaded or removed shape whose definition restore could read (from storage, or the backup). */
  readonly tables: Readonly<Record<string, string>>;
  /** Row-store tables that lost records, the kept shapes they reach, and what the runtime does about them. */
  readonly damagedTables: readonly DamagedTable[];
}

export interface RuntimeContext {
  readonly storage: ShapeStorage;
  readonly policy: RestorePolicy;
  readonly dryRun: boolean;
  readonly keyColumns: Readonly<Record<string, readonly string[]>>;
  readonly acceptTableDamage: readonly string[];
  readonly columnTypes: Readonly<Record<string, TableColumnTypes>>;
  readonly maxShapes: number | null;
  readonly moveInSource: MoveInSource | null;
  readonly openRows: RowStoreOpener | null;
  readonly logger: RuntimeLogger;
  readonly onProgress: ShapeRuntimeInput['onProgress'];
  /**
   * The runtime's shapes: registry, the awake ones' actors, the row store (null before the
   * restore committed, and on a dry run). One resource the machine owns, changed only by its
   * named effects (mutable by design: it is not state to snapshot).
   */
  readonly shapes: RuntimeShapes;
  readonly idleTimeoutMs: number;
  readonly sleepCheckMs: number;
  readonly fallbackReason: string | null;
  readonly load: LoadResult | null;
  /** The restore plan's survivors and removals (its index into the load's records is dropped once `kept` is built). */
  readonly plan: Pick<RestorePlan, 'keep' | 'removals'> | null;
  /** The plan's survivors' records, in its order (dependencies first); emptied once `running` has started its storage check (the registry holds them). */
  readonly kept: readonly ShapeRecord[];
  /** The kept shapes some kept shape depends on (each wakes with a materializer): found with `kept`, released with it. */
  readonly dependedOn: ReadonlySet<string>;
  readonly phases: readonly PhaseTiming[];
  readonly report: RestoreReport | null;
  /** Requests waiting (before `running`, and while one is under way). */
  readonly queue: RequestQueue<RuntimeRequest>;
  /** The request under way in `running` (taken from the queue, or straight from `idle`). */
  readonly current: RuntimeRequest | null;
  /** The transaction requests `running.applying` carries out together. */
  readonly batch: readonly TransactionsRequest[];
  /** The removal being carried out in `running.removing`, causes first. */
  readonly removing: readonly Removal[];
  readonly removingRequestId: string | null;
  readonly storageCheck: StorageCheckState;
  /** Why the runtime failed: a code (a typed error's, else `internal`) and the message. */
  readonly failure: RequestError | null;
}

export type RuntimeOutput =
  | { readonly status: 'stopped'; readonly report: RestoreReport | null }
  | { readonly status: 'planned'; readonly report: RestoreReport }
  | { readonly status: 'failed'; readonly error: string; readonly code: string; readonly report: RestoreReport | null };

/** What `enqueueActions` hands the actions' implementations, narrowed to what they use. */
export interface Enqueue {
  assign(update: Partial<RuntimeContext>): void;
  raise(event: RuntimeEvent): void;
  emit(event: RuntimeEmitted): void;
}
