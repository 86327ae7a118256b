/**
 * Experiment: how to lay out 10k-150k shape actors (consumers + materializers) on XState v5
 * so that restore / cascade / shutdown stay near-linear.
 *
 * Run:  node --expose-gc --import tsx bench/experiments/actor-tree.ts [--only=A,B,C,D,E,S,Q] [--quick]
 * (or   npx tsx bench/experiments/actor-tree.ts   -- no heap figures without --expose-gc)
 *
 * Sections
 *   A  one parent machine spawning N children (spawnChild / assign(spawn)), stopChild; parent.stop() cascade
 *   B  "registry the runtime owns": createActor(logic, { parent: root, systemId, id, input }) in a Map
 *   C  bounded fan-out supervisor tree (F = 32, 128), leaves = shape actors
 *   D  = B for three logic kinds (machine, fromTransition, hand-written ActorLogic)
 *   E  floor: standalone createActor(logic).start() (own system per actor)
 *   S  cost of actor.send(event) and actor.getSnapshot()
 *   Q  semantic checks for B: system.get, inspector fields, error relay, stop semantics
 *
 * Writes bench/experiments/actor-tree.results.json (merging with an existing file, section by section).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as os from 'node:os';
import {
  type ActorLogic,
  type AnyActorLogic,
  type AnyActorRef,
  type InspectionEvent,
  type Snapshot,
  assign,
  createActor,
  enqueueActions,
  fromTransition,
  setup,
  spawnChild,
  stopChild,
} from 'xstate';

// ---------------------------------------------------------------------------------------------
// CLI / helpers
// ---------------------------------------------------------------------------------------------

const args = process.argv.slice(2);
const onlyArg = args.find((a) => a.startsWith('--only='));
const ONLY = onlyArg ? new Set(onlyArg.slice('--only='.length).toUpperCase().split(',')) : null;
const QUICK = args.includes('--quick');
const SIZES = QUICK ? [1_000, 10_000] : [1_000, 10_000, 100_000];
const RUNS = QUICK ? 1 : 3;
/** Skip a quadratic variant at a size whose predicted time exceeds this. */
const BUDGET_MS = 20_000;

const here = dirname(fileURLToPath(import.meta.url));
const RESULTS_PATH = join(here, 'actor-tree.results.json');

const gcFn = (globalThis as { gc?: () => void }).gc;
const HAVE_GC = typeof gcFn === 'function';

function fullGc(): void {
  if (!gcFn) return;
  for (let i = 0; i < 4; i++) gcFn();
}
function heapUsed(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
function log(...xs: unknown[]): void {
  console.log(...xs);
}
/** Runs fn RUNS times (fresh state each time) and returns the per-key medians. */
function medianOf<T extends Record<string, number | null>>(
  runs: number,
  fn: () => T,
  /** "where cheap": stop repeating once one run took longer than this */
  expensiveMs = 5_000,
): T & { runs: number } {
  const all: T[] = [];
  for (let r = 0; r < runs; r++) {
    fullGc();
    const t0 = performance.now();
    all.push(fn());
    if (performance.now() - t0 > expensiveMs) break;
  }
  const out: Record<string, number | null> = { runs: all.length };
  for (const k of Object.keys(all[0]!)) {
    const vals = all.map((o) => o[k]).filter((v): v is number => typeof v === 'number');
    out[k] = vals.length ? round(median(vals), 3) : null;
  }
  return out as T & { runs: number };
}

// ---------------------------------------------------------------------------------------------
// Shape logic in three flavours
// ---------------------------------------------------------------------------------------------

type ShapeEvent =
  | { type: 'tick' }
  | { type: 'noop' }
  | { type: 'boom' }
  | { type: 'pause' }
  | { type: 'resume' };
type ShapeInput = { handle: string };
type ShapeContext = { handle: string; offset: number };

/** A tiny machine: 2 states, small context. */
const shapeMachine = setup({
  types: {
    context: {} as ShapeContext,
    events: {} as ShapeEvent,
    input: {} as ShapeInput,
  },
}).createMachine({
  id: 'shape',
  context: ({ input }) => ({ handle: input.handle, offset: 0 }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        tick: { actions: assign({ offset: ({ context }) => context.offset + 1 }) },
        boom: {
          actions: () => {
            throw new Error('boom');
          },
        },
        pause: 'paused',
      },
    },
    paused: { on: { resume: 'idle' } },
  },
});

/** fromTransition: reducer + initial context from input. */
const shapeTransition = fromTransition<ShapeContext, ShapeEvent, any, ShapeInput, any>(
  (ctx, ev) => {
    switch (ev.type) {
      case 'tick':
        return { ...ctx, offset: ctx.offset + 1 };
      case 'boom':
        throw new Error('boom');
      default:
        return ctx;
    }
  },
  ({ input }) => ({ handle: input.handle, offset: 0 }),
);

/** Hand-written minimal ActorLogic: returns the same snapshot object when nothing changes. */
type MiniSnapshot = Snapshot<undefined> & { context: ShapeContext };
const shapeMini: ActorLogic<MiniSnapshot, ShapeEvent, ShapeInput> = {
  transition(s, e) {
    switch ((e as { type: string }).type) {
      case 'tick':
        return { ...s, context: { handle: s.context.handle, offset: s.context.offset + 1 } };
      case 'boom':
        throw new Error('boom');
      case 'xstate.stop':
        return { status: 'stopped', output: undefined, error: undefined, context: s.context };
      default:
        return s;
    }
  },
  getInitialSnapshot(_scope, input) {
    return { status: 'active', output: undefined, error: undefined, context: { handle: input.handle, offset: 0 } };
  },
  getPersistedSnapshot(s) {
    return s;
  },
};

