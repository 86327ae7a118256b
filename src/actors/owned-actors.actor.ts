import { fromCallback, type EventObject } from 'xstate';
import type { ActorDirectory } from './actor-directory.ts';
import type { DependencyGraph } from '../graph/dependency-graph.ts';

/**
 * Ties the runtime-owned consumers and materializers to the runtime's own
 * lifetime. They are not XState children (see ActorDirectory), so XState would
 * not stop them with the runtime; this actor is invoked for the runtime's
 * whole life, and XState runs its cleanup however the runtime ends: a final
 * state, `stop()`, or a host leaving the state that invoked it.
 */
export const ownedActorsActor = fromCallback<EventObject, { directory: ActorDirectory; graph: DependencyGraph }>(({ input }) => () => {
  // After a clean shutdown every actor is stopped already: do not sort 100k shapes to stop none.
  if (input.directory.size > 0) input.directory.stopAll(input.graph.topologicalOrder().reverse());
});
