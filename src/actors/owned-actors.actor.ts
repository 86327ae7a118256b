import { fromCallback, type EventObject } from 'xstate';
import type { RuntimeShapes } from './runtime-shapes.ts';

/**
 * Ties the runtime-owned consumers and materializers to the runtime's own
 * lifetime. They are not XState children (see ShapeSupervisor), so XState would
 * not stop them with the runtime; this actor is invoked for the runtime's
 * whole life, and XState runs its cleanup however the runtime ends: a final
 * state, `stop()`, or a host leaving the state that invoked it.
 */
export const ownedActorsActor = fromCallback<EventObject, { shapes: RuntimeShapes }>(({ input }) => () => {
  // After a clean shutdown every actor is stopped already (stopAll does nothing then).
  input.shapes.stopAll();
});
