/** The routing cases' table and targets (parent process): see routing.ts for what is measured. */
import { beforeRows } from '../lib/before.ts';
import { check, type Column, type TargetCheck } from '../lib/report.ts';
import type { RoutingKind } from '../lib/routing-dataset.ts';
import { median, round } from '../lib/stats.ts';
import type { RoutingCaseResult, RoutingPass, RoutingRun } from './routing.ts';
import { fmtSize } from './validation.ts';

export const ROUTING_COLUMNS: readonly Column[] = [
  { key: 'kind', title: 'shapes on one table' },
  { key: 'size', title: 'N' },
  { key: 'semiSpace', title: 'semi-space' },
  { key: 'changesPerSec', title: 'changes/s', digits: 0 },
  { key: 'usPerChange', title: 'µs/change', digits: 1 },
  { key: 'beforeChangesPerSec', title: 'before changes/s', digits: 0 },
  { key: 'speedup', title: 'before/now' },
  { key: 'typedChangesPerSec', title: 'typed changes/s', digits: 0 },
  { key: 'typedUsPerChange', title: 'typed µs/change', digits: 1 },
  { key: 'routerUsPerChange', title: 'router µs/change', digits: 1 },
  { key: 'routerUsPerRouted', title: 'router µs/routed', digits: 2 },
  { key: 'routerFloorRatio', title: 'router/floor' },
  { key: 'typedGcUsPerChange', title: 'typed gc µs/change', digits: 1 },
  { key: 'routerGcUsPerChange', title: 'router gc µs/change', digits: 1 },
  { key: 'changes', title: 'changes' },
  { key: 'runs', title: 'runs' },
];

export interface RoutingSummaryRow {
  readonly kind: RoutingKind;
  readonly size: number;
  /** V8's semi-space the case ran with (MiB), or null: Node's default (a reported case beside the targets' own). */
  readonly semiSpaceMiB: number | null;
  readonly shapes: number;
  readonly changes: number;
  /** Through `applyTransaction` (a request per transaction), as before: wall clock, and CPU per change. */
  readonly changesPerSec: number;
  readonly usPerChange: number;
  /** Through `applyTransactions` (typed, 256 per call); null before it existed. */
  readonly typedChangesPerSec: number | null;
  readonly typedUsPerChange: number | null;
  /** The typed path's CPU per log entry written (a change that reached a shape and changed it), and over the floor. */
  readonly typedUsPerRouted: number | null;
  readonly typedFloorRatio: number | null;
  /** The router alone (bench/lib/router-pass.ts): per change, per routed change, and over the floor. */
  readonly routerUsPerChange: number | null;
  readonly routerUsPerRouted: number | null;
  readonly routerFloorRatio: number | null;
  /** Of the router's CPU per change, the collector's main-thread pauses (bench/lib/gc-clock.ts). */
  readonly routerGcUsPerChange: number | null;
  /** The collector's main-thread pauses in the typed pass, per change. */
  readonly typedGcUsPerChange: number | null;
  /** One bare actor.send plus an array push, CPU µs. */
  readonly floorUsPerRoutedChange: number;
  /** CPU µs per shape woken by the reads that woke every shape before the passes. */
  readonly wakeUsPerShape: number | null;
  /** CPU µs per change of the warm pass: one change per user in creation order, each its shape's first since waking (null for `like`: none). */
  readonly firstChangeUsPerChange: number | null;
  readonly entriesPerChange: number;
  /** From bench/results/routing-before.json (the router before the where-clause index), when it has this case. */
  readonly beforeChangesPerSec: number | null;
  readonly beforeUsPerChange: number | null;
  /** Before / now, CPU per change through the same entry point (`applyTransaction`). */
  readonly speedup: number | null;
  readonly runs: number;
}

const perRouted = (pass: RoutingPass): number => (pass.timing.cpuMs * 1000) / Math.max(1, pass.entries);
const perChange = (pass: RoutingPass): number => (pass.timing.cpuMs * 1000) / pass.changes;

