import type { Actor } from 'xstate';
import type { Removal } from '../graph/removal.ts';
import type { shapeRuntimeMachine } from '../machines/restore.machine.ts';
import type { RuntimeReadView } from '../machines/runtime-read-view.ts';
import { columnNames, normalizeShape, type ShapeDefinition } from '../shapes/definition.ts';
import { BEFORE_ALL, compareLogOffsets, type LogOffset } from '../shapes/log-offset.ts';
import type { Row } from '../shapes/where/evaluate.ts';
import { loadSqlParser } from '../shapes/where/sql-parser.ts';
import { StorageError, type LogPage } from '../storage/storage.ts';
import { LiveWaiters, type LiveWait } from './live-waiters.ts';
import { ShapeRuntimeError } from './runtime-error.ts';
import { declaredColumns, inferColumns, shapeColumns, type ShapeColumn, type TableCatalog, type TableSchema } from './shape-columns.ts';

/** A running shape, as a reader sees it. */
export interface ServedShape {
  readonly handle: string;
  readonly definition: ShapeDefinition;
  readonly dependencyHandles: readonly string[];
  /** The table's key columns (an entry's `key` is made of them). */
  readonly keyColumns: readonly string[];
}

/** What a request for a removed handle learns. */
export interface RemovedShape extends Removal {
  /** Its definition, when still known (it was read in this process, or restore read it). */
  readonly definition: ShapeDefinition | null;
  /** The handle that serves the same definition now, if any. */
  readonly servedBy: string | null;
}

export interface ReadPageOptions {
  readonly after: LogOffset;
  /** See LogPageRequest.maxBytes (default 10 MiB). */
  readonly maxBytes?: number;
}

/**
 * Everything a reader of shapes (the HTTP layer, a host that pushes to its clients) needs, in
 * one small interface: a read never reaches into the machine, so a shape can later be woken on
 * a read behind it. Reads see only what is durable.
 */
export interface ShapeReads {
  /** The last transaction whose entries are durable (0 before any). */
  position(): number;
  shape(handle: string): ServedShape | null;
  /** The handle that serves a definition now (normalized first; a bad one throws ShapeDefinitionError). */
  handleFor(definition: ShapeDefinition | Record<string, unknown>): Promise<string | null>;
  /** Why a handle is gone (null when it is not known to have been removed). */
  removed(handle: string): RemovedShape | null;
  /** The entries after an offset (see ShapeStorage.readLogPage), up to the durable position; a read counts as a use. */
  readLogPage(handle: string, options: ReadPageOptions): Promise<LogPage>;
  /** The offset of the shape's last durable entry (`0_inf` when only its snapshot is there). */
  lastOffset(handle: string): Promise<LogOffset>;
  /** Resolves as soon as an entry after `after` is durable, or on timeout, abort, removal or stop. */
  waitForEntries(handle: string, after: LogOffset, options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal }): Promise<LiveWait>;
  /** Every page from `after` (default -1) on, waiting for more at the end; ends on abort, throws `shape-removed`. */
  changes(handle: string, options?: { readonly after?: LogOffset; readonly signal?: AbortSignal; readonly maxBytes?: number }): AsyncGenerator<LogPage>;
  /** The shape's rows now: its log replayed (key -> row). */
  currentRows(handle: string): Promise<ReadonlyMap<string, Row>>;
  /** The columns the shape's rows hold, with their Postgres types. */
  columns(handle: string): Promise<readonly ShapeColumn[]>;
  /** A table's columns: from the catalog when there is one, else inferred from the embedded store's rows. */
  tableSchema(table: string): Promise<TableSchema>;
}

const REMEMBERED = 50_000;
/** Pages of at most this many entries are shared between readers of the same offset. */
const SHARED_PAGE_ENTRIES = 256;
const USE_EVERY_MS = 10_000;

