import type { ActorRefFrom } from 'xstate';
import type { TableColumnTypes } from '../shapes/column-types.ts';
import { CountedLinkSet } from '../live/counted-link-set.ts';
import type { LinkMoves, MaterializerEvent } from '../live/shape-actors-port.ts';
import type { LogEntry } from '../storage/storage.ts';
import { fromReducer } from './reducer-logic.ts';

export interface MaterializerContext {
  readonly handle: string;
  /** The dependency shape's link values: a counted set (see CountedLinkSet). */
  readonly values: CountedLinkSet;
}

/** The values that moved in and out with one delivery, heard by the supervisor during the send. */
export type MaterializerEmitted = { readonly type: 'SHAPE.LINKS_MOVED'; readonly moves: LinkMoves };

export interface MaterializerInput {
  readonly handle: string;
  /** The dependency shape's selected columns (raw names): their tuple is the link value. */
  readonly columns: readonly string[];
  /** The dependency table's column types (none: each value's JSON type). */
  readonly types?: TableColumnTypes;
  /** The shape's log so far: the materializer rebuilds its set from it. */
  readonly log: readonly LogEntry[];
}

/**
 * One per shape that others depend on: keeps the shape's link values (a
 * counted set, changed in place: a copy per transaction would cost O(values))
 * and emits which values moved in or out with each transaction. The router
 * hands its dependents' consumers the values in their events.
 */
export const materializerLogic = fromReducer(
  (context: MaterializerContext, event: MaterializerEvent, emit: (emitted: MaterializerEmitted) => void): MaterializerContext => {
    switch (event.type) {
      case 'SHAPE.ENTRIES_LOGGED': {
        const moves = context.values.apply(event.entries);
        emit({ type: 'SHAPE.LINKS_MOVED', moves: { xid: event.xid, ...moves } });
        return context;
      }
    }
  },
  (input: MaterializerInput): MaterializerContext => {
    const values = new CountedLinkSet(input.columns, input.types);
    values.apply(input.log);
    return { handle: input.handle, values };
  },
);

export type MaterializerRef = ActorRefFrom<typeof materializerLogic>;