export function summarizeRouting(results: readonly RoutingCaseResult[]): { rows: RoutingSummaryRow[]; checks: TargetCheck[] } {
  const before = beforeRows<RoutingSummaryRow>('routing');
  const rows = results.map((result): RoutingSummaryRow => {
    const m = (f: (r: RoutingRun) => number): number => median(result.runs.map(f));
    const of = (pick: (r: RoutingRun) => RoutingPass | null, f: (pass: RoutingPass, r: RoutingRun) => number): number | null =>
      result.runs.every((r) => pick(r) !== null) ? m((r) => f(pick(r)!, r)) : null;
    const typed = (r: RoutingRun): RoutingPass | null => r.typed;
    const router = (r: RoutingRun): RoutingPass | null => r.router;
    const usPerChange = m(perChange);
    const gcPerChange = (pick: (r: RoutingRun) => RoutingPass | null): number | null =>
      result.runs.every((r) => pick(r)?.gcMs !== undefined) ? m((r) => (pick(r)!.gcMs! * 1000) / pick(r)!.changes) : null;
    const was = before.find((b) => b.kind === result.kind && b.size === result.size);
    return {
      kind: result.kind,
      size: result.size,
      semiSpaceMiB: result.semiSpaceMiB,
      shapes: result.shapes,
      changes: m((r) => r.changes),
      changesPerSec: m((r) => (r.changes * 1000) / r.timing.wallMs),
      usPerChange,
      typedChangesPerSec: of(typed, (p) => (p.changes * 1000) / p.timing.wallMs),
      typedUsPerChange: of(typed, perChange),
      typedUsPerRouted: of(typed, perRouted),
      typedFloorRatio: of(typed, (p, r) => perRouted(p) / r.floorUsPerRoutedChange),
      routerUsPerChange: of(router, perChange),
      routerUsPerRouted: of(router, perRouted),
      routerFloorRatio: of(router, (p, r) => perRouted(p) / r.floorUsPerRoutedChange),
      routerGcUsPerChange: gcPerChange(router),
      typedGcUsPerChange: gcPerChange(typed),
      floorUsPerRoutedChange: m((r) => r.floorUsPerRoutedChange),
      wakeUsPerShape: result.runs.every((r) => r.wakeUsPerShape !== undefined && (r.woken ?? 0) > 0) ? m((r) => r.wakeUsPerShape!) : null,
      firstChangeUsPerChange: result.runs.every((r) => r.firstChangeUsPerChange !== undefined) ? m((r) => r.firstChangeUsPerChange!) : null,
      entriesPerChange: m((r) => r.entries / r.changes),
      beforeChangesPerSec: was?.changesPerSec ?? null,
      beforeUsPerChange: was?.usPerChange ?? null,
      speedup: was ? was.usPerChange / usPerChange : null,
      runs: result.runs.length,
    };
  });
  // The targets on the cases run as a service is run (the README's semi-space); Node's default beside them, reported.
  const service = rows.filter((r) => r.semiSpaceMiB !== null);
  return { rows, checks: [...routingChecks(service), ...nodeDefaultChecks(rows.filter((r) => r.semiSpaceMiB === null), service)] };
}

/** The eq flatness measured again with Node's default semi-space (16 MiB): what a service started without the flag gets. */
function nodeDefaultChecks(defaults: readonly RoutingSummaryRow[], service: readonly RoutingSummaryRow[]): TargetCheck[] {
  const of = defaults.filter((r) => r.kind === 'eq' && r.typedUsPerChange !== null).sort((a, b) => a.size - b.size);
  const [small, large] = [of[0], of.at(-1)];
  if (!small || !large || small === large) return [];
  const us = (r: RoutingSummaryRow): string => `${round(r.typedUsPerChange!, 1)} µs (collector ${r.typedGcUsPerChange === null ? '-' : round(r.typedGcUsPerChange, 1)})`;
  const beside = (r: RoutingSummaryRow): string => {
    const same = service.find((t) => t.kind === r.kind && t.size === r.size);
    return same?.typedUsPerChange == null ? '' : `; with ${same.semiSpaceMiB} MiB ${us(same)}`;
  };
  return [
    {
      target: `eq with Node's default semi-space: CPU per change at ${fmtSize(large.size)} shapes against ${fmtSize(small.size)} (typed; a service started without --max-semi-space-size)`,
      measured: `${fmtSize(large.size)}: ${us(large)}${beside(large)}; ${fmtSize(small.size)}: ${us(small)}${beside(small)}; ratio ${round(large.typedUsPerChange! / small.typedUsPerChange!, 2)}x`,
      value: null,
      limit: null,
      status: 'INFO',
    },
  ];
}