/** The reads of one runtime actor; `ready()` once it is running (after a redo), `stop()` when it ended. */
export function createShapeReads(
  actor: Actor<typeof shapeRuntimeMachine>,
  view: RuntimeReadView,
  options: { readonly catalog?: TableCatalog; readonly use: (handle: string) => Promise<unknown> },
): ShapeReads & { ready(): void; stop(): void } {
  let durable = 0;
  // The log ends read from storage, of shapes no batch appended to since restore (once one does,
  // its record has the end: ShapeRegistry.noteAppended, and the entry here is dropped at the next read).
  const ends = new Map<string, LogOffset>();
  const removals = new Map<string, Removal & { readonly definition: ShapeDefinition | null }>();
  const known = new Map<string, ShapeDefinition>();
  const columnCache = new Map<string, readonly ShapeColumn[]>();
  const tableCache = new Map<string, Promise<TableSchema>>();
  const lastUse = new Map<string, number>();
  const keys = new Map<string, string>();
  // Pages read at the current durable position, shared: the clients of a shape woken by one batch read one page.
  const pages = new Map<string, Promise<LogPage>>();
  const waiters = new LiveWaiters();
  /** Wakes under way, one per shape however many readers wait for it. */
  const waking = new Map<string, Promise<unknown>>();

  actor.on('BATCH.COMMITTED', (event) => {
    durable = Math.max(durable, event.position);
    pages.clear();
    // (the shapes' records have their new ends already; nothing here is looked up for a shape no one waits on)
    for (const { handle, last } of event.appended) waiters.entriesUpTo(handle, last);
  });
  actor.on('CASCADE.STOPPED', ({ removal }) => {
    const definition = known.get(removal.handle) ?? view.restoredShape(removal.handle)?.definition ?? null;
    remember(removals, removal.handle, { ...removal, definition });
    for (const cache of [ends, known, columnCache, lastUse]) cache.delete(removal.handle);
    pages.clear();
    waiters.removed(removal.handle, () => removedShape(removal.handle)!);
  });

  function remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > REMEMBERED) map.delete(map.keys().next().value!);
  }

  function removedShape(handle: string): RemovedShape | null {
    const removal = removals.get(handle);
    if (!removal) return null;
    const servedBy = removal.definition ? (view.handleForKey(normalizeShape(removal.definition).key) ?? null) : null;
    return { ...removal, servedBy };
  }

  function notServed(handle: string): ShapeRuntimeError {
    const removal = removedShape(handle);
    if (removal) return new ShapeRuntimeError('shape-removed', `shape ${handle} was removed (${removal.reason})`, removal);
    return new ShapeRuntimeError('unknown-shape', `no running shape has handle ${handle}`);
  }

  function served(handle: string): ServedShape {
    const record = view.shape(handle);
    if (!record) throw notServed(handle);
    // The registry's own string for the handle: the caches below are keyed by it, as the batches'
    // handles are (a lookup with an equal string of its own compares the two strings' contents).
    const { definition, dependencyHandles, handle: registered } = record;
    if (!known.has(registered)) remember(known, registered, definition);
    return { handle: registered, definition, dependencyHandles, keyColumns: view.keyColumnsOf(definition.table) };
  }

  /** Storage calls for a shape removed meanwhile say so as a removal, not as a storage error. */
  async function fromStorage<T>(handle: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof StorageError && error.code === 'not-found' && !view.shape(handle)) throw notServed(handle);
      throw error;
    }
  }

  function touch(handle: string): void {
    const now = Date.now();
    if ((lastUse.get(handle) ?? -Infinity) > now - USE_EVERY_MS) return;
    remember(lastUse, handle, now);
    options.use(handle).catch(() => undefined);
  }

  /**
   * A read wakes the shape it reads (its files checked, its dependencies woken first) before
   * anything of it is served; an awake one is only marked used. Damage found waking it removes
   * it: the read then learns of the removal.
   */
  async function awake(handle: string): Promise<void> {
    if (view.isAwake(handle)) {
      touch(handle);
      return;
    }
    let pending = waking.get(handle);
    if (!pending) {
      waking.set(handle, (pending = options.use(handle).finally(() => waking.delete(handle))));
      remember(lastUse, handle, Date.now());
    }
    try {
      await pending;
    } catch (error) {
      if (error instanceof ShapeRuntimeError && error.code === 'shape-damaged') {
        // Its removal comes right after the refusal (usually before this runs): answer with it.
        if (!removedShape(handle)) await waiters.wait(handle, { tx: Number.MAX_SAFE_INTEGER, op: 0 }, { timeoutMs: 5_000 });
        throw notServed(handle);
      }
      if (error instanceof ShapeRuntimeError && error.code === 'unknown-shape') throw notServed(handle);
      throw error;
    }
  }

  async function lastOffset(requested: string): Promise<LogOffset> {
    const { handle } = served(requested);
    await awake(handle);
    const appended = appendedEnd(handle);
    if (appended) return appended;
    const cached = ends.get(handle);
    if (cached) return cached;
    const end = await fromStorage(handle, () => view.storage.logEnd(handle, durable));
    // A batch that committed meanwhile has the end (at or past what storage said).
    const now = appendedEnd(handle);
    if (now) return now;
    if (view.shape(handle)) ends.set(handle, end);
    return end;
  }

  /** The end of the last batch appended to the shape's log, when one did since restore. */
  function appendedEnd(handle: string): LogOffset | undefined {
    const end = view.shape(handle)?.appendedEnd;
    if (end && ends.size > 0) ends.delete(handle);
    return end;
  }

  async function readLogPage(handle: string, { after, maxBytes }: ReadPageOptions): Promise<LogPage> {
    served(handle);
    await awake(handle);
    const key = `${handle} ${after.tx}_${after.op} ${maxBytes ?? ''}`;
    let page = pages.get(key);
    if (!page) {
      page = fromStorage(handle, () => view.storage.readLogPage(handle, { after, throughXid: durable, ...(maxBytes ? { maxBytes } : {}) }));
      remember(pages, key, page);
      // Only small pages stay (live ones); a failed read is not kept.
      page.then(
        (read) => read.entries.length > SHARED_PAGE_ENTRIES && pages.get(key) === page && pages.delete(key),
        () => pages.get(key) === page && pages.delete(key),
      );
    }
    return page;
  }

  async function waitForEntries(requested: string, after: LogOffset, options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<LiveWait> {
    const { handle } = served(requested);
    // Wait first, then look: an entry made durable in between is not missed.
    const wait = waiters.wait(handle, after, options);
    const end = await lastOffset(handle).catch(() => null);
    if (end && compareLogOffsets(end, after) > 0) waiters.entriesUpTo(handle, end);
    else if (!view.shape(handle)) waiters.removed(handle, () => removedShape(handle) ?? unknownRemoval(handle));
    return wait;
  }

  async function* changes(handle: string, options: { readonly after?: LogOffset; readonly signal?: AbortSignal; readonly maxBytes?: number } = {}): AsyncGenerator<LogPage> {
    let after = options.after ?? BEFORE_ALL;
    while (!options.signal?.aborted) {
      const page = await readLogPage(handle, { after, ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}) });
      const moved = compareLogOffsets(page.next, after) !== 0;
      if (page.entries.length > 0) yield page;
      after = page.next;
      if (moved) continue;
      const wait = await waitForEntries(handle, after, options.signal ? { signal: options.signal } : {});
      if (wait.status === 'removed') throw new ShapeRuntimeError('shape-removed', `shape ${handle} was removed (${wait.removal.reason})`, wait.removal);
      if (wait.status === 'stopped') throw new ShapeRuntimeError('runtime-stopped', 'the runtime has stopped');
    }
  }

  async function currentRows(handle: string): Promise<ReadonlyMap<string, Row>> {
    const rows = new Map<string, Row>();
    for (let after = BEFORE_ALL; ; ) {
      const page = await readLogPage(handle, { after });
      for (const { entry } of page.entries) {
        if (entry.op === 'delete') rows.delete(entry.key);
        else rows.set(entry.key, entry.op === 'update' ? { ...rows.get(entry.key), ...entry.row } : entry.row);
      }
      if (compareLogOffsets(page.next, after) === 0) return rows;
      after = page.next;
    }
  }

  async function tableSchema(table: string): Promise<TableSchema> {
    if (options.catalog) {
      const columns = await options.catalog.columnsOf(table);
      return { source: 'catalog', exists: columns !== null, columns: columns ?? [] };
    }
    // Inferred once per table and process: a client keeps the schema it saw first.
    let schema = tableCache.get(table);
    if (!schema) tableCache.set(table, (schema = Promise.resolve(embeddedSchema(table))));
    return schema;
  }

  function embeddedSchema(table: string): TableSchema {
    const keyColumns = view.keyColumnsOf(table);
    const inferred = inferColumns(rowsOf(view.tableRows(table)), keyColumns);
    const types = view.columnTypesOf(table);
    return types ? { source: 'declared', exists: true, columns: declaredColumns(types, inferred, keyColumns) } : { source: 'inferred', exists: true, columns: inferred };
  }

  async function columns(handle: string): Promise<readonly ShapeColumn[]> {
    const shape = served(handle);
    const cached = columnCache.get(handle);
    if (cached) return cached;
    const schema = await tableSchema(shape.definition.table);
    const result = shapeColumns(schema.columns, shape.keyColumns, columnNames(shape.definition));
    if (view.shape(handle)) remember(columnCache, handle, result);
    return result;
  }

  return {
    position: () => durable,
    shape: (handle) => (view.shape(handle) ? served(handle) : null),
    async handleFor(definition) {
      // Every request names its definition: parse each spelling once.
      const spelling = JSON.stringify(definition);
      let key = keys.get(spelling);
      if (key === undefined) {
        await loadSqlParser();
        remember(keys, spelling, (key = normalizeShape(definition).key));
      }
      return view.handleForKey(key) ?? null;
    },
    removed: removedShape,
    readLogPage,
    lastOffset,
    waitForEntries,
    changes,
    currentRows,
    columns,
    tableSchema,
    ready() {
      durable = Math.max(durable, view.position());
    },
    stop() {
      waiters.stopped();
    },
  };
}

function* rowsOf(rows: Iterable<{ readonly row: Row }>): Iterable<Row> {
  for (const { row } of rows) yield row;
}

function unknownRemoval(handle: string): RemovedShape {
  return { handle, reason: 'removed', cause: null, definition: null, servedBy: null };
}
