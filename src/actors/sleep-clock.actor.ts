import { fromCallback, type EventObject } from 'xstate';

/** Sends SLEEP.DUE every `everyMs` while `running` (idle shapes are put to sleep then); the timer ends with the state. */
export const sleepClockActor = fromCallback<EventObject, { everyMs: number }>(({ input, sendBack }) => {
  const timer = setInterval(() => sendBack({ type: 'SLEEP.DUE' }), input.everyMs);
  timer.unref();
  return () => clearInterval(timer);
});