const KINDS = {
  machine: shapeMachine as AnyActorLogic,
  fromTransition: shapeTransition as AnyActorLogic,
  minimal: shapeMini as AnyActorLogic,
} as const;
type Kind = keyof typeof KINDS;
const KIND_NAMES = Object.keys(KINDS) as Kind[];

/** The runtime's root actor for layout B: handles child errors with a wildcard, can stop a ref. */
/**
 * Child error events are not part of a machine's typed events, so `'xstate.error.actor.*'` is not an
 * accepted key in `on` unless the union declares them; a template-literal member does it.
 */
type ChildErrorEvent = { type: `xstate.error.actor.${string}`; error: unknown; actorId: string };
type RootEvent =
  | { type: 'shape.stop'; ref: AnyActorRef }
  | { type: 'ping' }
  | ChildErrorEvent;
function makeRootMachine(onChildError?: (e: ChildErrorEvent) => void) {
  return setup({
    types: { events: {} as RootEvent },
  }).createMachine({
    id: 'root',
    on: {
      ping: {},
      // Public-API way to stop a registry-held actor whose parent is this root:
      'shape.stop': { actions: stopChild(({ event }) => event.ref) },
      'xstate.error.actor.*': {
        actions: ({ event }) => onChildError?.(event),
      },
    },
  });
}
/** A root that does NOT handle child errors. */
const bareRootMachine = setup({}).createMachine({ id: 'bareRoot' });

// ---------------------------------------------------------------------------------------------
// Results file
// ---------------------------------------------------------------------------------------------

const results: Record<string, unknown> = existsSync(RESULTS_PATH)
  ? (JSON.parse(readFileSync(RESULTS_PATH, 'utf8')) as Record<string, unknown>)
  : {};
function save(): void {
  results.meta = {
    node: process.version,
    xstate: (JSON.parse(readFileSync(join(here, '../../node_modules/xstate/package.json'), 'utf8')) as { version: string })
      .version,
    cpus: os.availableParallelism(),
    exposeGc: HAVE_GC,
    runsPerMeasurement: RUNS,
    date: new Date().toISOString(),
    command: 'node --expose-gc --import tsx bench/experiments/actor-tree.ts',
  };
  writeFileSync(RESULTS_PATH, JSON.stringify(results, null, 2) + '\n');
}
// Internal stop for parented actors: Actor#stop() throws for non-root actors, `_stop` is TS-private.
function internalStop(a: AnyActorRef): void {
  (a as unknown as { _stop(): void })._stop();
}
function sendStop(a: AnyActorRef): void {
  // 'xstate.stop' is not in the actor's event union; the Actor processes it as a stop request.
  a.send({ type: 'xstate.stop' } as never);
}

// ---------------------------------------------------------------------------------------------
// A. One parent machine with N spawned children (expected quadratic)
// ---------------------------------------------------------------------------------------------

type ParentEvent =
  | { type: 'spawn'; id: string }
  | { type: 'spawnAll'; n: number }
  | { type: 'stop'; id: string };

const parentSpawnChild = setup({
  types: { events: {} as ParentEvent },
  actors: { shape: shapeMachine },
}).createMachine({
  id: 'parentSpawnChild',
  on: {
    spawn: {
      actions: spawnChild('shape', {
        id: ({ event }) => (event as { id: string }).id,
        input: ({ event }) => ({ handle: (event as { id: string }).id }),
      }),
    },
    // all N spawns inside one macrostep
    spawnAll: {
      actions: enqueueActions(({ enqueue, event }) => {
        const n = (event as { n: number }).n;
        for (let i = 0; i < n; i++) enqueue.spawnChild('shape', { id: 'c' + i, input: { handle: 'c' + i } });
      }),
    },
    stop: { actions: stopChild(({ event }) => (event as { id: string }).id) },
  },
});

const parentAssignSpawn = setup({
  types: { events: {} as ParentEvent, context: {} as { refs: Map<string, AnyActorRef> } },
  actors: { shape: shapeMachine },
}).createMachine({
  id: 'parentAssignSpawn',
  context: () => ({ refs: new Map() }),
  on: {
    spawn: {
      // mutate a Map in context so that *our* code adds no copying: any quadratic cost is XState's
      actions: assign(({ context, event, spawn }) => {
        const id = (event as { id: string }).id;
        context.refs.set(id, spawn('shape', { id, input: { handle: id } }));
        return { refs: context.refs };
      }),
    },
    stop: {
      actions: [
        stopChild(({ context, event }) => context.refs.get((event as { id: string }).id)!),
        assign(({ context, event }) => {
          context.refs.delete((event as { id: string }).id);
          return { refs: context.refs };
        }),
      ],
    },
  },
});

