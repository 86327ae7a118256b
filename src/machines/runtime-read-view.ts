import type { Actor } from 'xstate';
import { DEFAULT_KEY_COLUMNS } from '../storage/rows/table-store.ts';
import type { KeyedRow } from '../storage/rows/row-store.ts';
import type { ShapeRecord } from '../registry/shape-record.ts';
import type { ShapeRegistry } from '../registry/shape-registry.ts';
import type { RestorableRowStore } from '../storage/rows/row-store.ts';
import type { ShapeStorage, StoredShape } from '../storage/storage.ts';
import type { shapeRuntimeMachine } from './restore.machine.ts';

/**
 * What the facade may read of a running runtime, in one place: the only code outside the
 * machine's own actions that looks at its context. Reads here are synchronous and cheap (no
 * I/O); a read that must wake a shape first goes through the facade's ShapeReads.
 */
export interface RuntimeReadView {
  readonly storage: ShapeStorage;
  /** A registered shape, or undefined. */
  shape(handle: string): ShapeRecord | undefined;
  /** The handle registered for a definition key (`definitionKey`), or undefined. */
  handleForKey(key: string): string | undefined;
  /** A shape restore read from storage or the backup (kept or removed), when it is still known. */
  restoredShape(handle: string): StoredShape | undefined;
  /** Primary key columns of a table (recorded by the row store, declared, or `id`). */
  keyColumnsOf(table: string): readonly string[];
  /** A table's current rows in the embedded row store (none before the restore committed). */
  tableRows(table: string): Iterable<KeyedRow>;
  /** The last transaction applied (0 before any). */
  position(): number;
  /** The running shapes (the registry, for reading: changes go through requests). */
  readonly shapes: RuntimeShapesView;
  /** The row store the runtime resolves changes with (null until the restore committed). */
  rowStore(): RestorableRowStore | null;
}

/** The running shapes, read-only: what an in-process source (the Postgres source) reads of the runtime. */
export type RuntimeShapesView = Pick<ShapeRegistry, 'size' | 'get' | 'has' | 'handlesForTable' | 'tables'> & { readonly graph: Pick<ShapeRegistry['graph'], 'dependentsOf'> };

export function runtimeReadView(actor: Actor<typeof shapeRuntimeMachine>): RuntimeReadView {
  const context = () => actor.getSnapshot().context;
  let restored: Map<string, StoredShape> | null = null;
  return {
    storage: context().storage,
    shape: (handle) => context().registry.get(handle),
    handleForKey: (key) => context().registry.handleForKey(key),
    restoredShape(handle) {
      const load = context().load;
      if (!load) return undefined;
      restored ??= new Map(load.records.map((r) => [r.stored.handle, r.stored]));
      return restored.get(handle);
    },
    keyColumnsOf(table) {
      const { rows, keyColumns } = context();
      return rows?.keyColumnsOf(table) ?? keyColumns[table] ?? DEFAULT_KEY_COLUMNS;
    },
    tableRows: (table) => context().rows?.rows?.(table) ?? [],
    position: () => context().rows?.position ?? 0,
    // The registry object is the runtime's for its whole life: handed out once, read-only by type.
    shapes: context().registry,
    rowStore: () => context().rows,
  };
}