function routingChecks(rows: readonly RoutingSummaryRow[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const x = (v: number | null): string => (v === null ? '-' : `${round(v, 2)}x`);
  for (const kind of ['eq', 'subquery'] as const) {
    const of = rows.filter((r) => r.kind === kind).sort((a, b) => a.size - b.size);
    const small = of[0];
    const large = of.at(-1);
    if (!small || !large || small === large) continue;
    const typed = large.typedUsPerChange !== null && small.typedUsPerChange !== null;
    const [l, s] = typed ? [large.typedUsPerChange!, small.typedUsPerChange!] : [large.usPerChange, small.usPerChange];
    const router = large.routerUsPerChange !== null && small.routerUsPerChange !== null ? large.routerUsPerChange / small.routerUsPerChange : null;
    checks.push(
      check(
        `${kind}: CPU per change at ${fmtSize(large.size)} shapes within 1.5x of at ${fmtSize(small.size)}`,
        `${round(l, 1)} vs ${round(s, 1)} µs = ${round(l / s, 2)}x (${typed ? 'typed applyTransactions' : 'applyTransaction'}; a request per change: ${x(large.usPerChange / small.usPerChange)}; the router alone: ${x(router)})`,
        l / s,
        1.5,
        (v, limit) => v <= limit,
      ),
    );
    const collector = (name: string, us: (r: RoutingSummaryRow) => number | null, gc: (r: RoutingSummaryRow) => number | null): void => {
      const [lu, su, lg, sg] = [us(large), us(small), gc(large), gc(small)];
      if (lu === null || su === null || lg === null || sg === null) return;
      const [l2, s2] = [lu - lg, su - sg];
      checks.push({
        target: `${kind}: why the ${name} grows from ${fmtSize(small.size)} to ${fmtSize(large.size)} shapes (the collector's pauses, which grow with the heap)`,
        // The pauses are wall time: on an oversubscribed machine they outgrow the CPU time and say nothing.
        measured: `${round(lu, 1)} vs ${round(su, 1)} µs/change, of which the collector ${round(lg, 1)} vs ${round(sg, 1)} µs; ${
          l2 > 0 && s2 > 0 ? `without it ${round(l2, 1)} vs ${round(s2, 1)} µs = ${x(l2 / s2)}` : 'pauses (wall time) above the CPU time: the machine was oversubscribed, no conclusion'
        }`,
        value: null,
        limit: null,
        status: 'INFO',
      });
    };
    collector('typed pass', (r) => r.typedUsPerChange, (r) => r.typedGcUsPerChange);
    collector('router alone', (r) => r.routerUsPerChange, (r) => r.routerGcUsPerChange);
    // The floor (a bare send over as many actors) grows with N too: memory, not work, the growth the machine itself imposes.
    const floorGrowth = large.floorUsPerRoutedChange / small.floorUsPerRoutedChange;
    checks.push({
      target: `${kind}: the floor's own growth from ${fmtSize(small.size)} to ${fmtSize(large.size)} shapes (one actor.send + append over as many actors: caches, not work)`,
      measured: `floor ${round(large.floorUsPerRoutedChange, 2)} vs ${round(small.floorUsPerRoutedChange, 2)} µs = ${x(floorGrowth)}; ours over it: ${typed ? 'typed' : 'a request per change'} ${x(l / s / floorGrowth)}${router === null ? '' : `, the router alone ${x(router / floorGrowth)}`}`,
      value: null,
      limit: null,
      status: 'INFO',
    });
  }
  for (const row of rows.filter((r) => r.kind === 'eq')) {
    const ratio = row.routerFloorRatio ?? (row.usPerChange / row.entriesPerChange) / row.floorUsPerRoutedChange;
    checks.push(
      check(
        `eq ${fmtSize(row.size)}: routing's CPU per routed change within 3x of one actor.send + append`,
        `${round(row.routerUsPerRouted ?? row.usPerChange / row.entriesPerChange, 2)} µs vs floor ${round(row.floorUsPerRoutedChange, 2)} µs = ${round(ratio, 2)}x (the router alone; the whole runtime, typed: ${x(row.typedFloorRatio)})`,
        ratio,
        3,
        (v, limit) => v <= limit,
      ),
    );
  }
  for (const row of rows.filter((r) => r.kind === 'like' && r.beforeUsPerChange !== null)) {
    checks.push(
      check(
        `like ${fmtSize(row.size)} (linear): CPU per change no more than before the index`,
        `${round(row.usPerChange, 1)} µs now, ${round(row.beforeUsPerChange!, 1)} µs before (applyTransaction both; bench/results/routing-before.json)`,
        row.usPerChange / row.beforeUsPerChange!,
        1,
        (v, limit) => v <= limit,
      ),
    );
  }
  const woken = rows.filter((r) => r.wakeUsPerShape !== null);
  if (woken.length > 0) {
    checks.push({
      target: 'context: before the passes every shape is woken (restored asleep) by a read of it; not in the per-change figures',
      measured: woken.map((r) => `${r.kind} ${fmtSize(r.size)}: ${round(r.wakeUsPerShape!, 0)} µs CPU per shape woken`).join('; '),
      value: null,
      limit: null,
      status: 'INFO',
    });
  }
  const firsts = rows.filter((r) => r.firstChangeUsPerChange !== null);
  if (firsts.length > 0) {
    checks.push({
      target: "context: then every shape one change, in creation order (typed): a pass's work visiting the shapes' state in memory order, not at random",
      measured: firsts
        .map((r) => `${r.kind} ${fmtSize(r.size)}: ${round(r.firstChangeUsPerChange!, 1)} µs CPU per change in order${r.typedUsPerChange === null ? '' : `, ${round(r.typedUsPerChange, 1)} at random (the typed pass)`}`)
        .join('; '),
      value: null,
      limit: null,
      status: 'INFO',
    });
  }
  const largest = rows.filter((r) => r.kind === 'eq').sort((a, b) => b.size - a.size)[0];
  if (largest) {
    const typed = largest.typedChangesPerSec !== null;
    checks.push({
      target: "context: Electric's published 4,000-6,000 changes/s (0.17-0.27 ms per change, 4 cores, another machine)",
      measured: `ours: ${round(largest.typedChangesPerSec ?? largest.changesPerSec, 0).toLocaleString('en-US')} changes/s through ${fmtSize(largest.size)} shapes (${round(largest.typedUsPerChange ?? largest.usPerChange, 1)} µs CPU per change, ${typed ? 'typed applyTransactions' : 'applyTransaction'}), 2 shared cores`,
      value: null,
      limit: null,
      status: 'INFO',
    });
  }
  return checks;
}

export const ROUTING_DESCRIPTION = [
  'Routing: N shapes on one table (public.items), memory store, one-change transactions submitted together (batched by the runtime).',
  '  Every shape woken first (a read of each, untimed; its cost per shape is reported), then given one change (one insert per',
  '  user, untimed in the passes, its cost reported), so the passes route to awake shapes that took changes before, as at 1k.',
  '  eq: `user_id = k`; subquery: 80% `user_id = k`, 20% `user_id IN (SELECT user_id FROM public.memberships WHERE org_id = j)`,',
  '  one change in five a membership insert or delete (move-ins, move-outs); like: `title LIKE \'t<k>-%\'` (no index: linear).',
  'changes/s, µs/change (CPU): through applyTransaction, one request per change, as measured before the index (bench/results/routing-before.json);',
  '  typed: applyTransactions, the entry point for in-process sources, 256 per call; router: routeTransactions alone over the',
  '  runtime\'s registry, actors and row store (no request queue, journal or log store); µs/routed: per log entry written',
  '  (a change that reached a shape and changed it); floor: one bare actor.send + an array push; router gc: the collector\'s',
  '  main-thread pauses within the router\'s timed calls (CPU time also counts V8\'s concurrent marking threads).',
].join('\n');
