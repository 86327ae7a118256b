/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`): the top frames by self
 * time and by total (inclusive) time, for the README's performance section.
 *
 *   node --import tsx bench/profile-top.ts <file.cpuprofile> [--top=25] [--filter=src/]
 */
import { readFileSync } from 'node:fs';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FrameSummary {
  readonly frame: string;
  readonly selfMs: number;
  readonly selfPct: number;
  readonly totalMs: number;
  readonly totalPct: number;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|bench|test)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

export function summarizeProfile(profile: Profile, top = 25): { totalMs: number; bySelf: FrameSummary[]; byTotal: FrameSummary[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node from samples and time deltas.
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = profile.endTime - profile.startTime;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const name = frameName(node);
    self.set(name, (self.get(name) ?? 0) + us);
    // Inclusive: every distinct frame on the stack gets the sample once (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = frameName(byId.get(cur)!);
      if (seen.has(n)) continue;
      seen.add(n);
      total.set(n, (total.get(n) ?? 0) + us);
    }
  }
  const row = (frame: string): FrameSummary => ({
    frame,
    selfMs: Math.round((self.get(frame) ?? 0) / 100) / 10,
    selfPct: Math.round(((self.get(frame) ?? 0) / totalUs) * 1000) / 10,
    totalMs: Math.round((total.get(frame) ?? 0) / 100) / 10,
    totalPct: Math.round(((total.get(frame) ?? 0) / totalUs) * 1000) / 10,
  });
  // (root)/(program)/(idle) are not code; dispatch / post node:inspector is the profiler being stopped (bench/lib/profile.ts).
  const skip = (f: string): boolean =>
    f.startsWith('(root)') || f.startsWith('(program)') || f.startsWith('(idle)') || f === 'dispatch' || f.startsWith('post node:inspector') || f.startsWith('profiled ');
  const bySelf = [...self.keys()].filter((f) => !skip(f)).sort((a, b) => self.get(b)! - self.get(a)!).slice(0, top).map(row);
  const byTotal = [...total.keys()].filter((f) => !skip(f)).sort((a, b) => total.get(b)! - total.get(a)!).slice(0, top).map(row);
  return { totalMs: Math.round(totalUs / 1000), bySelf, byTotal };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx bench/profile-top.ts <file.cpuprofile> [--top=25] [--filter=text]');
    process.exit(2);
  }
  const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
  const filter = process.argv.find((a) => a.startsWith('--filter='))?.slice(9);
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile, 400);
  const keep = (f: FrameSummary): boolean => !filter || f.frame.includes(filter);
  console.log(`profile: ${summary.totalMs} ms`);
  console.log('\nself time:');
  for (const f of summary.bySelf.filter(keep).slice(0, top)) console.log(`${String(f.selfMs).padStart(9)} ms ${String(f.selfPct).padStart(5)}%  ${f.frame}`);
  console.log('\ntotal (inclusive) time:');
  for (const f of summary.byTotal.filter(keep).slice(0, top)) console.log(`${String(f.totalMs).padStart(9)} ms ${String(f.totalPct).padStart(5)}%  ${f.frame}`);
}
