/**
 * The Postgres source statechart's context, events and input
 * (source.machine.ts): events are facts, in one union.
 */
import type { RuntimeLogger } from '../../logging/runtime-logger.ts';
import type { ShapeRuntime } from '../../runtime/index.ts';
import type { ApplyLoop } from './apply-loop.ts';
import type { SourceCore, PostgresSourceOptions } from './source-core.ts';

export interface SourceInput {
  readonly options: PostgresSourceOptions;
}

/** Where the stream starts: after the runtime's position, with what the slot has confirmed. */
export interface StreamStart {
  readonly after: number;
  readonly confirmed: number;
}

export interface CaughtUp {
  /** The runtime's position when everything committed before the start was applied. */
  readonly position: number;
  /** Milliseconds from the source's creation (serve's start: the restore included)... */
  readonly sinceStartMs: number;
  /** ...and from the start of following (the restore done, the stream open). */
  readonly followingMs: number;
}

export interface SourceContext {
  readonly options: PostgresSourceOptions;
  readonly logger: RuntimeLogger;
  /** The shared resources, once connected (mutable by design). */
  readonly core: SourceCore | null;
  readonly loop: ApplyLoop | null;
  readonly streamStart: StreamStart | null;
  /** Tables reconcile found to sync, taken one at a time. */
  readonly syncQueue: readonly string[];
  /** Shapes or tables changed while the control region was busy: reconcile again. */
  readonly reconcileWanted: boolean;
  readonly schemaCheckDue: boolean;
  /** Failed control attempts in a row (the retry's backoff). */
  readonly controlFailures: number;
  /** When the source was created (`serve` started). */
  readonly startedAt: number;
  readonly followingSince: number | null;
  readonly caughtUp: CaughtUp | null;
  /** Grace period for what is in flight when stopping. */
  readonly stopGraceMs: number;
  readonly failure: Error | null;
}

export type SourceEvent =
  /** The runtime the source feeds was created: start following. */
  | { readonly type: 'RUNTIME.ATTACHED'; readonly runtime: ShapeRuntime }
  | { readonly type: 'STOP.REQUESTED'; readonly graceMs: number }
  /** The runtime added or removed shapes: the publication may need to change. */
  | { readonly type: 'SHAPES.CHANGED' }
  /** A table must be read again, or can be followed now. */
  | { readonly type: 'TABLES.CHANGED' }
  | { readonly type: 'SCHEMA.CHECK_DUE' }
  | { readonly type: 'STREAM.STARTED' }
  /** The stream failed in a way a reconnect cannot fix, or could not start. */
  | { readonly type: 'STREAM.FAILED'; readonly error: Error }
  /** The apply loop stopped on an error (the runtime refused a transaction). */
  | { readonly type: 'APPLY.FAILED'; readonly error: Error };
