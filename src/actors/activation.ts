import type { ShapeRecord } from '../registry/shape-record.ts';
import type { ShapeRegistry } from '../registry/shape-registry.ts';
import { readShapeFiles, type ShapeFileCheck } from '../restore/check-shape-files.ts';
import type { RestoreProblem } from '../restore/load-result.ts';
import type { ColumnTypesOf } from '../shapes/column-types.ts';
import { columnNames } from '../shapes/definition.ts';
import type { LogEntry, ShapeStorage } from '../storage/storage.ts';
import type { MaterializerRef } from './materializer.actor.ts';
import { consumerSystemId, materializerSystemId, type ShapeSupervisor } from './shape-supervisor.ts';

/** One shape of an activation (dependencies come first). */
export interface ActivationStep {
  readonly record: ShapeRecord;
  /** It sleeps: start its consumer. */
  readonly consumer: boolean;
  /** It has dependents and no materializer yet: start one from this log (its entries, read now). */
  readonly materializerLog: readonly LogEntry[] | null;
}

/** What waking some shapes takes, read and checked, before anything is started. */
export interface ActivationPlan {
  readonly steps: readonly ActivationStep[];
  /** Shapes whose own files are damaged (restore's reasons): they go with their dependents; nothing depending on them was planned. */
  readonly damaged: readonly ShapeFileCheck[];
  /** Torn log tails cut back on the way. */
  readonly problems: readonly RestoreProblem[];
}

export const NO_ACTIVATION: ActivationPlan = { steps: [], damaged: [], problems: [] };
const NONE: ReadonlySet<string> = new Set();

export interface ActivationSource {
  readonly registry: ShapeRegistry;
  readonly supervisor: ShapeSupervisor;
  readonly storage: ShapeStorage;
  /** Kept shapes whose own files nobody has read since restore: read and checked before they start. */
  readonly unchecked: { has(handle: string): boolean };
}

/**
 * Waking `handles`, dependencies first (invariant 1 at every activation): every
 * dependency of a shape to wake, transitively, is woken before it, and a shape
 * that others depend on gets its materializer (its values from its log). A
 * sleeping shape whose files nobody has read since restore is checked first:
 * damage plans no start for it nor for anything depending on it, and is
 * returned to be removed for restore's reason. A torn log tail is cut back (so
 * this runs only where nothing appends meanwhile). Only reads: `startActivation`
 * carries the plan out. `needsMaterializer`: shapes about to gain their first dependent.
 */
export async function planActivation(source: ActivationSource, handles: Iterable<string>, needsMaterializer: ReadonlySet<string> = NONE): Promise<ActivationPlan> {
  const { registry, supervisor } = source;
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (handle: string): void => {
    if (seen.has(handle) || !registry.has(handle)) return;
    seen.add(handle);
    for (const dependency of registry.graph.dependenciesOf(handle)) visit(dependency);
    order.push(handle);
  };
  for (const handle of handles) visit(handle);

  const steps: ActivationStep[] = [];
  const damaged: ShapeFileCheck[] = [];
  const problems: RestoreProblem[] = [];
  const blocked = new Set<string>();
  for (const handle of order) {
    const record = registry.get(handle)!;
    if (record.stored.dependencyHandles.some((d) => blocked.has(d))) {
      blocked.add(handle);
      continue;
    }
    const consumer = !supervisor.has(handle);
    const materializer = (registry.graph.dependentsOf(handle).size > 0 || needsMaterializer.has(handle)) && !supervisor.hasMaterializer(handle);
    if (!consumer && !materializer) continue;
    let log: readonly LogEntry[] | null = null;
    if (source.unchecked.has(handle)) {
      const read = await readShapeFiles(source.storage, record.stored, { repair: true });
      if (read.check.removal) {
        damaged.push(read.check);
        blocked.add(handle);
        continue;
      }
      if (read.check.problem) problems.push(read.check.problem);
      log = read.entries;
    } else if (materializer) {
      log = (await source.storage.readLog(handle)).entries;
    }
    steps.push({ record, consumer, materializerLog: materializer ? (log ?? []) : null });
  }
  return { steps, damaged, problems };
}

/** The actors a plan starts, in order (what startActivation will return). */
export function plannedStarts(plan: ActivationPlan): string[] {
  const ids: string[] = [];
  for (const step of plan.steps) {
    if (step.consumer) ids.push(consumerSystemId(step.record.stored.handle));
    if (step.materializerLog) ids.push(materializerSystemId(step.record.stored.handle));
  }
  return ids;
}

export interface StartOptions {
  readonly keyColumnsOf: (table: string) => readonly string[];
  /** The tables' column types (none: values are judged by their JSON type). */
  readonly columnTypesOf: ColumnTypesOf;
  /** Position the shapes' logs are at: a transaction at or below it is not applied again. */
  readonly lastXid: number;
}

/**
 * Carries an activation plan out, in its order: each consumer is handed its
 * dependencies' materializers, which the plan started before it (the
 * supervisor refuses one whose dependency is not running). Returns the
 * systemIds started, in order.
 */
export function startActivation(supervisor: ShapeSupervisor, plan: ActivationPlan, options: StartOptions): string[] {
  const started: string[] = [];
  for (const step of plan.steps) {
    const { handle, dependencyHandles } = step.record.stored;
    const { definition, where } = step.record.shape;
    const types = options.columnTypesOf(definition.table);
    if (step.consumer) {
      const dependencies: MaterializerRef[] = dependencyHandles.map((dep) => {
        const ref = supervisor.materializer(dep);
        if (!ref) throw new Error(`shape ${handle}: dependency ${dep} has no running materializer`);
        return ref;
      });
      supervisor.spawnConsumer(
        {
          handle,
          ...(where ? { where } : {}),
          ...(definition.columns ? { columns: columnNames(definition)! } : {}),
          keyColumns: options.keyColumnsOf(definition.table),
          ...(types ? { columnTypes: types } : {}),
          replica: definition.replica,
          lastXid: options.lastXid,
        },
        dependencies,
      );
      started.push(consumerSystemId(handle));
    }
    if (step.materializerLog) {
      supervisor.spawnMaterializer({ handle, columns: columnNames(definition) ?? [], ...(types ? { types } : {}), log: step.materializerLog });
      started.push(materializerSystemId(handle));
    }
  }
  return started;
}
