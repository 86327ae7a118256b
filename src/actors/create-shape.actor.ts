import { fromPromise } from 'xstate';
import { planShapeCreation, type ShapeCreationPlan } from '../registry/plan-shape-creation.ts';
import type { ShapeRegistry } from '../registry/shape-registry.ts';
import { normalizeShape } from '../shapes/definition.ts';
import { loadSqlParser } from '../shapes/where/sql-parser.ts';
import type { LogEntry, ShapeStorage } from '../storage/storage.ts';

export interface CreateShapeInput {
  readonly storage: ShapeStorage;
  readonly registry: ShapeRegistry;
  readonly definition: unknown;
  /** Whether a shape already has a materializer running. */
  readonly hasMaterializer: (handle: string) => boolean;
}

export interface CreateShapeOutput {
  readonly plan: ShapeCreationPlan;
  /** Logs of existing shapes that gain their first dependent and so need a materializer. */
  readonly materializerLogs: ReadonlyMap<string, readonly LogEntry[]>;
}

/**
 * `running.adding`: validates the definition (a ShapeDefinitionError rejects
 * the request), creates the storage of every new shape, dependencies first,
 * so a crash part-way leaves only shapes whose dependencies exist.
 */
export const createShapeActor = fromPromise<CreateShapeOutput, CreateShapeInput>(async ({ input }) => {
  await loadSqlParser();
  const plan = planShapeCreation(input.registry, normalizeShape(input.definition));
  for (const record of plan.created) await input.storage.createShape(record.stored);
  if (plan.nowRequested) await input.storage.updateShape(plan.nowRequested);
  const materializerLogs = new Map<string, readonly LogEntry[]>();
  for (const record of plan.created) {
    for (const dep of record.stored.dependencyHandles) {
      if (materializerLogs.has(dep) || input.hasMaterializer(dep) || !input.registry.has(dep)) continue;
      materializerLogs.set(dep, (await input.storage.readLog(dep)).entries);
    }
  }
  return { plan, materializerLogs };
});
