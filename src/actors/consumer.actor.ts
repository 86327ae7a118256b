import type { ActorRefFrom } from 'xstate';
import { fromReducer } from './reducer-logic.ts';
import { evaluateWhere, type LinkSet, type LinkValues, type Row } from '../shapes/where/evaluate.ts';
import type { WhereExpr } from '../shapes/where/ast.ts';
import type { LogEntry } from '../storage/storage.ts';
import type { LinkMoves, MaterializerRef } from './materializer.actor.ts';

/** One change to a row of the consumer's table, with the row before and after. */
export interface RoutedChange {
  readonly op: 'insert' | 'update' | 'delete';
  readonly key: string;
  /** The row after the change (null for a delete). */
  readonly row: Row | null;
  /** The row before the change (null for an insert, or when the row was not known). */
  readonly oldRow: Row | null;
}

/** A row of the consumer's table that this transaction did not change but whose link values moved. */
export interface MoveCandidate {
  readonly key: string;
  readonly row: Row;
}

export type ConsumerEvent = {
  readonly type: 'TRANSACTION.ROUTED';
  readonly xid: number;
  /** Changes to rows of this shape's table, in transaction order. */
  readonly changes: readonly RoutedChange[];
  /** Unchanged rows whose membership may have moved with a dependency's values. */
  readonly candidates: readonly MoveCandidate[];
};

export interface ConsumerInput {
  readonly handle: string;
  readonly where?: WhereExpr;
  /** Columns the shape selects (all when absent); key columns always stay. */
  readonly columns?: readonly string[];
  readonly keyColumns: readonly string[];
  readonly replica: 'default' | 'full';
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
    readonly dependencySystemId: string,
  ) {
    super(`shape ${handle}: materializer of dependency ${dependency} (${dependencySystemId}) is not running`);
  }
}

/**
 * One per shape: keeps the rows that match its where clause and turns each
 * transaction into log entries. Pure: the runtime routes changes in and
 * persists `output`.
 */
export const consumerLogic = fromReducer(
  (context: ConsumerContext, event: ConsumerEvent): ConsumerContext => {
    switch (event.type) {
      case 'TRANSACTION.ROUTED': {
        if (event.xid <= context.lastXid) return { ...context, output: { xid: event.xid, entries: [] } };
        const entries = entriesFor(context, event);
        return { ...context, lastXid: event.xid, output: { xid: event.xid, entries } };
      }
    }
  },
  (input: ConsumerInput): ConsumerContext => ({ ...input, output: null }),
);

export type ConsumerRef = ActorRefFrom<typeof consumerLogic>;

function entriesFor(context: ConsumerContext, event: Extract<ConsumerEvent, { type: 'TRANSACTION.ROUTED' }>): LogEntry[] {
  const { after, before } = linkViews(context, event.xid);
  const matches = (row: Row | null, links: LinkValues): boolean => row !== null && (context.where === undefined || evaluateWhere(context.where, row, links));
  const entries: LogEntry[] = [];
  for (const change of event.changes) {
    const was = matches(change.oldRow, before);
    const is = matches(change.row, after);
    if (is && !was) entries.push({ xid: event.xid, op: 'insert', key: change.key, row: project(context, change.row!) });
    else if (is && was) {
      const row = updatedRow(context, change.oldRow!, change.row!);
      if (row) entries.push({ xid: event.xid, op: 'update', key: change.key, row });
    } else if (was) entries.push({ xid: event.xid, op: 'delete', key: change.key, row: keyOnly(context, change.oldRow!) });
  }
  for (const candidate of event.candidates) {
    const was = matches(candidate.row, before);
    const is = matches(candidate.row, after);
    if (is && !was) entries.push({ xid: event.xid, op: 'insert', key: candidate.key, row: project(context, candidate.row) });
    else if (was && !is) entries.push({ xid: event.xid, op: 'delete', key: candidate.key, row: keyOnly(context, candidate.row) });
  }
  return entries;
}

/**
 * Link values after this transaction (the materializers' current counted sets)
 * and before it (the same with this transaction's moves undone). Read through
 * the refs handed over at spawn; a materializer that is not running is a
 * DependencyMissingError, never a silent empty set.
 */
function linkViews(context: ConsumerContext, xid: number): { after: LinkValues; before: LinkValues } {
  if (context.dependencies.length === 0) return { after: () => EMPTY, before: () => EMPTY };
  const afterSets: LinkSet[] = [];
  const beforeSets: LinkSet[] = [];
  context.dependencies.forEach((ref, i) => {
    const snapshot = ref.getSnapshot();
    if (snapshot.status !== 'active') throw new DependencyMissingError(context.handle, i, ref.id);
    const values = snapshot.context.counts;
    afterSets.push(values);
    const moves = snapshot.context.lastMoves;
    beforeSets.push(moves && moves.xid === xid ? valuesBefore(values, moves) : values);
  });
  return { after: (i) => afterSets[i] ?? EMPTY, before: (i) => beforeSets[i] ?? EMPTY };
}

function valuesBefore(now: LinkSet, moves: LinkMoves): LinkSet {
  const movedIn = new Set(moves.movedIn);
  const movedOut = new Set(moves.movedOut);
  return { has: (value) => movedOut.has(value) || (!movedIn.has(value) && now.has(value)) };
}

const EMPTY: LinkSet = { has: () => false };

function project(context: ConsumerContext, row: Row): Row {
  if (!context.columns) return row;
  const out: Record<string, unknown> = {};
  for (const c of context.keyColumns) out[c] = row[c];
  for (const c of context.columns) out[c] = row[c];
  return out;
}

function keyOnly(context: ConsumerContext, row: Row): Row {
  const out: Record<string, unknown> = {};
  for (const c of context.keyColumns) out[c] = row[c];
  return out;
}

/**
 * The update entry: the whole projected row with replica `full`; otherwise the
 * key and the selected columns that changed (null when none of them did).
 */
function updatedRow(context: ConsumerContext, oldRow: Row, row: Row): Row | null {
  const projected = project(context, row);
  if (context.replica === 'full') return projected;
  const out: Record<string, unknown> = {};
  let changed = false;
  for (const c of context.keyColumns) out[c] = row[c];
  for (const [c, v] of Object.entries(projected)) {
    if (context.keyColumns.includes(c)) continue;
    if (!sameValue(oldRow[c], v)) {
      out[c] = v;
      changed = true;
    }
  }
  return changed ? out : null;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