function runA(): void {
  log('\n== A. one parent machine, N spawned children ==');
  const sizes = [1_000, 2_000, 4_000, 8_000, 10_000, 100_000];
  type StopMode = 'stopChild per event, reverse (LIFO)' | 'stopChild per event, forward (FIFO)' | 'parent.stop() cascade';
  const variants: { name: string; machine: typeof parentSpawnChild; batch: boolean; stop: StopMode }[] = [
    { name: 'spawnChild per event + stopChild LIFO', machine: parentSpawnChild, batch: false, stop: 'stopChild per event, reverse (LIFO)' },
    { name: 'spawnChild per event + stopChild FIFO', machine: parentSpawnChild, batch: false, stop: 'stopChild per event, forward (FIFO)' },
    { name: 'spawnChild per event + parent.stop()', machine: parentSpawnChild, batch: false, stop: 'parent.stop() cascade' },
    { name: 'spawnChild xN in one event (enqueueActions) + stopChild LIFO', machine: parentSpawnChild, batch: true, stop: 'stopChild per event, reverse (LIFO)' },
    { name: 'assign(spawn) per event + stopChild LIFO', machine: parentAssignSpawn as unknown as typeof parentSpawnChild, batch: false, stop: 'stopChild per event, reverse (LIFO)' },
  ];
  const out: Record<string, unknown> = {};
  for (const v of variants) {
    const rows: Record<string, unknown>[] = [];
    let last: { n: number; total: number } | null = null;
    for (const n of sizes) {
      if (last) {
        const predicted = last.total * (n / last.n) ** 2;
        if (predicted > BUDGET_MS) {
          rows.push({ n, skipped: true, predictedTotalMs: Math.round(predicted) });
          log(`  ${v.name} N=${n}: skipped, predicted ${Math.round(predicted / 1000)} s (quadratic)`);
          continue;
        }
      }
      const r = medianOf(RUNS, () => {
        const parent = createActor(v.machine).start();
        let t0 = performance.now();
        if (v.batch) parent.send({ type: 'spawnAll', n });
        else for (let i = 0; i < n; i++) parent.send({ type: 'spawn', id: 'c' + i });
        const spawnMs = performance.now() - t0;
        const childCount = Object.keys(parent.getSnapshot().children).length;
        if (childCount !== n) throw new Error(`expected ${n} children, got ${childCount}`);
        const one = parent.getSnapshot().children['c0']!;
        t0 = performance.now();
        if (v.stop === 'parent.stop() cascade') parent.stop();
        else if (v.stop === 'stopChild per event, forward (FIFO)') for (let i = 0; i < n; i++) parent.send({ type: 'stop', id: 'c' + i });
        else for (let i = n - 1; i >= 0; i--) parent.send({ type: 'stop', id: 'c' + i });
        const stopMs = performance.now() - t0;
        if (one.getSnapshot().status !== 'stopped') throw new Error('child not stopped');
        if (v.stop !== 'parent.stop() cascade') {
          const left = Object.keys(parent.getSnapshot().children).length;
          if (left !== 0) throw new Error(`expected 0 children, got ${left}`);
          parent.stop();
        }
        return { spawnMs, stopMs };
      }, 4_000);
      const total = r.spawnMs + r.stopMs;
      rows.push({ n, ...r, spawnUsPerChild: round((r.spawnMs * 1000) / n), stopUsPerChild: round((r.stopMs * 1000) / n) });
      log(`  ${v.name} N=${n}: spawn ${round(r.spawnMs)} ms, stop ${round(r.stopMs)} ms (runs ${r.runs})`);
      last = { n, total };
    }
    // quadratic check: ratio of times when N grows by k (quadratic => k^2)
    const measured = rows.filter((r) => !r.skipped) as { n: number; spawnMs: number; stopMs: number }[];
    const ratios: Record<string, number>[] = [];
    for (let i = 1; i < measured.length; i++) {
      const a = measured[i - 1]!;
      const b = measured[i]!;
      const k = b.n / a.n;
      ratios.push({
        fromN: a.n,
        toN: b.n,
        nRatio: k,
        spawnTimeRatio: round(b.spawnMs / a.spawnMs),
        stopTimeRatio: round(b.stopMs / a.stopMs),
        quadraticWouldBe: round(k * k),
      });
    }
    out[v.name] = { stop: v.stop, rows, ratios };
  }
  results.A = out;
  save();
}

// ---------------------------------------------------------------------------------------------
// B / D. Registry the runtime owns
// ---------------------------------------------------------------------------------------------

type StopHow = 'send(xstate.stop)' | '_stop()' | 'root stopChild event';

