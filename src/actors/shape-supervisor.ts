import { createActor, type AnyActorRef } from 'xstate';
import { isDependencyMissing } from '../live/dependency-missing.ts';
import type { ConsumerDelivery, ConsumerEvent, MaterializerDelivery, MaterializerEvent, ShapeActorsPort } from '../live/shape-actors-port.ts';
import type { LinkValueSet } from '../storage/rows/row-store.ts';
import type { LogEntry } from '../storage/storage.ts';
import { consumerLogic, type ConsumerEmitted, type ConsumerInput, type ConsumerRef } from './consumer.actor.ts';
import { materializerLogic, type MaterializerEmitted, type MaterializerInput, type MaterializerRef } from './materializer.actor.ts';
import { RestartTracker, type RestartIntensity } from './restart-intensity.ts';

/**
 * XState refuses `ref.stop()` on an actor that has a parent ("A non-root
 * actor cannot be stopped directly"); a parent stops its children by sending
 * them the `xstate.stop` event, which is what this does for the runtime.
 */
function stopOwnedActor(ref: AnyActorRef): void {
  // An actor that failed is stopped already; sending to it would only log a warning.
  if (ref.getSnapshot().status === 'active') ref.send({ type: 'xstate.stop' });
}

const NO_MOVES = { movedIn: [], movedOut: [] } as const;
const NO_ENTRIES: readonly LogEntry[] = [];
/** A transaction the consumer took already (at or below its last), or one that added nothing: no entries, never applied twice. */
const TAKEN: ConsumerDelivery = { ok: true, entries: NO_ENTRIES, feedsMaterializer: false };

export const consumerSystemId = (handle: string): string => `shape:${handle}`;
export const materializerSystemId = (handle: string): string => `materializer:${handle}`;

/** One awake shape's actors, kept by the supervisor (by handle) and by the shape's record while it is awake (`SupervisedShape`). */
class ShapeActors {
  materializer: MaterializerRef | undefined = undefined;
  /** Set when its actors stop: a record still holding it looks the shape up again. */
  stopped = false;
  /** The record that holds it (cleared when its actors stop: a sleeping shape's record keeps no dead actors). */
  holder: SupervisedShape | null = null;
  constructor(
    readonly owner: ShapeSupervisor,
    public consumer: ConsumerRef,
    readonly consumerInput: ConsumerInput,
    /** The highest transaction the consumer has taken (as it skips what is at or below it): where a restarted one starts. */
    public lastXid: number,
    /** When a change or a client last reached it (a field written per change: no reordering of a map of every awake shape). */
    public activeAt: number,
  ) {}
}

/**
 * A shape as the router hands it over (the registry's record): its handle, and a place where the
 * supervisor keeps the shape's actors while it is awake, so that a delivery finds them without a
 * lookup by handle (at 100k awake shapes, a cold map probe per change). Checked before each use.
 */
export interface SupervisedShape {
  readonly handle: string;
  supervised: unknown;
}

export interface ShapeSupervisorOptions {
  readonly restartIntensity?: RestartIntensity;
  /** The consumer implementation (the default; tests substitute a failing one, as `machine.provide` would). */
  readonly consumerLogic?: typeof consumerLogic;
  readonly now?: () => number;
}

/**
 * Supervises the actors of the awake shapes: starts each consumer (refusing
 * one whose dependencies' materializers are not running) and materializer,
 * restarts a consumer that throws while handling an event (same systemId, same
 * input, the event delivered again) up to the restart intensity, and stops
 * them. The actors join the runtime's actor system (`parent` is the runtime, so
 * the inspector shows them by systemId and their failures reach it) but are
 * kept here rather than in the runtime's children map, which XState copies on
 * every spawn and stop: that made one parent with 10k children quadratic. Here
 * spawn and stop are O(1) each. It also knows when each awake shape was last
 * active, so idle ones can be put back to sleep.
 */
export class ShapeSupervisor {
  readonly #actors = new Map<string, ShapeActors>();
  readonly #restarts: RestartTracker;

