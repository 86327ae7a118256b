import type { ActorRefFrom } from 'xstate';
import { DependencyMissingError } from '../live/dependency-missing.ts';
import { changeEntries, NO_LINKS, withPgXid, type ShapeSpec } from '../live/shape-entries.ts';
import type { LinkSet, LinkValues } from '../shapes/where/evaluate.ts';
import type { LogEntry } from '../storage/storage.ts';
import type { ConsumerEvent } from '../live/shape-actors-port.ts';
import { fromReducer } from './reducer-logic.ts';

export interface ConsumerInput extends ShapeSpec {
  readonly handle: string;
  /** Actor ids of the dependencies' materializers, in subquery order (their values come in each event). */
  readonly dependencyIds: readonly string[];
  /** Highest transaction already in the log: a redelivered transaction is skipped. */
  readonly lastXid: number;
}

export interface ConsumerContext extends ConsumerInput {
  /** What the last transaction added to the log (the runtime persists it). */
  readonly output: { readonly xid: number; readonly entries: readonly LogEntry[] } | null;
}

/**
 * One per shape: turns each transaction's changes into the shape's log
 * entries (the runtime persists `output`). Pure: the dependencies' link
 * values come with the event.
 */
export const consumerLogic = fromReducer(
  (context: ConsumerContext, event: ConsumerEvent): ConsumerContext => {
    switch (event.type) {
      case 'TRANSACTION.ROUTED': {
        if (event.xid <= context.lastXid) return { ...context, output: { xid: event.xid, entries: [] } };
        const changed = changeEntries(context, event.xid, event.changes, event.candidates, linkViews(context, event));
        const entries = event.pgXid === undefined ? changed : withPgXid(changed, event.pgXid);
        return { ...context, lastXid: event.xid, output: { xid: event.xid, entries } };
      }
    }
  },
  (input: ConsumerInput): ConsumerContext => ({ ...input, output: null }),
);

export type ConsumerRef = ActorRefFrom<typeof consumerLogic>;

/**
 * Link values before and after this transaction, from the event. A
 * dependency whose materializer is not running is a DependencyMissingError,
 * never a silent empty set.
 */
function linkViews(context: ConsumerContext, event: ConsumerEvent): { before: LinkValues; after: LinkValues } {
  if (context.dependencyIds.length === 0) return { before: NO_LINKS, after: NO_LINKS };
  const after: LinkSet[] = [];
  const before: LinkSet[] = [];
  context.dependencyIds.forEach((id, i) => {
    const links = event.links[i];
    if (!links) throw new DependencyMissingError(context.handle, i, id);
    after.push(links.after);
    before.push(links.before);
  });
  return { before: (i) => before[i] ?? NO_LINKS(i), after: (i) => after[i] ?? NO_LINKS(i) };
}