function registryRun(
  kind: Kind,
  n: number,
  opts: { measureHeap: boolean; stopHow: StopHow; inspector: boolean; systemId?: boolean },
) {
  let inspected = 0;
  const root = createActor(makeRootMachine(), opts.inspector ? { inspect: () => void inspected++ } : undefined).start();
  const logic = KINDS[kind];
  const map = new Map<string, AnyActorRef>();
  const h0 = opts.measureHeap ? heapUsed() : 0;
  const useSystemId = opts.systemId !== false;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const key = 'shape:' + i;
    const a = createActor(logic, {
      parent: root,
      id: key,
      ...(useSystemId ? { systemId: key } : {}),
      input: { handle: 'h' + i },
    }).start();
    map.set(key, a);
  }
  const startMs = performance.now() - t0;
  const h1 = opts.measureHeap ? heapUsed() : 0;
  if (useSystemId && root.system.get('shape:' + (n - 1)) !== map.get('shape:' + (n - 1))) {
    throw new Error('system.get mismatch');
  }
  const keys = [...map.keys()];
  t0 = performance.now();
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i]!;
    const a = map.get(k)!;
    if (opts.stopHow === 'send(xstate.stop)') sendStop(a);
    else if (opts.stopHow === '_stop()') internalStop(a);
    else root.send({ type: 'shape.stop', ref: a });
    map.delete(k);
  }
  const stopMs = performance.now() - t0;
  const a0 = (root.system.getAll() as Record<string, unknown>);
  if (Object.keys(a0).length !== 0) throw new Error('system not empty after stop: ' + Object.keys(a0).length);
  root.stop();
  return {
    startMs,
    stopMs,
    startUsPerActor: (startMs * 1000) / n,
    stopUsPerActor: (stopMs * 1000) / n,
    heapBytesPerActor: opts.measureHeap && HAVE_GC ? (h1 - h0) / n : null,
    inspectionEventsPerActor: opts.inspector ? inspected / n : null,
  };
}

function runBD(): void {
  log('\n== B/D. registry the runtime owns (parent: root, systemId, Map), per logic kind ==');
  const out: Record<string, unknown> = {};
  for (const kind of KIND_NAMES) {
    const rows: Record<string, unknown>[] = [];
    for (const n of SIZES) {
      const r = medianOf(RUNS, () =>
        registryRun(kind, n, { measureHeap: true, stopHow: 'send(xstate.stop)', inspector: false }),
      );
      rows.push({ n, ...r });
      log(
        `  ${kind} N=${n}: start ${round(r.startMs)} ms (${round(r.startUsPerActor)} us/actor), stop ${round(
          r.stopMs,
        )} ms (${round(r.stopUsPerActor)} us/actor), heap ${r.heapBytesPerActor ?? '-'} B/actor`,
      );
    }
    out[kind] = rows;
  }
  // Variants at the largest N for the machine kind: stop method, inspector, no systemId
  const nBig = SIZES[SIZES.length - 1]!;
  const variants: Record<string, unknown> = {};
  const variantDefs: [string, Kind, Parameters<typeof registryRun>[2]][] = [
    ['machine, stop via _stop()', 'machine', { measureHeap: false, stopHow: '_stop()', inspector: false }],
    ['machine, stop via root stopChild event', 'machine', { measureHeap: false, stopHow: 'root stopChild event', inspector: false }],
    ['machine, no-op inspector on root', 'machine', { measureHeap: false, stopHow: 'send(xstate.stop)', inspector: true }],
    ['machine, without systemId', 'machine', { measureHeap: true, stopHow: 'send(xstate.stop)', inspector: false, systemId: false }],
    ['minimal, stop via _stop()', 'minimal', { measureHeap: false, stopHow: '_stop()', inspector: false }],
    ['minimal, no-op inspector on root', 'minimal', { measureHeap: false, stopHow: 'send(xstate.stop)', inspector: true }],
  ];
  for (const [name, kind, o] of variantDefs) {
    const r = medianOf(RUNS, () => registryRun(kind, nBig, o));
    variants[name] = { n: nBig, ...r };
    log(
      `  [variant] ${name} N=${nBig}: start ${round(r.startUsPerActor)} us/actor, stop ${round(r.stopUsPerActor)} us/actor` +
        (r.heapBytesPerActor != null ? `, heap ${r.heapBytesPerActor} B/actor` : '') +
        (r.inspectionEventsPerActor != null ? `, ${r.inspectionEventsPerActor} inspection events/actor` : ''),
    );
  }
  results.B = { layout: 'createActor(logic, { parent: root, systemId, id, input }).start() in a Map; stop reverse', byKind: out, variants };
  save();
}

// ---------------------------------------------------------------------------------------------
// C. Bounded fan-out supervisor tree
// ---------------------------------------------------------------------------------------------

type SupEvent =
  | ChildErrorEvent
  | { type: 'spawnSup'; id: string }
  | { type: 'spawnLeaf'; id: string; input: ShapeInput }
  | { type: 'stopLeaf'; id: string };

function makeSupervisor(leaf: AnyActorLogic) {
  const sup = setup({
    types: { events: {} as SupEvent },
  }).createMachine({
    id: 'supervisor',
    on: {
      spawnSup: {
        actions: enqueueActions(({ enqueue, event }) => {
          const e = event as { id: string };
          enqueue.spawnChild(supRef.logic, { id: e.id, systemId: e.id } as never);
        }),
      },
      // spawnChild's systemId option is a *static string*; enqueueActions lets us compute it per event
      spawnLeaf: {
        actions: enqueueActions(({ enqueue, event }) => {
          const e = event as { id: string; input: ShapeInput };
          enqueue.spawnChild(leaf, { id: e.id, systemId: e.id, input: e.input } as never);
        }),
      },
      stopLeaf: { actions: stopChild(({ event }) => (event as { id: string }).id) },
      'xstate.error.actor.*': {},
    },
  });
  const supRef = { logic: sup as AnyActorLogic };
  return sup;
}

