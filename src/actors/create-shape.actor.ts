import { fromPromise } from 'xstate';
import { CountedLinkSet } from '../live/counted-link-set.ts';
import { snapshotEntries } from '../live/shape-entries.ts';
import { planShapeCreation, type ShapeCreationPlan } from '../registry/plan-shape-creation.ts';
import { parsedDefinitionOf, type ShapeRecord } from '../registry/shape-record.ts';
import type { ShapeRegistry } from '../registry/shape-registry.ts';
import { damagedTableError, RowsUnavailableError, type KeyedRow, type LinkValueSet, type RowStore } from '../storage/rows/row-store.ts';
import { columnNames, normalizeShape } from '../shapes/definition.ts';
import type { ColumnTypesOf } from '../shapes/column-types.ts';
import { checkWhereTypes } from '../shapes/where/check-types.ts';
import { loadSqlParser } from '../shapes/where/sql-parser.ts';
import { StorageError, type LogEntry, type ShapeStorage } from '../storage/storage.ts';

export interface CreateShapeInput {
  readonly storage: ShapeStorage;
  readonly registry: ShapeRegistry;
  readonly rows: RowStore;
  /** Position reached: the initial snapshot is as of this transaction. */
  readonly position: number;
  readonly keyColumnsOf: (table: string) => readonly string[];
  /** The tables' column types (none: values are judged by their JSON type). */
  readonly columnTypesOf: ColumnTypesOf;
  readonly definition: unknown;
  /** The running materializer's values of an existing shape, if it has one. */
  readonly linkValuesOf: (handle: string) => LinkValueSet | undefined;
}

export interface CreateShapeOutput {
  readonly plan: ShapeCreationPlan;
  /** Logs of existing shapes that gain their first dependent and so need a materializer. */
  readonly materializerLogs: ReadonlyMap<string, readonly LogEntry[]>;
  /** Each new shape's initial log (its snapshot of the current rows). */
  readonly snapshots: ReadonlyMap<string, readonly LogEntry[]>;
}

/**
 * `running.adding`: validates the definition (a ShapeDefinitionError rejects
 * the request), computes each new shape's initial snapshot from the rows the
 * row store selects for it (a damaged table refuses: StorageError `damaged`), dependencies first, and creates its storage with that log in one
 * step: a crash leaves either no shape or a complete one, and never a shape
 * whose dependency is missing (dependencies are created first).
 */
export const createShapeActor = fromPromise<CreateShapeOutput, CreateShapeInput>(async ({ input }) => {
  await loadSqlParser();
  const plan = planShapeCreation(input.registry, normalizeShape(input.definition));
  // Refused before anything is written (the outer shape first: it names a correlated column as such): a clause
  // Postgres would reject, or one the runtime cannot judge as Postgres does.
  for (const { shape } of [...plan.created].reverse()) {
    if (shape.where) checkWhereTypes(shape.definition.table, shape.where, shape.dependencies, input.columnTypesOf);
  }

  const materializerLogs = new Map<string, readonly LogEntry[]>();
  const links = new Map<string, LinkValueSet>();
  const linksOf = async (handle: string): Promise<LinkValueSet> => {
    const known = links.get(handle) ?? input.linkValuesOf(handle);
    if (known) return known;
    // An existing shape without a materializer: rebuild its values from its log (kept for the materializer).
    const log = (await input.storage.readLog(handle)).entries;
    materializerLogs.set(handle, log);
    const values = countedSet(input.registry.get(handle)!, log, input.columnTypesOf);
    links.set(handle, values);
    return values;
  };

  // A table whose rows lost records cannot give a snapshot: refuse before anything is written.
  for (const record of plan.created) {
    const damage = input.rows.damage.find((d) => d.table === record.shape.definition.table);
    if (damage) throw damagedTableError(damage);
  }
  const snapshots = new Map<string, readonly LogEntry[]>();
  for (const record of plan.created) {
    const dependencyLinks = await Promise.all(record.stored.dependencyHandles.map(linksOf));
    const { definition, where } = record.shape;
    const columns = columnNames(definition);
    // The rows the shape may select (an index narrows them by its equality conditions), judged one by one.
    const candidates: KeyedRow[] = [];
    try {
      for await (const row of input.rows.snapshot(definition.table, { ...(where ? { where } : {}), dependencies: dependencyLinks })) candidates.push(row);
    } catch (error) {
      if (error instanceof StorageError) throw error;
      // The store could not read the rows (a database unreachable): nothing is written yet, the add is refused.
      throw new RowsUnavailableError(`snapshot of ${definition.table}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const columnTypes = input.columnTypesOf(definition.table);
    const spec = { ...(where ? { where } : {}), ...(columns ? { columns } : {}), ...(columnTypes ? { columnTypes } : {}) };
    const entries = snapshotEntries(
      { ...spec, keyColumns: input.keyColumnsOf(definition.table), replica: definition.replica },
      input.position,
      candidates,
      (i) => dependencyLinks[i]!,
    );
    snapshots.set(record.stored.handle, entries);
    links.set(record.stored.handle, countedSet(record, entries, input.columnTypesOf));
  }
  // Every snapshot read before any shape is written (dependencies first): a refused read leaves nothing behind.
  for (const record of plan.created) await input.storage.createShape(record.stored, snapshots.get(record.stored.handle)!, parsedDefinitionOf(record.shape));
  if (plan.nowRequested) await input.storage.updateShape(plan.nowRequested, parsedDefinitionOf(input.registry.get(plan.handle)!.shape));
  return { plan, materializerLogs, snapshots };
});

function countedSet(record: ShapeRecord, log: readonly LogEntry[], typesOf: ColumnTypesOf): CountedLinkSet {
  const values = new CountedLinkSet(columnNames(record.shape.definition) ?? [], typesOf(record.shape.definition.table));
  values.apply(log);
  return values;
}
