import type { ActorRefFrom } from 'xstate';
import { DependencyMissingError } from '../live/dependency-missing.ts';
import { changeEntries, NO_LINKS, withPgXid, type ShapeSpec } from '../live/shape-entries.ts';
import type { LinkValues } from '../shapes/where/evaluate.ts';
import type { LogEntry } from '../storage/storage.ts';
import type { ConsumerEvent } from '../live/shape-actors-port.ts';
import { fromReducer } from './reducer-logic.ts';

export interface ConsumerInput extends ShapeSpec {
  readonly handle: string;
  /** Actor ids of the dependencies' materializers, in subquery order (their values come in each event). */
  readonly dependencyIds: readonly string[];
  /** Highest transaction already in the log when it started: one at or below it is skipped. */
  readonly lastXid: number;
}

/**
 * What a consumer keeps: its input, and nothing per transaction (so a
 * delivery allocates nothing that outlives it: at 100k shapes the last
 * answer of every consumer would otherwise survive into the old generation).
 */
export type ConsumerContext = ConsumerInput;

/** What one transaction adds to the shape's log, heard by the supervisor during the send (the runtime persists it). */
export type ConsumerEmitted = { readonly type: 'SHAPE.ENTRIES_PRODUCED'; readonly xid: number; readonly entries: readonly LogEntry[] };

/**
 * One per shape: turns each transaction's changes into the shape's log
 * entries, and emits them. Pure: the dependencies' link values come with the
 * event. It takes each transaction once: the supervisor hands it none at or
 * below one it took; below where it started it skips them itself.
 */
export const consumerLogic = fromReducer(
  (context: ConsumerContext, event: ConsumerEvent, emit: (emitted: ConsumerEmitted) => void): ConsumerContext => {
    switch (event.type) {
      case 'TRANSACTION.ROUTED': {
        if (event.xid <= context.lastXid) return context;
        const changed = changeEntries(context, event.xid, event.changes, event.candidates, linkViews(context, event));
        if (changed.length > 0) emit({ type: 'SHAPE.ENTRIES_PRODUCED', xid: event.xid, entries: event.pgXid === undefined ? changed : withPgXid(changed, event.pgXid) });
        return context;
      }
    }
  },
  (input: ConsumerInput): ConsumerContext => input,
);

export type ConsumerRef = ActorRefFrom<typeof consumerLogic>;

/**
 * Link values before and after this transaction, from the event. A
 * dependency whose materializer is not running is a DependencyMissingError,
 * never a silent empty set.
 */
function linkViews(context: ConsumerContext, event: ConsumerEvent): { before: LinkValues; after: LinkValues } {
  const ids = context.dependencyIds;
  if (ids.length === 0) return NO_LINK_VIEWS;
  // (a plain loop and two closures over the event's list: this is on every delivery to a subquery shape)
  const links = event.links;
  for (let i = 0; i < ids.length; i++) if (!links[i]) throw new DependencyMissingError(context.handle, i, ids[i]!);
  return { before: (i) => links[i]?.before ?? NO_LINKS(i), after: (i) => links[i]?.after ?? NO_LINKS(i) };
}

const NO_LINK_VIEWS = { before: NO_LINKS, after: NO_LINKS } as const;