type SupStop = 'leaves LIFO' | 'leaves FIFO' | 'root cascade';
function supervisorRun(leafKind: Kind, n: number, F: number, stopMode: SupStop, measureHeap: boolean) {
  const supMachine = makeSupervisor(KINDS[leafKind]);
  const h0 = measureHeap ? heapUsed() : 0;
  let t0 = performance.now();
  // levels, bottom-up counts
  const counts: number[] = [];
  let c = Math.ceil(n / F);
  counts.push(c);
  while (c > 1) {
    c = Math.ceil(c / F);
    counts.push(c);
  }
  // counts = [leafSupervisors, ..., 1]; build top-down
  const root = createActor(supMachine).start();
  let level: AnyActorRef[] = [root];
  for (let li = counts.length - 2; li >= 0; li--) {
    const next: AnyActorRef[] = [];
    for (let j = 0; j < counts[li]!; j++) {
      const parent = level[Math.floor(j / F)]!;
      const id = `sup:${li}:${j}`;
      parent.send({ type: 'spawnSup', id });
      next.push((parent.getSnapshot() as { children: Record<string, AnyActorRef> }).children[id]!);
    }
    level = next;
  }
  const leafSups = level;
  const buildSupMs = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const id = 'shape:' + i;
    leafSups[Math.floor(i / F)]!.send({ type: 'spawnLeaf', id, input: { handle: 'h' + i } });
  }
  const spawnLeavesMs = performance.now() - t0;
  const h1 = measureHeap ? heapUsed() : 0;
  if (!root.system.get('shape:' + (n - 1))) throw new Error('leaf not in system');
  t0 = performance.now();
  if (stopMode === 'leaves LIFO') {
    for (let i = n - 1; i >= 0; i--) leafSups[Math.floor(i / F)]!.send({ type: 'stopLeaf', id: 'shape:' + i });
    root.stop();
  } else if (stopMode === 'leaves FIFO') {
    for (let i = 0; i < n; i++) leafSups[Math.floor(i / F)]!.send({ type: 'stopLeaf', id: 'shape:' + i });
    root.stop();
  } else {
    root.stop();
  }
  const stopMs = performance.now() - t0;
  const left = Object.keys(root.system.getAll() as Record<string, unknown>).length;
  if (left !== 0) throw new Error(`system not empty after stop (${stopMode}): ${left}`);
  return {
    buildSupMs,
    spawnLeavesMs,
    stopMs,
    supervisors: counts.reduce((a, b) => a + b, 0),
    depth: counts.length,
    spawnUsPerLeaf: ((buildSupMs + spawnLeavesMs) * 1000) / n,
    stopUsPerLeaf: (stopMs * 1000) / n,
    heapBytesPerLeaf: measureHeap && HAVE_GC ? (h1 - h0) / n : null,
  };
}

function runC(): void {
  log('\n== C. bounded fan-out supervisor tree ==');
  const out: Record<string, unknown> = {};
  const combos: [number, Kind][] = [
    [8, 'machine'],
    [32, 'machine'],
    [32, 'minimal'],
    [128, 'machine'],
  ];
  for (const [F, leafKind] of combos) {
    const rows: Record<string, unknown>[] = [];
    for (const n of SIZES) {
      const lifo = medianOf(RUNS, () => supervisorRun(leafKind, n, F, 'leaves LIFO', true));
      const fifo = medianOf(RUNS, () => supervisorRun(leafKind, n, F, 'leaves FIFO', false));
      const casc = medianOf(RUNS, () => supervisorRun(leafKind, n, F, 'root cascade', false));
      rows.push({
        n,
        supervisors: lifo.supervisors,
        depth: lifo.depth,
        buildSupervisorsMs: lifo.buildSupMs,
        spawnLeavesMs: lifo.spawnLeavesMs,
        spawnUsPerLeaf: lifo.spawnUsPerLeaf,
        heapBytesPerLeaf: lifo.heapBytesPerLeaf,
        stopLeavesLifoMs: lifo.stopMs,
        stopLeavesFifoMs: fifo.stopMs,
        rootCascadeStopMs: casc.stopMs,
        stopUsPerLeaf: { lifo: round(lifo.stopUsPerLeaf), fifo: round(fifo.stopUsPerLeaf), rootCascade: round(casc.stopUsPerLeaf) },
        runs: { lifo: lifo.runs, fifo: fifo.runs, cascade: casc.runs },
      });
      log(
        `  F=${F} leaf=${leafKind} N=${n}: ${lifo.supervisors} sups (depth ${lifo.depth}); spawn ${round(
          lifo.buildSupMs + lifo.spawnLeavesMs,
        )} ms (${round(lifo.spawnUsPerLeaf)} us/leaf); stop LIFO ${round(lifo.stopMs)} ms, FIFO ${round(
          fifo.stopMs,
        )} ms, root.stop() ${round(casc.stopMs)} ms; heap ${lifo.heapBytesPerLeaf ?? '-'} B/leaf`,
      );
    }
    out[`F=${F}, leaf=${leafKind}`] = rows;
  }
  results.C = out;
  save();
}

// ---------------------------------------------------------------------------------------------
// E. Floor: standalone actors
// ---------------------------------------------------------------------------------------------

