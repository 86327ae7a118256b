import type { AnyActorRef } from 'xstate';
import type { ConsumerDelivery, ConsumerEvent, MaterializerDelivery, MaterializerEvent, ShapeActorsPort, WakeResult } from '../live/shape-actors-port.ts';
import type { KeptShape } from '../registry/kept-shape.ts';
import type { ShapeRecord } from '../registry/shape-record.ts';
import { ShapeRegistry } from '../registry/shape-registry.ts';
import type { LinkValueSet, RestorableRowStore } from '../storage/rows/row-store.ts';
import type { ShapeStorage, StoredShape } from '../storage/storage.ts';
import { planActivation, startActivation, type ActivationPlan } from './activation.ts';
import { ShapeSupervisor, type ShapeSupervisorOptions } from './shape-supervisor.ts';

/**
 * The runtime's shapes, as one resource: the registry (every kept shape, awake or asleep), the
 * supervisor of the awake ones' actors, the row store, and which shapes' own files nobody has
 * read since restore. The machine changes it only through the named effects below; everything
 * else reads it. It is also the router's way to the actors (ShapeActorsPort): a change routed
 * to a sleeping shape wakes it there, dependencies first.
 */
const AWAKE: WakeResult = { ok: true, materialized: [] };

export class RuntimeShapes implements ShapeActorsPort {
  readonly registry: ShapeRegistry;
  readonly supervisor: ShapeSupervisor;
  /** Kept shapes whose definition file and log nobody has read since restore (the check after restore, or waking, reads them). */
  readonly unchecked: { has(handle: string): boolean } = { has: (handle) => this.registry.get(handle)?.unchecked === true };
  #rows: RestorableRowStore | null = null;
  #woken = 0;
  #slept = 0;
  /** Actors a change woke, not yet reported (the batch reports them: SHAPES.WOKEN). */
  #startedByChanges: string[] = [];

  constructor(
    readonly storage: ShapeStorage,
    parent: AnyActorRef,
    options: ShapeSupervisorOptions = {},
    /** (a test's own, e.g. one whose index routes every change of a table) */
    registry: ShapeRegistry = new ShapeRegistry(),
  ) {
    this.registry = registry;
    this.supervisor = new ShapeSupervisor(parent, options);
  }

  /** The row store (null until the restore committed, and on a dry run). */
  get rows(): RestorableRowStore | null {
    return this.#rows;
  }