  readonly #consumerLogic: typeof consumerLogic;
  /** What the actor being sent to emitted during the send (cleared at once: nothing of a delivery is kept). */
  #heardEntries: readonly LogEntry[] = NO_ENTRIES;
  #heardMoves: MaterializerEmitted['moves'] | null = null;
  readonly #hearEntries = (emitted: ConsumerEmitted): void => void (this.#heardEntries = emitted.entries);
  readonly #hearMoves = (emitted: MaterializerEmitted): void => void (this.#heardMoves = emitted.moves);

  constructor(
    private readonly parent: AnyActorRef,
    options: ShapeSupervisorOptions = {},
  ) {
    this.#restarts = new RestartTracker(options.restartIntensity);
    this.#consumerLogic = options.consumerLogic ?? consumerLogic;
    this.now = options.now ?? Date.now;
  }

  private readonly now: () => number;

  get size(): number {
    return this.#actors.size;
  }

  /** Awake: its consumer runs. */
  has(handle: string): boolean {
    return this.#actors.has(handle);
  }

  /** Marks an awake shape active now (a change reached it, a client read it); false when it is not awake. */
  touch(handle: string): boolean {
    const entry = this.#actors.get(handle);
    if (entry) entry.activeAt = this.now();
    return entry !== undefined;
  }