function runE(): void {
  log('\n== E. floor: standalone createActor(logic).start() ==');
  const out: Record<string, unknown> = {};
  for (const kind of ['machine', 'minimal'] as Kind[]) {
    const rows: Record<string, unknown>[] = [];
    for (const n of SIZES) {
      const r = medianOf(RUNS, () => {
        const arr: AnyActorRef[] = [];
        const h0 = heapUsed();
        let t0 = performance.now();
        for (let i = 0; i < n; i++) arr.push(createActor(KINDS[kind], { input: { handle: 'h' + i } }).start());
        const startMs = performance.now() - t0;
        const h1 = heapUsed();
        t0 = performance.now();
        for (let i = n - 1; i >= 0; i--) arr[i]!.stop();
        const stopMs = performance.now() - t0;
        return {
          startMs,
          stopMs,
          startUsPerActor: (startMs * 1000) / n,
          stopUsPerActor: (stopMs * 1000) / n,
          heapBytesPerActor: HAVE_GC ? (h1 - h0) / n : null,
        };
      });
      rows.push({ n, ...r });
      log(
        `  ${kind} N=${n}: start ${round(r.startUsPerActor)} us/actor, stop ${round(r.stopUsPerActor)} us/actor, heap ${
          r.heapBytesPerActor ?? '-'
        } B/actor`,
      );
    }
    out[kind] = rows;
  }
  results.E = out;
  save();
}

// ---------------------------------------------------------------------------------------------
// S. send / getSnapshot cost
// ---------------------------------------------------------------------------------------------

function runS(): void {
  log('\n== S. cost of actor.send() and actor.getSnapshot() ==');
  const SENDS = QUICK ? 50_000 : 300_000;
  const out: Record<string, unknown> = {};
  for (const kind of KIND_NAMES) {
    for (const setting of ['standalone', 'parented (registry)', 'parented + no-op inspector'] as const) {
      const r = medianOf(RUNS, () => {
        let root: AnyActorRef | undefined;
        let actor: AnyActorRef;
        if (setting === 'standalone') {
          actor = createActor(KINDS[kind], { input: { handle: 'h' } }).start();
        } else {
          root = createActor(makeRootMachine(), setting.includes('inspector') ? { inspect: () => {} } : undefined).start();
          actor = createActor(KINDS[kind], { parent: root, id: 'shape:0', systemId: 'shape:0', input: { handle: 'h' } }).start();
        }
        const tick = { type: 'tick' } as const;
        const noop = { type: 'noop' } as const;
        for (let i = 0; i < 10_000; i++) actor.send(noop); // warm
        let t0 = performance.now();
        for (let i = 0; i < SENDS; i++) actor.send(tick);
        const tickUs = ((performance.now() - t0) * 1000) / SENDS;
        t0 = performance.now();
        for (let i = 0; i < SENDS; i++) actor.send(noop);
        const noopUs = ((performance.now() - t0) * 1000) / SENDS;
        let sink = 0;
        const G = SENDS * 10;
        t0 = performance.now();
        for (let i = 0; i < G; i++) sink += (actor.getSnapshot() as { context: ShapeContext }).context.offset & 1;
        const getSnapshotNs = ((performance.now() - t0) * 1e6) / G;
        if (sink < 0) log(sink);
        const offset = (actor.getSnapshot() as { context: ShapeContext }).context.offset;
        if (offset !== SENDS) throw new Error(`offset ${offset} != ${SENDS}`);
        if (root) {
          sendStop(actor);
          root.stop();
        } else actor.stop();
        return { tickSendUs: tickUs, noopSendUs: noopUs, getSnapshotNs };
      });
      out[`${kind}, ${setting}`] = r;
      log(
        `  ${kind}, ${setting}: send(handled, ctx change) ${round(r.tickSendUs, 3)} us, send(unhandled/no change) ${round(
          r.noopSendUs,
          3,
        )} us, getSnapshot ${round(r.getSnapshotNs, 1)} ns`,
      );
    }
  }
  // sends spread over many actors (cache-unfriendly), registry layout
  const spread: Record<string, unknown> = {};
  const nSpread = QUICK ? 10_000 : 100_000;
  for (const kind of KIND_NAMES) {
    const r = medianOf(RUNS, () => {
      const root = createActor(makeRootMachine()).start();
      const actors: AnyActorRef[] = [];
      for (let i = 0; i < nSpread; i++)
        actors.push(createActor(KINDS[kind], { parent: root, id: 's' + i, systemId: 's' + i, input: { handle: 'h' } }).start());
      const tick = { type: 'tick' } as const;
      const t0 = performance.now();
      for (let rep = 0; rep < 3; rep++) for (let i = 0; i < nSpread; i++) actors[i]!.send(tick);
      const us = ((performance.now() - t0) * 1000) / (3 * nSpread);
      for (const a of actors) sendStop(a);
      root.stop();
      return { tickSendUs: us };
    });
    spread[kind] = { actors: nSpread, ...r };
    log(`  spread over ${nSpread} ${kind} actors: send(tick) ${round(r.tickSendUs, 3)} us`);
  }
  results.S = { single: out, spread };
  save();
}

// ---------------------------------------------------------------------------------------------
// Q. Semantic checks for layout B
// ---------------------------------------------------------------------------------------------

