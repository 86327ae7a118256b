import type { ActorRefFrom } from 'xstate';
import { changeEntries, NO_LINKS, type RowChange, type ShapeSpec } from '../live/shape-entries.ts';
import type { KeyedRow } from '../storage/rows/row-store.ts';
import type { LinkSet, LinkValues } from '../shapes/where/evaluate.ts';
import type { LogEntry } from '../storage/storage.ts';
import type { ConsumerEvent, LinkMoves } from '../live/shape-actors-port.ts';
import type { MaterializerRef } from './materializer.actor.ts';
import { fromReducer } from './reducer-logic.ts';

export interface ConsumerInput extends ShapeSpec {
  readonly handle: string;
  /** Materializers of the dependencies, in subquery order: refs handed over at spawn. */
  readonly dependencies: readonly MaterializerRef[];
  /** Highest transaction already in the log: a redelivered transaction is skipped. */
  readonly lastXid: number;
}

export interface ConsumerContext extends ConsumerInput {
  /** What the last transaction added to the log (the runtime persists it). */
  readonly output: { readonly xid: number; readonly entries: readonly LogEntry[] } | null;
}

/** A consumer asked a materializer that is not running: its shape must go, not restart. */
export class DependencyMissingError extends Error {
  override readonly name = 'DependencyMissingError';
  constructor(
    readonly handle: string,
    readonly dependency: number,
    readonly dependencyActorId: string,
  ) {
    super(`shape ${handle}: materializer of dependency ${dependency} (${dependencyActorId}) is not running`);
  }
}

/**
 * One per shape: turns each transaction's changes into the shape's log
 * entries (the runtime persists `output`). Pure apart from reading its
 * dependencies' materializers through the refs it was given.
 */
export const consumerLogic = fromReducer(
  (context: ConsumerContext, event: ConsumerEvent): ConsumerContext => {
    switch (event.type) {
      case 'TRANSACTION.ROUTED': {
        if (event.xid <= context.lastXid) return { ...context, output: { xid: event.xid, entries: [] } };
        const entries = changeEntries(context, event.xid, event.changes, event.candidates, linkViews(context, event.xid));
        return { ...context, lastXid: event.xid, output: { xid: event.xid, entries } };
      }
    }
  },
  (input: ConsumerInput): ConsumerContext => ({ ...input, output: null }),
);

export type ConsumerRef = ActorRefFrom<typeof consumerLogic>;

/**
 * Link values after this transaction (the materializers' current sets) and
 * before it (the same with this transaction's moves undone). A materializer
 * that is not running is a DependencyMissingError, never a silent empty set.
 */
function linkViews(context: ConsumerContext, xid: number): { before: LinkValues; after: LinkValues } {
  if (context.dependencies.length === 0) return { before: NO_LINKS, after: NO_LINKS };
  const after: LinkSet[] = [];
  const before: LinkSet[] = [];
  context.dependencies.forEach((ref, i) => {
    const snapshot = ref.getSnapshot();
    if (snapshot.status !== 'active') throw new DependencyMissingError(context.handle, i, ref.id);
    const { values, lastMoves } = snapshot.context;
    after.push(values);
    before.push(lastMoves && lastMoves.xid === xid ? valuesBefore(values, lastMoves) : values);
  });
  return { before: (i) => before[i] ?? NO_LINKS(i), after: (i) => after[i] ?? NO_LINKS(i) };
}

function valuesBefore(now: LinkSet, moves: LinkMoves): LinkSet {
  const movedIn = new Set(moves.movedIn);
  const movedOut = new Set(moves.movedOut);
  return { has: (value) => movedOut.has(value) || (!movedIn.has(value) && now.has(value)) };
}
