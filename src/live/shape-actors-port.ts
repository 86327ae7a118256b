/**
 * What the router (route-transactions.ts) sends the shapes' actors and hears
 * back: the events of consumers and materializers and the port through which
 * it reaches them. The actors implement it; the router imports no actor.
 */
import type { KeyedRow } from '../storage/rows/row-store.ts';
import type { LogEntry } from '../storage/storage.ts';
import type { LinkMovement } from './counted-link-set.ts';
import type { RowChange } from './shape-entries.ts';

export type ConsumerEvent = {
  readonly type: 'TRANSACTION.ROUTED';
  readonly xid: number;
  /** Changes to rows of this shape's table, in transaction order. */
  readonly changes: readonly RowChange[];
  /** Unchanged rows whose membership may have moved with a dependency's values. */
  readonly candidates: readonly KeyedRow[];
};

/** What moved with one transaction. */
export interface LinkMoves extends LinkMovement {
  readonly xid: number;
}

export type MaterializerEvent =
  /** The dependency shape logged these entries (in log order) for transaction `xid`. */
  { readonly type: 'SHAPE.ENTRIES_LOGGED'; readonly xid: number; readonly entries: readonly LogEntry[] };

export type DeliveryResult =
  | { readonly ok: true }
  /** The actor kept failing past its restart intensity, or could not reach a dependency. */
  | { readonly ok: false; readonly error: unknown; readonly restarts: number };

/** How the router reaches the actors (the ActorDirectory; a fake in unit tests). */
export interface ShapeActorsPort {
  deliverToConsumer(handle: string, event: ConsumerEvent): DeliveryResult;
  consumerOutput(handle: string): { readonly xid: number; readonly entries: readonly LogEntry[] } | null;
  deliverToMaterializer(handle: string, event: MaterializerEvent): DeliveryResult;
  materializerMoves(handle: string): LinkMoves | null;
  materializer(handle: string): unknown;
}
