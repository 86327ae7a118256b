/**
 * CPU profiles of one measured section (the V8 profiler `node --cpu-prof`
 * uses, started and stopped around the section through node:inspector, so
 * building the data set does not pollute the profile). Enabled when the
 * runner is given `--profile`: files go to bench/results/profiles/ (ignored
 * by git: *.cpuprofile).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { summarizeProfile, type FrameSummary, type Profile } from '../profile-top.ts';
import { timed, type Timing } from './stats.ts';

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  readonly bySelf: readonly FrameSummary[];
  readonly byTotal: readonly FrameSummary[];
}

export function profilingEnabled(): boolean {
  return Boolean(process.env.BENCH_PROFILE_DIR);
}

/**
 * Runs `fn`, profiled when profiling is enabled and `name` is given (it names the .cpuprofile file),
 * and times `fn` alone: starting and stopping the profiler are not in `timing` (stopping serializes
 * the profile, which at 100k shapes took 1.45 s of CPU, more than the section it profiled).
 */
export async function profiled<T>(name: string | null, fn: () => Promise<T>): Promise<{ value: T; timing: Timing; profile: ProfileSummary | null }> {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir || name === null) return { ...(await timed(fn)), profile: null };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.start');
  let measured: { value: T; timing: Timing };
  let profile: Profile;
  try {
    measured = await timed(fn);
  } finally {
    profile = ((await session.post('Profiler.stop')) as unknown as { profile: Profile }).profile;
    session.disconnect();
  }
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  return { ...measured, profile: { file, ...summarizeProfile(profile, 20) } };
}
