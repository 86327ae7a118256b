import { fromPromise } from 'xstate';
import { CountedLinkSet } from '../live/counted-link-set.ts';
import { snapshotEntries } from '../live/shape-entries.ts';
import { planShapeCreation, type ShapeCreationPlan } from '../registry/plan-shape-creation.ts';
import { parsedDefinitionOf, type ShapeRecord } from '../registry/shape-record.ts';
import { damagedTableError, RowsUnavailableError, type KeyedRow, type LinkValueSet, type RowStore } from '../storage/rows/row-store.ts';
import { columnNames, normalizeShape } from '../shapes/definition.ts';
import type { ColumnTypesOf } from '../shapes/column-types.ts';
import { checkWhereTypes } from '../shapes/where/check-types.ts';
import { loadSqlParser } from '../shapes/where/sql-parser.ts';
import { StorageError, type LogEntry, type ShapeStorage } from '../storage/storage.ts';
import { planActivation, type ActivationPlan, type ActivationStep } from './activation.ts';
import type { RuntimeShapes } from './runtime-shapes.ts';

export interface CreateShapeInput {
  readonly storage: ShapeStorage;
  /** Read here (registry, awake shapes); changed only by the machine's effect once this is done. */
  readonly shapes: RuntimeShapes;
  /** Its position is the one reached: the initial snapshot is as of this transaction. */
  readonly rows: RowStore;
  readonly definition: unknown;
}

export interface CreateShapeOutput {
  readonly plan: ShapeCreationPlan;
  /** The existing shapes the new ones depend on, to wake first (and those gaining a first dependent, a materializer). */
  readonly dependencies: ActivationPlan;
  /** The new shapes, started awake, dependencies first (one others depend on with its materializer, from its snapshot). */
  readonly created: ActivationPlan;
  /** Each new shape's initial log (its snapshot of the current rows). */
  readonly snapshots: ReadonlyMap<string, readonly LogEntry[]>;
}

/**
 * `running.adding`, shape creation: validates the definition (a ShapeDefinitionError rejects the
 * request); plans waking the existing shapes its subqueries resolve to (their files checked and
 * their values read: damage refuses the add, StorageError `damaged`); computes each new shape's
 * initial snapshot from the rows the row store selects for it (a damaged table refuses too),
 * dependencies first; and creates its storage with that log in one step, so a crash leaves either
 * no shape or a complete one, and never a shape whose dependency is missing. Nothing starts here:
 * the machine's effect wakes and registers what this planned.
 */
export const createShapeActor = fromPromise<CreateShapeOutput, CreateShapeInput>(async ({ input }) => {
  await loadSqlParser();
  const { shapes } = input;
  const typesOf: ColumnTypesOf = (table) => input.rows.columnTypesOf(table);
  const plan = planShapeCreation(shapes.registry, normalizeShape(input.definition));
  // Refused before anything is written (the outer shape first: it names a correlated column as such): a clause
  // Postgres would reject, or one the runtime cannot judge as Postgres does.
  for (const { shape } of [...plan.created].reverse()) {
    if (shape.where) checkWhereTypes(shape.definition.table, shape.where, shape.dependencies, typesOf);
  }
  const createdHandles = new Set(plan.created.map((r) => r.stored.handle));
  const existing = new Set(plan.created.flatMap((r) => r.stored.dependencyHandles.filter((d) => !createdHandles.has(d))));
  const dependencies = await planActivation(shapes, existing, existing);
  const damaged = dependencies.damaged[0]?.removal;
  if (damaged) throw new StorageError('damaged', damaged.detail ?? damaged.handle, `dependency shape ${damaged.handle} is damaged (${damaged.reason}): ${damaged.detail}`, damaged.handle);

  const links = new Map<string, LinkValueSet>();
  for (const step of dependencies.steps) if (step.materializerLog) links.set(step.record.stored.handle, countedSet(step.record, step.materializerLog, typesOf));
  const linksOf = (handle: string): LinkValueSet => links.get(handle) ?? shapes.supervisor.linkValues(handle) ?? new CountedLinkSet([]);

  // A table whose rows lost records cannot give a snapshot: refuse before anything is written.
  for (const record of plan.created) {
    const damage = input.rows.damage.find((d) => d.table === record.shape.definition.table);
    if (damage) throw damagedTableError(damage);
  }
  const dependedOn = new Set(plan.created.flatMap((r) => r.stored.dependencyHandles));
  const snapshots = new Map<string, readonly LogEntry[]>();
  const steps: ActivationStep[] = [];
  for (const record of plan.created) {
    const dependencyLinks = record.stored.dependencyHandles.map(linksOf);
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
    const columnTypes = typesOf(definition.table);
    const spec = { ...(where ? { where } : {}), ...(columns ? { columns } : {}), ...(columnTypes ? { columnTypes } : {}) };
    const entries = snapshotEntries(
      { ...spec, keyColumns: input.rows.keyColumnsOf(definition.table), replica: definition.replica },
      input.rows.position,
      candidates,
      (i) => dependencyLinks[i]!,
    );
    snapshots.set(record.stored.handle, entries);
    links.set(record.stored.handle, countedSet(record, entries, typesOf));
    steps.push({ record, consumer: true, materializerLog: dependedOn.has(record.stored.handle) ? entries : null });
  }
  // Every snapshot read before any shape is written (dependencies first): a refused read leaves nothing behind.
  for (const record of plan.created) await input.storage.createShape(record.stored, snapshots.get(record.stored.handle)!, parsedDefinitionOf(record.shape));
  if (plan.nowRequested) await input.storage.updateShape(plan.nowRequested, parsedDefinitionOf(shapes.registry.get(plan.handle)!.shape));
  return { plan, dependencies, created: { steps, damaged: [], problems: [] }, snapshots };
});

function countedSet(record: ShapeRecord, log: readonly LogEntry[], typesOf: ColumnTypesOf): CountedLinkSet {
  const values = new CountedLinkSet(columnNames(record.shape.definition) ?? [], typesOf(record.shape.definition.table));
  values.apply(log);
  return values;
}