  /** Shapes woken and put to sleep so far. */
  get activity(): { readonly kept: number; readonly awake: number; readonly woken: number; readonly slept: number } {
    return { kept: this.registry.size, awake: this.supervisor.size, woken: this.#woken, slept: this.#slept };
  }

  // ---------------------------------------------------------------- named effects

  /** The restore committed: the row store it opened. */
  openRows(rows: RestorableRowStore): void {
    this.#rows = rows;
  }

  /** Restore's survivors, dependencies first, registered asleep; those it did not read wait for the check after restore. */
  registerRestored(records: readonly ShapeRecord[], readAtRestore: ReadonlySet<string>): void {
    for (const record of records) {
      const kept = this.registry.add(record);
      if (!readAtRestore.has(kept.handle)) kept.unchecked = true;
    }
    this.registry.usage.reset();
  }

  /** An add's new shapes (dependencies first), registered: their files were just written. */
  registerCreated(records: readonly ShapeRecord[], nowRequested: StoredShape | null): void {
    for (const record of records) this.registry.add(record);
    if (nowRequested) this.registry.update(nowRequested);
  }

  /** Starts what a plan wakes (see startActivation), from `lastXid` on (default: the row store's position). */
  wake(plan: ActivationPlan, lastXid = this.#rows?.position ?? 0): string[] {
    const started = startActivation(this.supervisor, plan, { keyColumnsOf: (table) => this.keyColumnsOf(table), columnTypesOf: (table) => this.#rows?.columnTypesOf(table), lastXid });
    for (const step of plan.steps) {
      this.#markChecked(step.record.stored.handle);
      if (step.consumer) this.#woken++;
    }
    return started;
  }

  /** The check after restore read these shapes' files (damage aside): they start without being read again. */
  markChecked(handles: Iterable<string>): void {
    for (const handle of handles) this.#markChecked(handle);
  }

  #markChecked(handle: string): void {
    const record = this.registry.get(handle);
    if (record) record.unchecked = false;
  }

  /** Gives the where-clause index a sleeping dependency's values (read by the check after restore). */
  seedLinks(handle: string, values: Iterable<string>): void {
    if (this.registry.has(handle) && this.registry.whereIndex.dependenciesToSeed().has(handle)) this.registry.whereIndex.seedLinks(handle, values);
  }

  /**
   * The awake shapes not active since `before` that may go to sleep: dependents before their
   * dependencies, never one with an awake dependent that stays awake (its materializer is needed).
   */
  idleToSleep(before: number): string[] {
    const idle = this.supervisor.idleSince(before);
    idle.sort((a, b) => this.registry.graph.depthOf(b) - this.registry.graph.depthOf(a));
    const going = new Set<string>();
    for (const handle of idle) {
      let dependentAwake = false;
      for (const dependent of this.registry.graph.dependentsOf(handle)) if (this.supervisor.has(dependent) && !going.has(dependent)) dependentAwake = true;
      if (!dependentAwake) going.add(handle);
    }
    return [...going];
  }

  /** Puts these shapes to sleep (see idleToSleep), in order: their actors stop; their state is on disk and they wake when needed. */
  sleep(handles: readonly string[]): void {
    for (const handle of handles) this.supervisor.stop(handle);
    this.#slept += handles.length;
  }

  /** A client used a shape (and so its dependencies): it stays awake, and expiry keeps it longer. */
  touch(handle: string): void {
    if (!this.registry.has(handle)) return;
    this.supervisor.touch(handle);
    this.registry.usage.touch(handle);
  }

  /** One removal of a cascade: its actors stopped, forgotten; a dependency left without dependents keeps running, minus its materializer. */
  forget(handle: string): void {
    const dependencies = this.registry.graph.dependenciesOf(handle);
    this.supervisor.stop(handle);
    this.registry.delete(handle);
    for (const dep of dependencies) {
      if (this.registry.has(dep) && this.registry.graph.dependentsOf(dep).size === 0) this.supervisor.stopMaterializer(dep);
    }
  }

  /** Every actor, dependents before their dependencies. */
  stopAll(): void {
    if (this.supervisor.size > 0) this.supervisor.stopAll(this.registry.graph.topologicalOrder().reverse());
  }

  // ---------------------------------------------------------------- reads

  keyColumnsOf(table: string): readonly string[] {
    return this.#rows!.keyColumnsOf(table);
  }

  isAwake(handle: string): boolean {
    return this.supervisor.has(handle);
  }

  // ---------------------------------------------------------------- the router's port

  /** A change is routed to a shape: wake it (and what it depends on) if it sleeps. */
  wakeForChange(handle: string, lastXid: number): WakeResult | Promise<WakeResult> {
    if (this.supervisor.touch(handle)) return AWAKE;
    return this.#wakeForChange(handle, lastXid);
  }

  async #wakeForChange(handle: string, lastXid: number): Promise<WakeResult> {
    const plan = await planActivation(this, [handle]);
    if (plan.damaged.length > 0) return { ok: false, damaged: plan.damaged.map((d) => d.removal!) };
    this.#startedByChanges.push(...this.wake(plan, lastXid));
    return { ok: true, materialized: plan.steps.filter((s) => s.materializerLog).map((s) => s.record.stored.handle) };
  }

  /** The actors changes woke since the last call (systemIds, in start order). */
  takeStartedByChanges(): string[] {
    const started = this.#startedByChanges;
    this.#startedByChanges = [];
    return started;
  }

  deliverToConsumer(shape: KeptShape, event: ConsumerEvent): ConsumerDelivery | null {
    return this.supervisor.deliverToConsumer(shape, event);
  }

  deliverToMaterializer(handle: string, event: MaterializerEvent): MaterializerDelivery {
    return this.supervisor.deliverToMaterializer(handle, event);
  }

  hasMaterializer(handle: string): boolean {
    return this.supervisor.hasMaterializer(handle);
  }

  /**
   * A dependency's link values: its materializer's while it is awake (undefined if that is not
   * running: its dependents fail, never judged by an empty set); undefined while it sleeps (the
   * where-clause index routes by its own copy, and a shape judged with it is routed when in doubt).
   */
  linkValues(handle: string): LinkValueSet | undefined {
    return this.supervisor.has(handle) ? this.supervisor.linkValues(handle) : undefined;
  }
}
