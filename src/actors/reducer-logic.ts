import type { ActorLogic, ActorRefFrom, ActorScope, EventObject, NonReducibleUnknown, Snapshot } from 'xstate';

/** XState's system type as its own logic creators use it (AnyActorSystem, which xstate does not export). */
type System = ActorScope<Snapshot<unknown>, EventObject>['system'];

export type ReducerSnapshot<TContext> = Snapshot<undefined> & { readonly context: TContext };

/** What `fromReducer` returns (named, so the declarations emitted for its users can refer to it). */
export type ReducerLogic<TContext, TEvent extends EventObject, TInput, TEmitted extends EventObject = EventObject> = ActorLogic<
  ReducerSnapshot<TContext>,
  TEvent,
  TInput,
  System,
  TEmitted
>;

/**
 * Like XState's `fromTransition`, with three differences that matter for
 * actors the runtime owns:
 * - stopping yields status `stopped` (fromTransition stays `active` after a
 *   stop, so a consumer could not tell a stopped materializer from a live one);
 * - an event the reducer ignores (returns the same context for) keeps the same
 *   snapshot object, so no observer is woken for nothing;
 * - the reducer may `emit` what an event produced (XState's emitted events, heard
 *   with `actor.on(type, ...)` during the `send`) instead of keeping it in its
 *   context: what the actor keeps is its state, not its last answer.
 */
export function fromReducer<TContext, TEvent extends EventObject, TInput = NonReducibleUnknown, TEmitted extends EventObject = EventObject>(
  reduce: (context: TContext, event: TEvent, emit: (emitted: TEmitted) => void) => TContext,
  initial: (input: TInput) => TContext,
): ReducerLogic<TContext, TEvent, TInput, TEmitted> {
  return {
    config: reduce,
    transition: (snapshot, event, scope) => {
      if ((event as EventObject).type === 'xstate.stop') return { status: 'stopped', output: undefined, error: undefined, context: snapshot.context };
      if (snapshot.status !== 'active') return snapshot;
      const context = reduce(snapshot.context, event, scope.emit);
      return context === snapshot.context ? snapshot : { ...snapshot, context };
    },
    getInitialSnapshot: (_scope, input) => ({ status: 'active', output: undefined, error: undefined, context: initial(input) }),
    getPersistedSnapshot: (snapshot) => snapshot,
  };
}

export type ReducerActorRef<TContext, TEvent extends EventObject, TInput> = ActorRefFrom<ActorLogic<ReducerSnapshot<TContext>, TEvent, TInput>>;
