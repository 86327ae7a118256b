import { definitionKey, type NormalizedShape, type ShapeDefinition } from '../shapes/definition.ts';
import type { WhereExpr } from '../shapes/where/ast.ts';
import { GraphNode } from '../graph/dependency-graph.ts';
import type { PlanNode } from '../graph/restore-plan.ts';
import { handleCreatedAtMicros } from '../shapes/handle.ts';
import type { LogOffset } from '../shapes/log-offset.ts';
import type { IndexedShape } from '../shapes/where-index/where-index.ts';
import type { StoredShape } from '../storage/storage.ts';
import type { ShapeRecord } from './shape-record.ts';

/**
 * A shape as the registry keeps it, awake or asleep: one object of one hidden class beside its
 * stored part, that is at once its record, its normalized shape (`shape` is itself), its node in
 * the dependency graph, what the where-clause index files (handle, table, where, dependency
 * handles) and what restore's planner reads. Its definition key is
 * built when asked for (restore's duplicate check, a lookup), not kept: at 100k shapes the
 * record, its normalized shape and its key string were about 210 B of 680 B a shape; its stored
 * part as an object of its own, about 30 B more.
 */
export class KeptShape extends GraphNode implements ShapeRecord, NormalizedShape, IndexedShape, PlanNode {
  // Its stored part's fields, held here: no StoredShape object per shape (`stored` builds one).
  readonly handle: string;
  readonly definition: ShapeDefinition;
  /** Set when a caller asks for a shape that existed only as a dependency (ShapeRegistry.update). */
  requested: boolean;
  /** Its own files (definition, log) are not read since restore: they are, and checked, before it starts (RuntimeShapes). */
  unchecked = false;
  // Its log's last durable entry as this process appended it (tx -2: none appended since restore).
  // Two numbers written in place at each commit: no lookup in a map of its own per shape a batch
  // wrote, and a number written into an old object is no pointer for the young generation's
  // collector (a new offset object per shape written was one, each in a page of its own at 100k).
  #endTx = NO_END;
  #endOp = 0;
  /** Its actors while it is awake, kept here by the runtime's supervisor (ShapeSupervisor's SupervisedShape): null while it sleeps. */
  supervised: unknown = null;

  constructor(
    stored: StoredShape,
    /** The parsed where clause (undefined: none); shared by shapes with the same where text when restore interned it. */
    readonly where: WhereExpr | undefined,
    readonly dependencies: readonly ShapeDefinition[],
  ) {
    super(stored.dependencyHandles);
    this.handle = stored.handle;
    this.definition = stored.definition;
    this.requested = stored.requested;
  }

  /** The offset of the last entry appended to its log since restore, once durable; undefined before any. */
  get appendedEnd(): LogOffset | undefined {
    return this.#endTx === NO_END ? undefined : { tx: this.#endTx, op: this.#endOp };
  }

  /** A batch appending to its log committed, its last entry at `end` (ShapeRegistry.noteAppended). */
  noteAppended(end: LogOffset): void {
    if (end.tx > this.#endTx || (end.tx === this.#endTx && end.op > this.#endOp)) {
      this.#endTx = end.tx;
      this.#endOp = end.op;
    }
  }

  /** Its stored part, built when asked for (writing it, a backup, a report): not kept. */
  get stored(): StoredShape {
    return { handle: this.handle, definition: this.definition, dependencyHandles: this.dependencyHandles, requested: this.requested };
  }

  get shape(): NormalizedShape {
    return this;
  }

  get key(): string {
    return definitionKey(this.definition);
  }

  get table(): string {
    return this.definition.table;
  }

  get createdAt(): bigint {
    return handleCreatedAtMicros(this.handle);
  }

  get dependencyKeys(): readonly string[] {
    if (this.dependencies.length === 0) return NO_KEYS;
    let keys = DEPENDENCY_KEYS.get(this.dependencies);
    if (keys === undefined) DEPENDENCY_KEYS.set(this.dependencies, (keys = this.dependencies.map(definitionKey)));
    return keys;
  }
}

const NO_KEYS: readonly string[] = Object.freeze([]);
const NO_END = -2;

/**
 * The keys of a list of dependency definitions, built once per list: restore shares one list
 * between the subquery shapes that name the same dependencies (ShapeInterner), so its planner
 * builds a key per distinct list, not one per subquery shape (20k key strings at 100k shapes).
 */
const DEPENDENCY_KEYS = new WeakMap<readonly ShapeDefinition[], readonly string[]>();

/** A record as a KeptShape for a registry: itself when it is one in no registry yet. */
export function keptShape(record: ShapeRecord): KeptShape {
  return record instanceof KeptShape && record.depth < 0 ? record : new KeptShape(record.stored, record.shape.where, record.shape.dependencies);
}
