import { createActor, waitFor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import type { Removal } from '../graph/removal.ts';
import { shapeRuntimeMachine } from '../machines/restore.machine.ts';
import type { BatchOutcome, RequestError, RestoreReport, RuntimeEmitted, RuntimeOutput, RuntimeRequest, ShapeRuntimeInput, StorageCheckReport } from '../machines/runtime.types.ts';
import type { ShapeDefinition } from '../shapes/definition.ts';
import type { Transaction } from '../shapes/transaction.ts';
import { openFileStorage } from '../storage/file-store.ts';
import type { LogEntry, ShapeStorage, StoredShape } from '../storage/storage.ts';
import { CountedLinkSet } from '../live/counted-link-set.ts';
import { restoreRowStore } from '../storage/rows/restore-row-store.ts';
import { damagedTableProblems, damagedTables } from '../restore/table-damage.ts';
import { columnNames } from '../shapes/definition.ts';
import { runtimeReadView, type RuntimeShapesView, type ShapeActivity } from '../machines/runtime-read-view.ts';
import type { RestorableRowStore } from '../storage/rows/row-store.ts';
import { ShapeRuntimeError } from './runtime-error.ts';
import { createShapeReads, type ShapeReads } from './shape-reads.ts';
import type { TableCatalog } from './shape-columns.ts';
import type { TableColumnTypes } from '../shapes/column-types.ts';

export type ShapeRuntimeActor = Actor<typeof shapeRuntimeMachine>;

export interface CreateShapeRuntimeOptions extends Omit<ShapeRuntimeInput, 'storage'> {
  /** Data dir for the default file store (ignored when `storage` is given). */
  readonly dataDir?: string;
  /** Create `dataDir` if it does not exist (default true). An empty directory is used, one holding anything else refused. */
  readonly createDataDir?: boolean;
  /** Take over `dataDir`'s lock when another host wrote it and has not refreshed it for a minute (the CLI's `--force-unlock`). */
  readonly forceUnlock?: boolean;
  readonly storage?: ShapeStorage;
  /** Any XState inspector (`@statelyai/inspect`, the recorder in this package, ...). */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Where shapes' column types come from (the Postgres source gives one); inferred from values without. */
  readonly catalog?: TableCatalog;
}

export { ShapeRuntimeError };

export interface AddedShape {
  readonly handle: string;
  readonly dependencyHandles: readonly string[];
  /** Handles created by this call (the shape and any dependency shapes it needed). */
  readonly created: readonly string[];
}

export interface ShapeSummary extends StoredShape {}

/** Promise-based handle on a running runtime, for hosts without XState. */
export interface ShapeRuntime {
  readonly actor: ShapeRuntimeActor;
  readonly report: RestoreReport;
  add(definition: ShapeDefinition | Record<string, unknown>): Promise<AddedShape>;
  remove(handle: string): Promise<readonly Removal[]>;
  /** Applies a transaction (validated first); resolves once every affected shape's log has it on disk. */
  applyTransaction(transaction: Transaction | Record<string, unknown>): Promise<{ readonly xid: number; readonly status: 'applied' | 'skipped' }>;
  /**
   * For a source that read tables again at `xid` (between its transactions): brings their shapes,
   * and every shape depending on them, in step with the row store's rows at `xid`; resolves once
   * their logs have it on disk (refused with code `rows-unavailable` when the rows could not be read).
   */
  resync(xid: number, tables: readonly string[]): Promise<{ readonly handles: readonly string[] }>;
  /**
   * The entry point for in-process sources: typed transactions (table names
   * normalized, `public.users`), in xid order, applied together and not
   * validated again; resolves once every affected shape's log has them on
   * disk, with each one's outcome (a transaction the row store refuses, for a
   * missing key column, is `rejected` and nothing of it is applied).
   */
  applyTransactions(transactions: readonly Transaction[]): Promise<readonly BatchOutcome[]>;
  /** Records that a client used a shape (expiry keeps recently used shapes). */
  use(handle: string): Promise<void>;
  /**
   * A dependency shape's link values (what its materializer answers: linkKey-encoded, sorted);
   * computed from its log when no materializer runs (it has no dependents now).
   */
  linkValues(handle: string): Promise<string[]>;
  /** A shape's log, in order; a read counts as a use (expiry keeps it). */
  readLog(handle: string): Promise<readonly LogEntry[]>;
  /**
   * A table's column types (from the database catalog when following Postgres, else declared),
   * or undefined when none are known: where clauses then judge each value by its JSON type.
   */
  columnTypesOf(table: string): TableColumnTypes | undefined;
  /** Primary key columns of a table (recorded by the row store, declared, or `id`). */
  keyColumnsOf(table: string): readonly string[];
  /** The last transaction applied (0 before any). */
  position(): number;
  checkpoint(): Promise<number>;
  /** Stops every actor (dependents first), writes a backup, ends the runtime. */
  shutdown(): Promise<void>;
  /**
   * Resolves once the runtime has ended, however it ended (shutdown, failure, or a host
   * stopping `actor`), and the store this call opened (with its data dir lock) is released.
   */
  readonly ended: Promise<RuntimeOutput>;
  /** The running shapes, dependencies first. */
  list(): ShapeSummary[];
  /** How many shapes are kept, how many are awake, and how many woke and went back to sleep so far. */
  activity(): ShapeActivity;
  /** Reads for clients of shapes: the log from an offset, live waits, rows, columns, removals. */
  readonly reads: ShapeReads;
  /** The running shapes, read-only (for in-process sources; changes go through requests). */
  readonly shapes: RuntimeShapesView;
  /** The row store the runtime resolves changes with (null until the restore committed). */
  rowStore(): RestorableRowStore | null;
  /**
   * Resolves once the check after restore (every kept shape's own files, read in the background
   * while the runtime serves) is done and its removals carried out; rejects if the runtime ends first.
   */
  storageChecked(): Promise<StorageCheckReport>;
}

type Pending = { resolve: (event: RuntimeEmitted) => void; reject: (error: Error) => void };

/**
 * Restores the data dir and resolves once the runtime is `running` (or
 * rejects when restore failed for a reason other than bad data, e.g. the data
 * dir is unreadable). Bad data never rejects: it is in `report`.
 */
export async function createShapeRuntime(options: CreateShapeRuntimeOptions): Promise<ShapeRuntime> {
  if (options.dryRun) throw new Error('createShapeRuntime does not take dryRun: use planRestore()');
  const storage = options.storage ?? (await openFileStorage(requireDataDir(options), { create: options.createDataDir ?? true, forceUnlock: options.forceUnlock === true }));
  const { actor, done } = startRuntimeActor(storage, options);
  // Listening from the start: the removals restore makes are what stale clients must learn.
  const view = runtimeReadView(actor);
  const reads = createShapeReads(actor, view, {
    ...(options.catalog ? { catalog: options.catalog } : {}),
    use: (handle) => request((requestId) => ({ type: 'SHAPE.USED', requestId, handle })),
  });
  done.then(reads.stop, reads.stop);
  // The store this call opened (and its data dir lock) is released when the runtime ends.
  const released = done.then(
    () => (options.storage ? undefined : storage.close()),
    () => (options.storage ? undefined : storage.close()),
  );
  const ended = released.then(() => done);
  const pending = new Map<string, Pending>();
  let nextRequest = 0;

  const storageChecked = new Promise<StorageCheckReport>((resolve, reject) => {
    actor.on('STORAGE.CHECKED', (event) => resolve(event.report));
    done.then(() => reject(new ShapeRuntimeError('runtime-stopped', 'the runtime ended before its storage check was done')), reject);
  });
  storageChecked.catch(() => undefined);
  const report = await new Promise<RestoreReport>((resolve, reject) => {
    actor.on('RESTORE.COMPLETED', (event) => resolve(event.report));
    // Once the store is released: a caller may retry (or another command open the data dir) at once.
    ended.then((output) => reject(output.status === 'failed' ? restoreFailed(output) : new ShapeRuntimeError('runtime-stopped', `runtime ended before running (${output.status})`)), reject);
  });
  // A batch a crash interrupted is applied again first: resolve once it is, so position() is current.
  await waitFor(actor, (snapshot) => snapshot.status !== 'active' || !view.redoPending(), { timeout: Infinity });
  reads.ready();

  actor.on('*', (event: RuntimeEmitted) => {
    const requestId = 'requestId' in event ? event.requestId : null;
    if (requestId === null) return;
    const waiter = pending.get(requestId);
    if (!waiter) return;
    pending.delete(requestId);
    if (event.type === 'REQUEST.FAILED') waiter.reject(new ShapeRuntimeError(event.error.code, event.error.message));
    else waiter.resolve(event);
  });
  done.then(
    (output) => (output.status === 'failed' ? failAll('runtime-failed', output.error) : failAll('runtime-stopped', 'the runtime has stopped')),
    (error: unknown) => failAll('runtime-failed', String(error)),
  );

  function failAll(code: string, reason: string): void {
    for (const [id, waiter] of pending) {
      pending.delete(id);
      waiter.reject(new ShapeRuntimeError(code, reason));
    }
  }

  function request<T extends RuntimeEmitted>(make: (requestId: string) => RuntimeRequest): Promise<T> {
    const requestId = `r${++nextRequest}`;
    // A runtime that has ended drops events: refuse now rather than leave the caller waiting.
    if (actor.getSnapshot().status !== 'active') return Promise.reject(new ShapeRuntimeError('runtime-stopped', 'the runtime has stopped'));
    return new Promise<T>((resolve, reject) => {
      pending.set(requestId, { resolve: resolve as (event: RuntimeEmitted) => void, reject });
      actor.send(make(requestId));
    });
  }

  return {
    actor,
    reads,
    report,
    ended,
    async add(definition) {
      const event = await request<Extract<RuntimeEmitted, { type: 'SHAPE.ADDED' }>>((requestId) => ({ type: 'SHAPE.ADD_REQUESTED', requestId, definition }));
      return { handle: event.handle, dependencyHandles: event.dependencyHandles, created: event.created };
    },
    async remove(handle) {
      const event = await request<Extract<RuntimeEmitted, { type: 'SHAPE.REMOVED' }>>((requestId) => ({ type: 'SHAPE.REMOVE_REQUESTED', requestId, handle }));
      return event.removals;
    },
    async resync(xid, tables) {
      const event = await request<Extract<RuntimeEmitted, { type: 'SHAPES.RESYNCED' }>>((requestId) => ({ type: 'SHAPES.RESYNC_REQUESTED', requestId, xid, tables }));
      return { handles: event.handles };
    },
    async applyTransaction(transaction) {
      const event = await request<Extract<RuntimeEmitted, { type: 'TRANSACTION.APPLIED' }>>((requestId) => ({ type: 'TRANSACTION.RECEIVED', requestId, transaction }));
      return { xid: event.xid, status: event.status };
    },
    async applyTransactions(transactions) {
      if (transactions.length === 0) return [];
      const event = await request<Extract<RuntimeEmitted, { type: 'TRANSACTIONS.APPLIED' }>>((requestId) => ({ type: 'TRANSACTIONS.RECEIVED', requestId, transactions }));
      return event.outcomes;
    },
    async use(handle) {
      await request((requestId) => ({ type: 'SHAPE.USED', requestId, handle }));
    },
    async linkValues(handle) {
      const running = view.materializerValues(handle);
      if (running) return [...running.values()];
      const record = view.shape(handle);
      if (!record) throw new ShapeRuntimeError('unknown-shape', `no running shape has handle ${handle}`);
      const columns = columnNames(record.shape.definition);
      if (!columns) throw new ShapeRuntimeError('not-a-dependency', `shape ${handle} selects all columns: only a shape with selected columns has link values`);
      const values = new CountedLinkSet(columns, view.columnTypesOf(record.shape.definition.table));
      values.apply((await storage.readLog(handle)).entries);
      return values.values();
    },
    async readLog(handle) {
      if (!view.shape(handle)) throw new ShapeRuntimeError('unknown-shape', `no running shape has handle ${handle}`);
      await request((requestId) => ({ type: 'SHAPE.USED', requestId, handle }));
      return (await storage.readLog(handle)).entries;
    },
    position: () => view.position(),
    columnTypesOf: (table) => view.columnTypesOf(table),
    keyColumnsOf: (table) => view.keyColumnsOf(table),
    activity: () => view.activity(),
    async checkpoint() {
      const event = await request<Extract<RuntimeEmitted, { type: 'CHECKPOINT.WRITTEN' }>>((requestId) => ({ type: 'CHECKPOINT.REQUESTED', requestId }));
      return event.shapes;
    },
    async shutdown() {
      if (actor.getSnapshot().status !== 'active') return;
      // A shutdown that fails (no backup could be written) ends the runtime too: report that, not the request.
      await request((requestId) => ({ type: 'SHUTDOWN.REQUESTED', requestId })).catch(() => undefined);
      const output = await done;
      await released;
      if (output.status === 'failed') throw new ShapeRuntimeError('shutdown-failed', output.error);
    },
    list() {
      return view.storedShapes();
    },
    shapes: view.shapes,
    rowStore: view.rowStore,
    storageChecked: () => storageChecked,
  };
}

/**
 * Restore as a dry run: what restore would keep, remove and spawn; nothing on disk changes, not
 * even the lock (it is not taken: a stale one stays where it is, for the real restore to take over).
 */
export async function planRestore(options: CreateShapeRuntimeOptions): Promise<RestoreReport> {
  const storage = options.storage ?? (await openFileStorage(requireDataDir(options), { create: false, lock: false }));
  try {
    const { done } = startRuntimeActor(storage, { ...options, dryRun: true });
    const output = await done;
    if (output.status === 'failed') throw restoreFailed(output);
    if (!output.report) throw new ShapeRuntimeError('restore-failed', 'restore failed: no report');
    return await withRowStoreFindings(output.report, storage, options);
  } finally {
    if (!options.storage) await storage.close();
  }
}

/**
 * A dry run's report with what the row store's part of the restore would find
 * and do (restoreRowStore, read only): its repairs, its damage and the kept
 * shapes that damage reaches, as a restore reports them.
 */
async function withRowStoreFindings(report: RestoreReport, storage: ShapeStorage, options: CreateShapeRuntimeOptions): Promise<RestoreReport> {
  const { rows, problems } = await restoreRowStore(storage, { keyColumns: options.keyColumns ?? {}, acceptTableDamage: options.acceptTableDamage ?? [], readOnly: true });
  const kept = rows.damage.length > 0 ? await Promise.all(report.loaded.map((h) => storage.readShape(h))) : [];
  const damaged = damagedTables(rows.damage, kept);
  return {
    ...report,
    problems: [...report.problems, ...problems.map((p) => ({ handle: null, ...p })), ...damagedTableProblems(damaged)],
    damagedTables: damaged,
  };
}

/** A failed restore as the caller's error: the failure's own code (`key-columns-changed`, `storage-io`, ...), `restore-failed` when it has none. */
function restoreFailed(output: Extract<RuntimeOutput, { status: 'failed' }>): ShapeRuntimeError {
  return new ShapeRuntimeError(output.code === 'internal' ? 'restore-failed' : output.code, `restore failed: ${output.error}`);
}

/**
 * Starts the runtime actor with an error observer attached (an actor error
 * with no observer is rethrown by XState and would crash the host).
 */
export function startRuntimeActor(
  storage: ShapeStorage,
  options: Omit<CreateShapeRuntimeOptions, 'storage'>,
): { actor: ShapeRuntimeActor; done: Promise<RuntimeOutput> } {
  const { dataDir: _dataDir, createDataDir: _create, forceUnlock: _forceUnlock, inspect, catalog: _catalog, ...input } = options;
  const actor = createActor(shapeRuntimeMachine, {
    input: { ...input, storage },
    systemId: 'shapeRuntime',
    ...(inspect ? { inspect } : {}),
  });
  const view = runtimeReadView(actor);
  const done = new Promise<RuntimeOutput>((resolve, reject) => {
    actor.subscribe({
      // A host that stops the actor directly gets no machine output: report it as stopped.
      complete: () => resolve(actor.getSnapshot().output ?? { status: 'stopped', report: view.report() }),
      error: (error) => reject(error instanceof Error ? error : new Error(String(error))),
    });
  });
  actor.start();
  return { actor, done };
}

function requireDataDir(options: CreateShapeRuntimeOptions): string {
  if (!options.dataDir) throw new Error('createShapeRuntime needs dataDir or storage');
  return options.dataDir;
}

export type { RequestError, RuntimeShapesView };
