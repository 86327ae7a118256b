import type { SnapshotFrom } from 'xstate';
import type { ApplyLoop } from './apply-loop.ts';
import type { SourceCore } from './source-core.ts';
import type { postgresSourceMachine } from './source.machine.ts';
import type { CaughtUp } from './source.types.ts';

type SourceSnapshot = SnapshotFrom<typeof postgresSourceMachine>;

/**
 * What the facade (source.ts) may read of the source statechart, in one place: the only code
 * outside the machine's own actions that looks at its context.
 */
export interface SourceReadView {
  /** The lifecycle state: connected, starting, following, stopping, stopped, failed. */
  readonly state: string;
  /** Set once the source stopped on an error (or could not connect or start). */
  readonly failure: Error | null;
  /** Set once everything committed before following began is applied and every table is synced. */
  readonly caughtUp: CaughtUp | null;
  /** The shared resources and the apply loop, once connected. */
  readonly connection: { readonly core: SourceCore; readonly loop: ApplyLoop } | null;
}

export function sourceReadView(snapshot: SourceSnapshot): SourceReadView {
  const { failure, caughtUp, core, loop } = snapshot.context;
  return { state: lifecycleState(snapshot), failure, caughtUp, connection: core && loop ? { core, loop } : null };
}

function lifecycleState(snapshot: SourceSnapshot): string {
  if (snapshot.matches({ replicating: 'following' })) return 'following';
  if (snapshot.matches({ replicating: 'stopping' })) return 'stopping';
  if (snapshot.matches({ replicating: 'opening' })) return 'starting';
  return typeof snapshot.value === 'string' ? snapshot.value : 'starting';
}
