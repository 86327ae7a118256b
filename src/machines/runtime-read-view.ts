import type { Actor } from 'xstate';
import { DEFAULT_KEY_COLUMNS } from '../storage/rows/table-store.ts';
import type { KeyedRow, LinkValueSet } from '../storage/rows/row-store.ts';
import type { TableColumnTypes } from '../shapes/column-types.ts';
import type { KeptShape } from '../registry/kept-shape.ts';
import type { ShapeRegistry } from '../registry/shape-registry.ts';
import type { RestorableRowStore } from '../storage/rows/row-store.ts';
import type { ShapeStorage, StoredShape } from '../storage/storage.ts';
import { REDO_PREFIX } from './restore.actions.ts';
import type { shapeRuntimeMachine } from './restore.machine.ts';
import type { RestoreReport } from './runtime.types.ts';

/** How many kept shapes there are, how many are awake now, and how many woke and went to sleep so far. */
export interface ShapeActivity {
  readonly kept: number;
  readonly awake: number;
  readonly woken: number;
  readonly slept: number;
}

/**
 * What the facade may read of a running runtime, in one place: the only code outside the
 * machine's own actions that looks at its context. Reads here are synchronous and cheap (no
 * I/O); a read that must wake a shape first goes through the facade's ShapeReads.
 */
export interface RuntimeReadView {
  readonly storage: ShapeStorage;
  /** A registered shape (with its log's end once a batch appended to it), or undefined. */
  shape(handle: string): KeptShape | undefined;
  /** The handle registered for a definition key (`definitionKey`), or undefined. */
  handleForKey(key: string): string | undefined;
  /** A shape restore read from storage or the backup (kept or removed), when it is still known. */
  restoredShape(handle: string): StoredShape | undefined;
  /** Primary key columns of a table (recorded by the row store, declared, or `id`). */
  keyColumnsOf(table: string): readonly string[];
  /** A table's column types (recorded by the row store, or declared), undefined when none are known. */
  columnTypesOf(table: string): TableColumnTypes | undefined;
  /** A table's current rows in the embedded row store (none before the restore committed). */
  tableRows(table: string): Iterable<KeyedRow>;
  /** The last transaction applied (0 before any). */
  position(): number;
  /** The running shapes (the registry, for reading: changes go through requests). */
  readonly shapes: RuntimeShapesView;
  /** The row store the runtime resolves changes with (null until the restore committed). */
  rowStore(): RestorableRowStore | null;
  /** Every registered shape, dependencies first. */
  storedShapes(): StoredShape[];
  /** Its actors run (it woke and has not gone back to sleep). */
  isAwake(handle: string): boolean;
  /** A running materializer's values (undefined when the shape sleeps or has none). */
  materializerValues(handle: string): LinkValueSet | undefined;
  activity(): ShapeActivity;
  /** A batch a crash interrupted still waits to be applied again. */
  redoPending(): boolean;
  /** The restore report, once restore completed. */
  report(): RestoreReport | null;
}

/** The running shapes, read-only: what an in-process source (the Postgres source) reads of the runtime. */
export type RuntimeShapesView = Pick<ShapeRegistry, 'size' | 'get' | 'has' | 'handlesForTable' | 'tables'> & { readonly graph: Pick<ShapeRegistry['graph'], 'dependentsOf'> };

export function runtimeReadView(actor: Actor<typeof shapeRuntimeMachine>): RuntimeReadView {
  const context = () => actor.getSnapshot().context;
  // The shapes resource is the runtime's for its whole life: its parts are handed out read-only by type.
  const shapes = context().shapes;
  let restored: Map<string, StoredShape> | null = null;
  return {
    storage: context().storage,
    shape: (handle) => shapes.registry.get(handle),
    handleForKey: (key) => shapes.registry.handleForKey(key),
    restoredShape(handle) {
      const load = context().load;
      if (!load) return undefined;
      restored ??= new Map(load.records.map((r) => [r.stored.handle, r.stored]));
      return restored.get(handle);
    },
    keyColumnsOf(table) {
      return shapes.rows?.keyColumnsOf(table) ?? context().keyColumns[table] ?? DEFAULT_KEY_COLUMNS;
    },
    columnTypesOf: (table) => shapes.rows?.columnTypesOf(table) ?? context().columnTypes[table],
    tableRows: (table) => shapes.rows?.rows?.(table) ?? [],
    position: () => shapes.rows?.position ?? 0,
    shapes: shapes.registry,
    rowStore: () => shapes.rows,
    storedShapes: () => shapes.registry.storedShapes(),
    isAwake: (handle) => shapes.isAwake(handle),
    materializerValues: (handle) => shapes.supervisor.linkValues(handle),
    activity: () => shapes.activity,
    redoPending: () => context().queue.some((r) => r.requestId.startsWith(REDO_PREFIX)) || context().batch.some((r) => r.requestId.startsWith(REDO_PREFIX)),
    report: () => context().report,
  };
}
