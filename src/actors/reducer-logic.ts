import type { ActorLogic, ActorRefFrom, EventObject, NonReducibleUnknown, Snapshot } from 'xstate';

export type ReducerSnapshot<TContext> = Snapshot<undefined> & { readonly context: TContext };

/** What `fromReducer` returns (named, so the declarations emitted for its users can refer to it). */
export type ReducerLogic<TContext, TEvent extends EventObject, TInput> = ActorLogic<ReducerSnapshot<TContext>, TEvent, TInput>;

/**
 * Like XState's `fromTransition`, with two differences that matter for
 * actors the runtime owns:
 * - stopping yields status `stopped` (fromTransition stays `active` after a
 *   stop, so a consumer could not tell a stopped materializer from a live one);
 * - an event the reducer ignores (returns the same context for) keeps the same
 *   snapshot object, so no observer is woken for nothing.
 */
export function fromReducer<TContext, TEvent extends EventObject, TInput = NonReducibleUnknown>(
  reduce: (context: TContext, event: TEvent) => TContext,
  initial: (input: TInput) => TContext,
): ReducerLogic<TContext, TEvent, TInput> {
  return {
    config: reduce,
    transition: (snapshot, event) => {
      if ((event as EventObject).type === 'xstate.stop') return { status: 'stopped', output: undefined, error: undefined, context: snapshot.context };
      if (snapshot.status !== 'active') return snapshot;
      const context = reduce(snapshot.context, event);
      return context === snapshot.context ? snapshot : { ...snapshot, context };
    },
    getInitialSnapshot: (_scope, input) => ({ status: 'active', output: undefined, error: undefined, context: initial(input) }),
    getPersistedSnapshot: (snapshot) => snapshot,
  };
}

export type ReducerActorRef<TContext, TEvent extends EventObject, TInput> = ActorRefFrom<ActorLogic<ReducerSnapshot<TContext>, TEvent, TInput>>;