  /** Awake shapes not active since `before`, least recently active first (a scan of the awake ones: once per sleep check). */
  idleSince(before: number): string[] {
    const idle: [string, number][] = [];
    for (const [handle, entry] of this.#actors) if (entry.activeAt < before) idle.push([handle, entry.activeAt]);
    return idle.sort((a, b) => a[1] - b[1]).map(([handle]) => handle);
  }

  /** The awake shapes' handles. */
  awake(): IterableIterator<string> {
    return this.#actors.keys();
  }

  consumer(handle: string): ConsumerRef | undefined {
    return this.#actors.get(handle)?.consumer;
  }

  materializer(handle: string): MaterializerRef | undefined {
    return this.#actors.get(handle)?.materializer;
  }

  hasMaterializer(handle: string): boolean {
    return this.#actors.get(handle)?.materializer !== undefined;
  }

  /** The current link values of a shape's materializer; undefined when none is running. */
  linkValues(handle: string): LinkValueSet | undefined {
    const snapshot = this.#actors.get(handle)?.materializer?.getSnapshot();
    return snapshot?.status === 'active' ? snapshot.context.values : undefined;
  }

  /**
   * Starts the consumer of a shape. Its dependencies' materializers must be
   * running (invariant 1): they are passed as refs, and their ids go into the
   * consumer's input, to name one that is missing later.
   */
  spawnConsumer(input: Omit<ConsumerInput, 'dependencyIds'>, dependencies: readonly MaterializerRef[]): ConsumerRef {
    if (this.#actors.has(input.handle)) throw new Error(`shape ${input.handle} already has a consumer`);
    for (const dep of dependencies) {
      if (dep.getSnapshot().status !== 'active') throw new Error(`shape ${input.handle}: dependency ${dep.id} is not running`);
    }
    const consumerInput: ConsumerInput = { ...input, dependencyIds: dependencies.map((dep) => dep.id) };
    const consumer = this.#startConsumer(consumerInput);
    this.#actors.set(input.handle, new ShapeActors(this, consumer, consumerInput, consumerInput.lastXid, this.now()));
    return consumer;
  }

  /** Starts the materializer of a shape that has (or is about to have) dependents. */
  spawnMaterializer(input: MaterializerInput): MaterializerRef {
    const entry = this.#actors.get(input.handle);
    if (!entry) throw new Error(`shape ${input.handle} has no consumer: spawn it first`);
    if (entry.materializer) return entry.materializer;
    const id = materializerSystemId(input.handle);
    const materializer = createActor(materializerLogic, { parent: this.parent, id, systemId: id, input });
    materializer.on('SHAPE.LINKS_MOVED', this.#hearMoves);
    entry.materializer = materializer.start();
    return entry.materializer;
  }

  /** Stops a shape's actors: materializer first (its dependents are gone already), then the consumer. */
  stop(handle: string): void {
    const entry = this.#actors.get(handle);
    if (!entry) return;
    if (entry.materializer) stopOwnedActor(entry.materializer);
    stopOwnedActor(entry.consumer);
    entry.stopped = true;
    if (entry.holder?.supervised === entry) entry.holder.supervised = null;
    entry.holder = null;
    this.#actors.delete(handle);
    this.#restarts.forget(handle);
  }

  /** Stops a shape's materializer only (its last dependent is gone; the shape keeps serving). */
  stopMaterializer(handle: string): void {
    const entry = this.#actors.get(handle);
    if (!entry?.materializer) return;
    stopOwnedActor(entry.materializer);
    entry.materializer = undefined;
  }

  /**
   * Sends an event to a consumer, restarting it when it fails, within the restart intensity;
   * answers the entries it produced (emitted during the send), and marks the shape active. A
   * transaction at or below the last one it took is not sent again. Null: it is not awake.
   */
  deliverToConsumer(shape: SupervisedShape, event: ConsumerEvent): ConsumerDelivery | null {
    const entry = this.#actorsOf(shape);
    if (!entry) return null;
    const { handle } = shape;
    entry.activeAt = this.now();
    if (event.xid <= entry.lastXid) return TAKEN;
    let restarts = 0;
    for (;;) {
      entry.consumer.send(event);
      const entries = this.#heardEntries;
      this.#heardEntries = NO_ENTRIES;
      const snapshot = entry.consumer.getSnapshot();
      if (snapshot.status === 'active') {
        entry.lastXid = event.xid;
        return entries.length === 0 ? TAKEN : { ok: true, entries, feedsMaterializer: entry.materializer !== undefined };
      }
      const error = snapshot.error;
      if (isDependencyMissing(error)) return { ok: false, error, restarts };
      if (!this.#restarts.allowRestart(handle, this.now())) return { ok: false, error, restarts };
      restarts++;
      // A restarted consumer starts from where the failed one was, not from spawn time.
      entry.consumer = this.#startConsumer({ ...entry.consumerInput, lastXid: entry.lastXid });
    }
  }

  /** A shape's actors through its record when it holds them (and they are this supervisor's and running), else by handle, then kept there. */
  #actorsOf(shape: SupervisedShape): ShapeActors | undefined {
    const held = shape.supervised;
    if (held instanceof ShapeActors && held.owner === this && !held.stopped) return held;
    const entry = this.#actors.get(shape.handle);
    if (!entry) return undefined;
    shape.supervised = entry;
    entry.holder = shape;
    return entry;
  }

  /** Sends a materializer its shape's new entries; answers the values that moved in and out. */
  deliverToMaterializer(handle: string, event: MaterializerEvent): MaterializerDelivery {
    const ref = this.#actors.get(handle)?.materializer;
    if (!ref) return { ok: false, error: new Error(`shape ${handle} has no materializer`), restarts: 0 };
    ref.send(event);
    const moves = this.#heardMoves;
    this.#heardMoves = null;
    const snapshot = ref.getSnapshot();
    if (snapshot.status !== 'active') return { ok: false, error: snapshot.error, restarts: 0 };
    return { ok: true, moves: moves ?? { ...NO_MOVES, size: snapshot.context.values.size } };
  }

  /** Stops everything in the given order (the runtime passes dependents first). */
  stopAll(order: Iterable<string>): void {
    for (const handle of order) this.stop(handle);
    for (const handle of [...this.#actors.keys()]) this.stop(handle);
  }

  #startConsumer(input: ConsumerInput): ConsumerRef {
    const id = consumerSystemId(input.handle);
    const consumer = createActor(this.#consumerLogic, { parent: this.parent, id, systemId: id, input });
    consumer.on('SHAPE.ENTRIES_PRODUCED', this.#hearEntries);
    return consumer.start();
  }
}