async function runQ(): Promise<void> {
  log('\n== Q. semantic checks for layout B ==');
  const q: Record<string, unknown> = {};
  const tick = () => new Promise((r) => setTimeout(r, 5));

  // (1) + (2): system.get and inspector
  {
    const seen: Record<string, unknown>[] = [];
    const actorRefsSeen: AnyActorRef[] = [];
    const root = createActor(makeRootMachine(), {
      inspect: (ev: InspectionEvent) => {
        if (ev.type === '@xstate.actor') {
          const ref = ev.actorRef as AnyActorRef & { _parent?: AnyActorRef };
          actorRefsSeen.push(ref);
          // fields as they are *at the moment the event is emitted* (inside the Actor constructor)
          seen.push({
            type: ev.type,
            eventKeys: Object.keys(ev),
            rootId: ev.rootId,
            id: ref.id,
            sessionId: ref.sessionId,
            systemIdAtEmit: (ref as { systemId?: string }).systemId ?? null,
            parentSessionId: ref._parent?.sessionId ?? null,
            snapshotAtEmit: ref.getSnapshot() === undefined ? 'undefined' : 'defined',
          });
        }
      },
    }).start();
    const kids: AnyActorRef[] = [];
    for (let i = 0; i < 10; i++) {
      kids.push(
        createActor(shapeMachine, { parent: root, systemId: 'shape:' + i, id: 'shape:' + i, input: { handle: 'h' + i } }).start(),
      );
    }
    const got = root.system.get('shape:5');
    q['1_systemGet'] = {
      found: got === kids[5],
      getAllKeys: Object.keys(root.system.getAll() as Record<string, unknown>).length,
      rootSnapshotChildren: Object.keys(root.getSnapshot().children).length,
      childParentIsRoot: (kids[5] as unknown as { _parent?: AnyActorRef })._parent === root,
    };
    const five = seen.find((s) => s.id === 'shape:5');
    q['2_inspector'] = {
      receivesActorEventsForRegistryActors: !!five,
      actorEventsSeen: seen.length,
      rootEvent: seen[0],
      childEvent: five,
      systemIdLater: (actorRefsSeen.find((r) => r.id === 'shape:5') as { systemId?: string } | undefined)?.systemId,
      note:
        'the @xstate.actor event is emitted in the Actor constructor before systemId is assigned, so a synchronous ' +
        'serializer sees systemId undefined; id, sessionId and _parent are set. @statelyai/inspect names actors by actorRef.id.',
    };
    for (const k of kids) sendStop(k);
    root.stop();
  }

  // (3) error relay
  {
    // (3a) root handles wildcard
    const caught: unknown[] = [];
    const root = createActor(makeRootMachine((e) => caught.push({ type: e.type, actorId: e.actorId, error: String(e.error), keys: Object.keys(e) }))).start();
    const kid = createActor(shapeMachine, { parent: root, systemId: 'shape:1', id: 'shape:1', input: { handle: 'h' } }).start();
    const other = createActor(shapeTransition, { parent: root, systemId: 'shape:2', id: 'shape:2', input: { handle: 'h' } }).start();
    kid.send({ type: 'boom' });
    other.send({ type: 'boom' });
    await tick();
    q['3a_wildcardCaught'] = {
      caught,
      rootStatus: root.getSnapshot().status,
      childStatus: kid.getSnapshot().status,
      childStillInSystem: !!root.system.get('shape:1'),
    };
    root.stop();
  }
  {
    // (3b) root does NOT handle it
    const uncaught: string[] = [];
    const onUncaught = (err: unknown) => uncaught.push(String(err));
    process.on('uncaughtException', onUncaught);
    const root = createActor(bareRootMachine).start();
    const kid = createActor(shapeMachine, { parent: root, systemId: 'shape:1', id: 'shape:1', input: { handle: 'h' } }).start();
    const sibling = createActor(shapeMachine, { parent: root, systemId: 'shape:2', id: 'shape:2', input: { handle: 'h' } }).start();
    kid.send({ type: 'boom' });
    await tick();
    const afterRootStatus = root.getSnapshot().status;
    sibling.send({ type: 'tick' });
    q['3b_unhandledByRoot'] = {
      rootStatus: afterRootStatus,
      rootError: String((root.getSnapshot() as { error?: unknown }).error),
      uncaughtExceptionsRaisedViaSetTimeout: uncaught,
      siblingStillRunning: sibling.getSnapshot().status,
      siblingStillProcessesEvents: (sibling.getSnapshot() as { context: ShapeContext }).context.offset === 1,
      siblingStillInSystem: !!root.system.get('shape:2'),
    };
    // and the same, but with an error observer on the root
    const uncaught2: string[] = [];
    process.removeListener('uncaughtException', onUncaught);
    const onUncaught2 = (err: unknown) => uncaught2.push(String(err));
    process.on('uncaughtException', onUncaught2);
    const root2 = createActor(bareRootMachine).start();
    const rootErrors: string[] = [];
    root2.subscribe({ error: (e) => rootErrors.push(String(e)) });
    const kid2 = createActor(shapeMachine, { parent: root2, id: 'shape:1', input: { handle: 'h' } }).start();
    kid2.send({ type: 'boom' });
    await tick();
    process.removeListener('uncaughtException', onUncaught2);
    q['3b_unhandledByRoot_withRootErrorObserver'] = {
      rootStatus: root2.getSnapshot().status,
      rootObserverError: rootErrors,
      uncaughtExceptions: uncaught2,
    };
    // and: a child with a subscriber lacking an error callback reports unhandled itself
    const uncaught3: string[] = [];
    const onUncaught3 = (err: unknown) => uncaught3.push(String(err));
    process.on('uncaughtException', onUncaught3);
    const root3 = createActor(makeRootMachine()).start();
    const kid3 = createActor(shapeMachine, { parent: root3, id: 'shape:1', input: { handle: 'h' } }).start();
    kid3.subscribe(() => {}); // no error callback
    kid3.send({ type: 'boom' });
    await tick();
    process.removeListener('uncaughtException', onUncaught3);
    q['3c_childSubscriberWithoutErrorCallback'] = {
      rootStatus: root3.getSnapshot().status,
      uncaughtExceptions: uncaught3,
    };
    root3.stop();
  }

  // (4) system.get after child stop; (5) root.stop() and registry actors
  {
    const root = createActor(makeRootMachine()).start();
    const a = createActor(shapeMachine, { parent: root, systemId: 'shape:1', id: 'shape:1', input: { handle: 'h' } }).start();
    const b = createActor(shapeMachine, { parent: root, systemId: 'shape:2', id: 'shape:2', input: { handle: 'h' } }).start();
    let stopThrows: string | null = null;
    try {
      a.stop();
    } catch (e) {
      stopThrows = String(e);
    }
    const afterFailedStop = { status: a.getSnapshot().status, inSystem: !!root.system.get('shape:1') };
    sendStop(a);
    let recreate: string;
    try {
      const a2 = createActor(shapeMachine, { parent: root, systemId: 'shape:1', id: 'shape:1', input: { handle: 'h' } }).start();
      recreate = 'ok';
      sendStop(a2);
    } catch (e) {
      recreate = String(e);
    }
    let collision: string | null = null;
    try {
      createActor(shapeMachine, { parent: root, systemId: 'shape:2', id: 'shape:2x', input: { handle: 'h' } });
    } catch (e) {
      collision = String(e);
    }
    q['4_afterChildStop'] = {
      childStopThrows: stopThrows,
      afterThrowingStop: afterFailedStop,
      systemGetAfterSendXstateStop: root.system.get('shape:1') === undefined ? 'undefined' : 'still there',
      childStatusAfterStop: a.getSnapshot().status,
      recreateSameSystemIdAfterStop: recreate,
      duplicateSystemIdWhileRunning: collision,
    };
    const c = createActor(shapeTransition, { parent: root, systemId: 'shape:3', id: 'shape:3', input: { handle: 'h' } }).start();
    root.stop();
    b.send({ type: 'tick' });
    q['5_rootStop'] = {
      rootStatus: root.getSnapshot().status,
      registryMachineChildStatus: b.getSnapshot().status,
      registryChildStillProcessesEvents: (b.getSnapshot() as { context: ShapeContext }).context.offset === 1,
      registryFromTransitionChildStatus: c.getSnapshot().status,
      stillInSystem: !!root.system.get('shape:2') && !!root.system.get('shape:3'),
    };
    // a registry child that errors after the root has stopped: where does the error go?
    const uncaught: string[] = [];
    const onUncaught = (err: unknown) => uncaught.push(String(err));
    process.on('uncaughtException', onUncaught);
    b.send({ type: 'boom' });
    await tick();
    process.removeListener('uncaughtException', onUncaught);
    (q['5_rootStop'] as Record<string, unknown>).childErrorAfterRootStopped = {
      childStatus: b.getSnapshot().status,
      uncaughtExceptions: uncaught,
      note: 'the xstate.error.actor event is relayed to the stopped root and dropped: nobody hears about it',
    };
    let createUnderStoppedRoot: string;
    try {
      const d = createActor(shapeMachine, { parent: root, systemId: 'shape:4', id: 'shape:4', input: { handle: 'h' } }).start();
      createUnderStoppedRoot = `ok, status ${d.getSnapshot().status}, in system: ${!!root.system.get('shape:4')}`;
      sendStop(d);
    } catch (e) {
      createUnderStoppedRoot = String(e);
    }
    (q['5_rootStop'] as Record<string, unknown>).createActorWithStoppedRootAsParent = createUnderStoppedRoot;
    // clean up
    sendStop(c);
  }

  // extra: how spawned (in-machine) children behave on root.stop(), for contrast
  {
    const p = createActor(parentSpawnChild).start();
    p.send({ type: 'spawn', id: 'c0' });
    const child = p.getSnapshot().children['c0']!;
    p.stop();
    q['extra_spawnedChildOnParentStop'] = { childStatus: child.getSnapshot().status };
  }
  // extra: 'xstate.stop' sent to a fromTransition actor reaches the user reducer
  {
    const seenTypes: string[] = [];
    const logic = fromTransition((s: number, e: { type: string }) => {
      seenTypes.push(e.type);
      return s;
    }, 0);
    const a = createActor(logic).start();
    a.stop();
    q['extra_fromTransitionSeesStopEvent'] = {
      eventsSeenByReducer: seenTypes,
      statusAfterStop: a.getSnapshot().status,
    };
  }
  for (const [k, v] of Object.entries(q)) log(`  ${k}:`, JSON.stringify(v));
  results.Q = q;
  save();
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!HAVE_GC) log('note: run with node --expose-gc --import tsx ... for heap figures');
  const want = (s: string) => !ONLY || ONLY.has(s);
  if (want('Q')) await runQ();
  if (want('S')) runS();
  if (want('E')) runE();
  if (want('B') || want('D')) runBD();
  if (want('C')) runC();
  if (want('A')) runA();
  save();
  log(`\nwrote ${RESULTS_PATH}`);
}

void main();
