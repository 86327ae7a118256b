import { DependencyGraph } from '../graph/dependency-graph.ts';
import { WhereIndex } from '../shapes/where-index/where-index.ts';
import type { LogOffset } from '../shapes/log-offset.ts';
import type { StoredShape } from '../storage/storage.ts';
import { HandlesByDefinition } from './handles-by-definition.ts';
import { KeptShape, keptShape } from './kept-shape.ts';
import type { ShapeRecord } from './shape-record.ts';
import { ShapeUsage } from './shape-usage.ts';

/**
 * The running shapes (Electric's ShapeStatus): handle -> shape,
 * definition -> handle, table -> handles, the dependency graph between
 * them, and the where-clause index the router finds a change's shapes by.
 * Pure bookkeeping: no I/O, no actors.
 */
export class ShapeRegistry {
  /** Its nodes are the records: handle -> record is the graph's Map. */
  readonly graph = new DependencyGraph<KeptShape>();
  /** Kept with the shapes: a shape is in it exactly while it is registered. */
  readonly whereIndex: WhereIndex<KeptShape> = new WhereIndex<KeptShape>({ get: (handle) => this.graph.node(handle) });
  /** Least-recently-used order, for expiry. */
  readonly usage = new ShapeUsage(this.graph);
  /** Built at the first lookup (a restore registers 100k shapes and may never be asked), then kept current. */
  #byDefinition: HandlesByDefinition | null = null;
  readonly #byTable = new Map<string, Set<string>>();

  get size(): number {
    return this.graph.size;
  }

  get(handle: string): KeptShape | undefined {
    return this.graph.node(handle);
  }

  has(handle: string): boolean {
    return this.graph.has(handle);
  }

  handleForKey(key: string): string | undefined {
    return this.#definitions().handleFor(key);
  }

  #definitions(): HandlesByDefinition {
    if (this.#byDefinition !== null) return this.#byDefinition;
    const byDefinition = new HandlesByDefinition((handle) => this.graph.node(handle)?.definition);
    for (const handle of this.graph.handles()) byDefinition.add(handle, this.graph.node(handle)!.definition);
    return (this.#byDefinition = byDefinition);
  }

  handlesForTable(table: string): ReadonlySet<string> {
    return this.#byTable.get(table) ?? EMPTY;
  }

  tables(): IterableIterator<string> {
    return this.#byTable.keys();
  }

  /** Adds a shape whose dependencies are registered already (the graph refuses anything else): as the registry keeps it. */
  add(given: ShapeRecord): KeptShape {
    const record = keptShape(given);
    const { handle } = record;
    this.graph.addNode(handle, record);
    const table = record.shape.definition.table;
    this.#byDefinition?.add(handle, record.definition);
    this.whereIndex.add(record);
    let handles = this.#byTable.get(table);
    if (!handles) this.#byTable.set(table, (handles = new Set()));
    handles.add(handle);
    return record;
  }

  /** Committed batches appended to these shapes' logs, each ending at `last` (what the reads serve as a log's end). */
  noteAppended(appended: readonly { readonly handle: string; readonly last: LogOffset }[]): void {
    for (const { handle, last } of appended) this.graph.node(handle)?.noteAppended(last);
  }

  /** Takes a record's new stored part: only its `requested` flag can change. */
  update(stored: StoredShape): void {
    const record = this.graph.node(stored.handle);
    if (!record) throw new Error(`shape ${stored.handle} is not registered`);
    record.requested = stored.requested;
  }

  delete(handle: string): void {
    const record = this.graph.node(handle);
    if (!record) return;
    this.whereIndex.remove(handle); // (finds the record through the graph: first)
    this.graph.delete(handle);
    this.#byDefinition?.delete(handle, record.definition);
    this.usage.forget(handle);
    const table = record.shape.definition.table;
    const handles = this.#byTable.get(table);
    handles?.delete(handle);
    if (handles?.size === 0) this.#byTable.delete(table);
  }

  /** Every shape, dependencies first: the order to spawn in, and (reversed) to stop in. */
  inTopologicalOrder(): KeptShape[] {
    return this.graph.topologicalOrder().map((h) => this.graph.node(h)!);
  }

  /** What a backup holds. */
  storedShapes(): StoredShape[] {
    return this.inTopologicalOrder().map((r) => r.stored);
  }
}

const EMPTY: ReadonlySet<string> = new Set();
