/**
 * Experiment: what a cascade of N removals costs at the least, given the SPEC's
 * rule that every removal is its own cascade-stop event. Two floors, measured
 * back to back in this process, medians of 5 runs, CPU time:
 *   stop  = stopping N bare standalone actors (the floor `npm run bench` compares with)
 *   event = one action raising N events into a trivial two-state machine that
 *           handles each with one no-op action (XState's cost per CASCADE.STOP)
 * A cascade must pay both, so it cannot be under (stop + event) / stop times the
 * stop floor, before any bookkeeping (graph, registry, storage, the emitted fact).
 *
 * Run: node --expose-gc --import tsx bench/experiments/cascade-floor.ts [--n=10000]
 */
import { createActor, enqueueActions, setup } from 'xstate';
import { startTrivialActors, stopTrivialActors } from '../lib/floor.ts';
import { fullGc, median, round, Stopwatch } from '../lib/stats.ts';

type CascadeEvent = { type: 'REMOVE.REQUESTED'; count: number } | { type: 'CASCADE.STOP'; index: number } | { type: 'CASCADE.SENT' };

const cascadeMachine = setup({
  types: { events: {} as CascadeEvent, context: {} as { tally: { stopped: number } } },
  actions: {
    raiseStops: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'REMOVE.REQUESTED') return;
      for (let i = 0; i < event.count; i++) enqueue.raise({ type: 'CASCADE.STOP', index: i });
      enqueue.raise({ type: 'CASCADE.SENT' });
    }),
    // Mutates an object the context holds, as the runtime's stop action changes its registry.
    countStop: ({ context }) => {
      context.tally.stopped++;
    },
  },
}).createMachine({
  context: () => ({ tally: { stopped: 0 } }),
  initial: 'idle',
  states: {
    idle: { on: { 'REMOVE.REQUESTED': 'removing' } },
    removing: { entry: 'raiseStops', on: { 'CASCADE.STOP': { actions: 'countStop' }, 'CASCADE.SENT': 'idle' } },
  },
});

const n = Number(process.argv.find((a) => a.startsWith('--n='))?.slice(4) ?? 10_000);
const stopMs: number[] = [];
const eventMs: number[] = [];
for (let run = 0; run < 6; run++) {
  const { actors } = startTrivialActors(n);
  fullGc();
  const stop = stopTrivialActors(actors).cpuMs;
  const machine = createActor(cascadeMachine).start();
  fullGc();
  const watch = new Stopwatch();
  machine.send({ type: 'REMOVE.REQUESTED', count: n });
  const event = watch.stop().cpuMs;
  if (machine.getSnapshot().context.tally.stopped !== n) throw new Error('not every CASCADE.STOP was handled');
  machine.stop();
  if (run === 0) continue; // warm-up
  stopMs.push(stop);
  eventMs.push(event);
}
const stop = median(stopMs);
const event = median(eventMs);
console.log(`${n.toLocaleString('en-US')} removals, CPU medians of ${stopMs.length} runs:`);
console.log(`  stop floor : ${round(stop, 1)} ms (${round((stop * 1000) / n, 2)} µs per actor)`);
console.log(`  event floor: ${round(event, 1)} ms (${round((event * 1000) / n, 2)} µs per raised CASCADE.STOP)`);
console.log(`  least possible cascade / stop floor = ${round((stop + event) / stop, 2)}x`);
