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
  readonly lastXid: number;
  readonly lastMoves: LinkMoves | null;
}

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
 * One per shape that others depend on: keeps the shape's link values and
 * says which values moved in or out with each transaction. Its dependents'
 * consumers read it through the ref they were given at spawn.
 */
export const materializerLogic = fromReducer(
  (context: MaterializerContext, event: MaterializerEvent): MaterializerContext => {
    switch (event.type) {
      case 'SHAPE.ENTRIES_LOGGED': {
        const moves = context.values.apply(event.entries);
        return { ...context, lastXid: event.xid, lastMoves: { xid: event.xid, ...moves } };
      }
    }
  },
  (input: MaterializerInput): MaterializerContext => {
    const values = new CountedLinkSet(input.columns, input.types);
    values.apply(input.log);
    return { handle: input.handle, values, lastXid: input.log.at(-1)?.xid ?? 0, lastMoves: null };
  },
);

export type MaterializerRef = ActorRefFrom<typeof materializerLogic>;
