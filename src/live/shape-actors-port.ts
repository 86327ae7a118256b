/**
 * What the router (route-transactions.ts) sends the shapes' actors and hears
 * back: the events of consumers and materializers and the port through which
 * it reaches them. The actors implement it; the router imports no actor.
 * Each delivery is one call that returns the actor's answer; the link values
 * a consumer needs travel in its event (it reads no other actor).
 */
import type { Removal } from '../graph/removal.ts';
import type { KeptShape } from '../registry/kept-shape.ts';
import type { KeyedRow, LinkValueSet } from '../storage/rows/row-store.ts';
import type { LinkSet } from '../shapes/where/evaluate.ts';
import type { LogEntry } from '../storage/storage.ts';
import type { LinkMovement } from './counted-link-set.ts';
import type { RowChange } from './shape-entries.ts';

/**
 * A dependency's link values on either side of the transaction, or null when
 * its materializer is not running (the consumer fails: never an empty set).
 */
export type DependencyLinks = { readonly before: LinkSet; readonly after: LinkSet } | null;

export type ConsumerEvent = {
  readonly type: 'TRANSACTION.ROUTED';
  readonly xid: number;
  /** The transaction's Postgres transaction id, when it came from Postgres (its entries carry it). */
  readonly pgXid?: number;
  /** Changes to rows of this shape's table that may affect it, in transaction order. */
  readonly changes: readonly RowChange[];
  /** Unchanged rows whose membership may have moved with a dependency's values. */
  readonly candidates: readonly KeyedRow[];
  /** Per dependency, in subquery order. */
  readonly links: readonly DependencyLinks[];
};

/** What moved with one transaction. */
export interface LinkMoves extends LinkMovement {
  readonly xid: number;
}

export type MaterializerEvent =
  /** The dependency shape logged these entries (in log order) for transaction `xid`. */
  { readonly type: 'SHAPE.ENTRIES_LOGGED'; readonly xid: number; readonly entries: readonly LogEntry[] };

export type DeliveryFailure = {
  readonly ok: false;
  /** The actor kept failing past its restart intensity, or could not reach a dependency. */
  readonly error: unknown;
  readonly restarts: number;
};

/**
 * A consumer's answer: the entries the transaction adds to its shape's log, and whether they go
 * on to its materializer (it has one: its dependents' link values follow them; false with no entries).
 */
export type ConsumerDelivery = { readonly ok: true; readonly entries: readonly LogEntry[]; readonly feedsMaterializer: boolean } | DeliveryFailure;

/** A materializer's answer: which values moved in and out with the entries. */
export type MaterializerDelivery = { readonly ok: true; readonly moves: LinkMovement } | DeliveryFailure;

/** Waking a shape for a change: done, or its own files (or a dependency's) are damaged and it must go, for restore's reasons. */
export type WakeResult =
  /** Awake; `materialized`: the shapes whose materializers it started (their values are new to the index). */
  | { readonly ok: true; readonly materialized: readonly string[] }
  | { readonly ok: false; readonly damaged: readonly Removal[] };

/**
 * How the router reaches the actors (RuntimeShapes). `deliverToConsumer` is
 * the one step that hands a change to a shape; a sleeping one answers null
 * and wakes with `wakeForChange` (its dependencies first), then takes it.
 */
export interface ShapeActorsPort {
  /** Wakes a sleeping shape (dependencies first); its consumer starts from `lastXid`. An awake one answers at once (no promise: this is on every delivery). */
  wakeForChange(handle: string, lastXid: number): WakeResult | Promise<WakeResult>;
  /** Its consumer is running (it is not asleep). */
  isAwake(handle: string): boolean;
  /** Hands a transaction to an awake shape's consumer (it is active now); null when the shape sleeps (nothing sent). No lookup by handle once the record holds its actors: this is on every delivery. */
  deliverToConsumer(shape: KeptShape, event: ConsumerEvent): ConsumerDelivery | null;
  deliverToMaterializer(handle: string, event: MaterializerEvent): MaterializerDelivery;
  /** A dependency's current link values (its materializer's, or the index's copy while it sleeps); undefined when unknown. */
  linkValues(handle: string): LinkValueSet | undefined;
}
