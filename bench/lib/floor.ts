/**
 * The floors the scenarios are compared with, measured in the same process
 * run: bare standalone XState actors (`createActor(trivialMachine).start()`,
 * each its own system), and reading the files a restore reads.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createActor, setup, type Actor } from 'xstate';
import { mapConcurrently } from '../../src/restore/map-concurrently.ts';
import { Stopwatch, type Timing } from './stats.ts';

/** The smallest useful machine: one state, one event it accepts. */
export const trivialMachine = setup({ types: { events: {} as { type: 'ping' } } }).createMachine({
  id: 'trivial',
  initial: 'idle',
  states: { idle: { on: { ping: {} } } },
});

export type TrivialActor = Actor<typeof trivialMachine>;

/** Creates and starts `count` standalone actors. */
export function startTrivialActors(count: number): { timing: Timing; actors: TrivialActor[] } {
  const actors: TrivialActor[] = new Array(count);
  const watch = new Stopwatch();
  for (let i = 0; i < count; i++) actors[i] = createActor(trivialMachine).start();
  return { timing: watch.stop(), actors };
}

/** Stops them all (what a shutdown or a cascade must at least do). */
export function stopTrivialActors(actors: readonly TrivialActor[]): Timing {
  const watch = new Stopwatch();
  for (const actor of actors) actor.stop();
  return watch.stop();
}

/** Reads what a restore reads: the shapes listing, every definition and log (64 at a time, as restore does), and the backup. */
export async function readDataDirFiles(dir: string, withBackup: boolean): Promise<{ timing: Timing; bytes: number; files: number }> {
  const watch = new Stopwatch();
  let bytes = 0;
  let files = 0;
  if (withBackup) {
    bytes += (await readFile(join(dir, 'backup', 'registry.jsonl'))).length;
    files++;
  }
  const shapesDir = join(dir, 'shapes');
  const handles = (await readdir(shapesDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  await mapConcurrently(handles, 64, async (handle) => {
    bytes += (await readFile(join(shapesDir, handle, 'definition.json'), 'utf8')).length;
    bytes += (await readFile(join(shapesDir, handle, 'log.jsonl'))).length;
    files += 2;
  });
  return { timing: watch.stop(), bytes, files };
}
