import { definitionKey, type NormalizedShape, type ShapeDefinition } from '../shapes/definition.ts';
import type { WhereExpr } from '../shapes/where/ast.ts';
import { GraphNode } from '../graph/dependency-graph.ts';
import type { PlanNode } from '../graph/restore-plan.ts';
import { handleCreatedAtMicros } from '../shapes/handle.ts';
import type { IndexedShape } from '../shapes/where-index/where-index.ts';
import type { StoredShape } from '../storage/storage.ts';
import type { ShapeRecord } from './shape-record.ts';

/**
 * A shape as the registry keeps it, awake or asleep: one object of one hidden class beside its
 * stored part, that is at once its record, its normalized shape (`shape` is itself), its node in
 * the dependency graph, what the where-clause index files (handle, table, where, dependency
 * handles) and what restore's planner reads. Its definition key is
 * built when asked for (restore's duplicate check, a lookup), not kept: at 100k shapes the
 * record, its normalized shape and its key string were about 210 B of 680 B a shape.
 */
export class KeptShape extends GraphNode implements ShapeRecord, NormalizedShape, IndexedShape, PlanNode {
  constructor(
    /** Replaced when its `requested` flag changes (ShapeRegistry.update). */
    public stored: StoredShape,
    /** The parsed where clause (undefined: none); shared by shapes with the same where text when restore interned it. */
    readonly where: WhereExpr | undefined,
    readonly dependencies: readonly ShapeDefinition[],
  ) {
    super(stored.dependencyHandles);
  }

  /** Its own files (definition, log) are not read since restore: they are, and checked, before it starts (RuntimeShapes). */
  unchecked = false;

  get shape(): NormalizedShape {
    return this;
  }

  get definition(): ShapeDefinition {
    return this.stored.definition;
  }

  get key(): string {
    return definitionKey(this.stored.definition);
  }

  get handle(): string {
    return this.stored.handle;
  }

  get table(): string {
    return this.stored.definition.table;
  }

  // As restore's planner sees it (PlanNode), built when asked for: no plan node per shape.
  get requested(): boolean {
    return this.stored.requested;
  }

  get createdAt(): bigint {
    return handleCreatedAtMicros(this.stored.handle);
  }

  get dependencyKeys(): readonly string[] {
    return this.dependencies.length === 0 ? NO_KEYS : this.dependencies.map(definitionKey);
  }
}

const NO_KEYS: readonly string[] = Object.freeze([]);

/** A record as a KeptShape for a registry: itself when it is one in no registry yet. */
export function keptShape(record: ShapeRecord): KeptShape {
  return record instanceof KeptShape && record.depth < 0 ? record : new KeptShape(record.stored, record.shape.where, record.shape.dependencies);
}
