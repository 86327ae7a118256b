import type { ActorRefFrom } from 'xstate';
import { fromReducer } from './reducer-logic.ts';
import { linkKey } from '../shapes/where/link-key.ts';
import type { LogEntry } from '../storage/storage.ts';

/** Values that appeared (move-in) and disappeared (move-out) with one transaction. */
export interface LinkMoves {
  readonly xid: number;
  readonly movedIn: readonly string[];
  readonly movedOut: readonly string[];
}

export interface MaterializerContext {
  readonly handle: string;
  /** The dependency shape's selected columns: their tuple is the link value. */
  readonly columns: readonly string[];
  /** Row key -> the row's link value (null when a selected column is NULL). */
  readonly valueOfRow: Map<string, string | null>;
  /** Link value -> how many rows of the shape hold it: a value leaves with its last row. */
  readonly counts: Map<string, number>;
  readonly lastXid: number;
  readonly lastMoves: LinkMoves | null;
}

export type MaterializerEvent =
  /** The dependency shape logged these entries (in log order) for transaction `xid`. */
  { readonly type: 'SHAPE.ENTRIES_LOGGED'; readonly xid: number; readonly entries: readonly LogEntry[] };

export interface MaterializerInput {
  readonly handle: string;
  readonly columns: readonly string[];
  /** The shape's log so far: the materializer rebuilds its set from it. */
  readonly log: readonly LogEntry[];
}

/**
 * Keeps a dependency shape's link values as a counted set and says which
 * values moved in or out with each transaction.
 *
 * The maps are updated in place and the context object replaced: copying a
 * large value set per transaction would make every change cost O(values).
 */
export const materializerLogic = fromReducer(
  (context: MaterializerContext, event: MaterializerEvent): MaterializerContext => {
    switch (event.type) {
      case 'SHAPE.ENTRIES_LOGGED': {
        const moves = applyEntries(context, event.entries);
        return { ...context, lastXid: event.xid, lastMoves: { xid: event.xid, ...moves } };
      }
    }
  },
  (input: MaterializerInput): MaterializerContext => {
    const context: MaterializerContext = {
      handle: input.handle,
      columns: input.columns,
      valueOfRow: new Map(),
      counts: new Map(),
      lastXid: 0,
      lastMoves: null,
    };
    applyEntries(context, input.log);
    const lastXid = input.log.length > 0 ? input.log[input.log.length - 1]!.xid : 0;
    return { ...context, lastXid };
  },
);

export type MaterializerRef = ActorRefFrom<typeof materializerLogic>;

/** The dependency's current link values, sorted (`getLinkValues`). */
export function linkValuesOf(context: MaterializerContext): string[] {
  return [...context.counts.keys()].sort();
}

function applyEntries(context: MaterializerContext, entries: readonly LogEntry[]): { movedIn: string[]; movedOut: string[] } {
  const touched = new Map<string, number>(); // link value -> count before this batch
  const bump = (value: string | null, delta: 1 | -1): void => {
    if (value === null) return;
    const before = context.counts.get(value) ?? 0;
    if (!touched.has(value)) touched.set(value, before);
    const after = before + delta;
    if (after > 0) context.counts.set(value, after);
    else context.counts.delete(value);
  };
  for (const entry of entries) {
    const previous = context.valueOfRow.get(entry.key);
    if (previous !== undefined) bump(previous, -1);
    if (entry.op === 'delete') {
      context.valueOfRow.delete(entry.key);
      continue;
    }
    const value = linkKey(context.columns.map((c) => entry.row[c]));
    context.valueOfRow.set(entry.key, value);
    bump(value, 1);
  }
  const movedIn: string[] = [];
  const movedOut: string[] = [];
  for (const [value, before] of touched) {
    const after = context.counts.get(value) ?? 0;
    if (before === 0 && after > 0) movedIn.push(value);
    else if (before > 0 && after === 0) movedOut.push(value);
  }
  return { movedIn, movedOut };
}
