/**
 * Property tests of restore (SPEC invariants 1-6): random shape DAGs written
 * with the real FileStorage into temp data dirs, random damage, then real
 * restores (dry run, backup path, scan path, second restore), each checked
 * against an independent oracle (test/helpers/restore-oracle.ts) and the
 * actor system's inspection events.
 *
 * Seeded and reproducible: set FC_SEED to replay a seed printed on failure
 * (fast-check prints `seed` and `path`; FC_PATH replays the shrunk case).
 */
import fc from 'fast-check';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyDamage, backupHandles, describeDamage, type Damage } from '../helpers/damage.ts';
import { restoreOracle, type Policy } from '../helpers/restore-oracle.ts';
import { actorCreations, checkRestoreInvariants } from '../helpers/restore-invariants.ts';
import { copyDataDir, crash, observeDryRun, observeRestore } from '../helpers/run-restore.ts';
import { buildGraphDataDir, nodeDepth, type GraphNode, type ShapeGraph } from '../helpers/shape-graph.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20251218;
const PATH = process.env.FC_PATH;
const MAX_DEPTH = 4;

// ------------------------------------------------------------------------------- generators

/** A DAG: node i depends on up to 3 lower nodes, nesting depth <= MAX_DEPTH; leaves of the "used by" relation are requested. */
function graphArb(maxNodes: number): fc.Arbitrary<ShapeGraph> {
  const nodeArb = fc.record({
    picks: fc.array(fc.nat(), { maxLength: 3 }),
    requested: fc.boolean(),
    logEntries: fc.integer({ min: 0, max: 3 }),
  });
  const dupArb = fc.record({ of: fc.nat(), usedByMask: fc.nat() });
  return fc
    .record({ nodes: fc.array(nodeArb, { minLength: 1, maxLength: maxNodes }), dups: fc.array(dupArb, { maxLength: 2 }) })
    .map(({ nodes, dups }) => {
      const built: GraphNode[] = [];
      const partial: ShapeGraph = { nodes: built };
      nodes.forEach((n, i) => {
        const deps: number[] = [];
        if (i > 0) {
          for (const p of n.picks) {
            const j = p % i;
            if (!deps.includes(j) && nodeDepth(partial, j) < MAX_DEPTH) deps.push(j);
          }
        }
        built.push({ deps, requested: n.requested, logEntries: n.logEntries });
      });
      const used = new Set(built.flatMap((n) => n.deps));
      const finalNodes = built.map((n, i) => (used.has(i) ? n : { ...n, requested: true }));
      const duplicates = dups.map((d) => {
        const of = d.of % finalNodes.length;
        const dependents = finalNodes.map((n, i) => (n.deps.includes(of) ? i : -1)).filter((i) => i >= 0);
        return { of, usedBy: dependents.filter((_i, k) => (d.usedByMask >> k) & 1) };
      });
      return { nodes: finalNodes, duplicates };
    });
}

const definitionDamageArb: fc.Arbitrary<Damage> = fc.record({
  kind: fc.constant('definition' as const),
  target: fc.nat(),
  how: fc.constantFrom('garbage', 'wrong-json', 'empty', 'bad-sql', 'missing-file', 'other-definition', 'other-handle'),
  pick: fc.nat(),
});
const dependencyDamageArb: fc.Arbitrary<Damage> = fc.record({
  kind: fc.constant('dependency' as const),
  target: fc.nat(),
  how: fc.constantFrom('cycle', 'missing', 'drop', 'extra'),
  pick: fc.nat(),
});
const backupDamageArb: fc.Arbitrary<Damage> = fc.record({
  kind: fc.constant('backup' as const),
  how: fc.constantFrom('delete', 'truncate', 'flip-byte', 'other-version', 'lie'),
  pick: fc.nat(),
});
const deleteDirArb: fc.Arbitrary<Damage> = fc.record({ kind: fc.constant('delete-dir' as const), target: fc.nat() });
const anyDamageArb = fc.oneof(deleteDirArb, definitionDamageArb, dependencyDamageArb, backupDamageArb);

type BackupPlan = { readonly kind: 'none' } | { readonly kind: 'fresh' } | { readonly kind: 'stale'; readonly after: number; readonly removedAfter: readonly number[] };
const backupPlanArb: fc.Arbitrary<BackupPlan> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'fresh' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('stale' as const), after: fc.nat({ max: 14 }), removedAfter: fc.array(fc.nat(), { maxLength: 2 }) }) },
);

interface Scenario {
  readonly graph: ShapeGraph;
  readonly backup: BackupPlan;
  readonly damage: readonly Damage[];
  readonly policy: Policy;
  readonly restart: 'clean' | 'crash';
}

function scenarioArb(options: { maxNodes: number; damage: fc.Arbitrary<Damage[]>; backup?: fc.Arbitrary<BackupPlan> }): fc.Arbitrary<Scenario> {
  return fc.record({
    graph: graphArb(options.maxNodes),
    backup: options.backup ?? backupPlanArb,
    damage: options.damage,
    policy: fc.constantFrom<Policy>('validate', 'validate', 'dropDependent'),
    restart: fc.constantFrom<'clean' | 'crash'>('clean', 'crash'),
  });
}

// ------------------------------------------------------------------------------- one case

/** What the cases exercised, so the suite can assert its generators reach every kind of damage. */
const seen = new Map<string, number>();
const note = (what: string): void => void seen.set(what, (seen.get(what) ?? 0) + 1);

/**
 * Builds the scenario's data dir, damages it, and restores it four ways:
 * dry run, real restore (backup path when there is a usable backup), the same
 * storage without backup (scan path), and a second restore after a clean
 * shutdown or a crash. Checks invariants 1-6 on each.
 */
async function runScenario(s: Scenario): Promise<void> {
  const root = await tempDir();
  const dir = join(root, 'a');
  const built = await buildGraphDataDir(dir, s.graph, {
    ...(s.backup.kind === 'fresh' ? { backupAfter: 'end' as const } : {}),
    ...(s.backup.kind === 'stale' ? { backupAfter: s.backup.after, removedAfterBackup: s.backup.removedAfter } : {}),
  });
  // The backup is usable unless a damage breaks it (the oracle's view, not src's).
  let backupOk = built.wroteBackup;
  for (const d of s.damage) {
    const { applied } = await applyDamage(dir, d);
    if (applied === null) continue;
    note(describeDamage(d));
    if (d.kind === 'backup' && d.how !== 'lie') backupOk = false;
  }
  if (built.shapes.some((x) => x.duplicateOf)) note('duplicate');
  if (built.removedAfterBackup.size > 0) note('stale-backup-removals');
  if (s.backup.kind === 'stale' && s.backup.after < built.shapes.length) note('stale-backup-adds');

  const oracle = await restoreOracle(dir, s.graph, s.policy);
  const named = backupOk ? await backupHandles(dir) : new Set<string>();
  const scanDir = await copyDataDir(dir, join(root, 'scan'), { withoutBackup: true });

  // Dry run: the same plan, nothing on disk changes, nothing spawned.
  const dry = await observeDryRun(dir, s.policy);
  checkRestoreInvariants({ oracle, ...dry, backupHandles: named, dryRun: true });

  // (5) restore never rejects on bad data; (1)-(4) against the oracle.
  const first = await observeRestore(dir, s.policy);
  checkRestoreInvariants({ oracle, ...first, backupHandles: named });
  expect(first.report.mode).toBe(backupOk ? 'backup' : 'storage');
  if (!backupOk) expect(first.report.fallbackReason).not.toBeNull();
  expect([...first.report.loaded].sort()).toEqual([...dry.report.loaded].sort());
  expect(first.report.removed.map((r) => r.handle).sort()).toEqual(dry.report.removed.map((r) => r.handle).sort());
  note(first.report.mode === 'backup' ? 'mode:backup' : 'mode:storage');
  for (const r of first.report.removed) note(`reason:${r.reason}`);
  if (first.report.loaded.length > 0 && first.report.removed.length > 0) note('mixed-outcome');

  // (6) both load paths agree: same storage, backup deleted -> scan, same survivors.
  const scan = await observeRestore(scanDir, s.policy);
  checkRestoreInvariants({ oracle, ...scan });
  expect(scan.report.mode).toBe('storage');
  expect([...scan.report.loaded].sort()).toEqual([...first.report.loaded].sort());
  await scan.runtime.shutdown();

  // (4) a removed shape stays removed: a second restore (after a clean shutdown, so from the
  // new backup; or after a crash, so by scan) changes nothing and brings nothing back.
  if (s.restart === 'clean') await first.runtime.shutdown();
  else await crash(first.runtime);
  const afterFirst = await restoreOracle(dir, s.graph, s.policy);
  expect([...afterFirst.survivors].sort()).toEqual([...first.report.loaded].sort());
  const second = await observeRestore(dir, s.policy);
  try {
    checkRestoreInvariants({ oracle: afterFirst, ...second, backupHandles: s.restart === 'clean' ? new Set(first.report.loaded) : new Set() });
    expect(second.report.mode).toBe(s.restart === 'clean' ? 'backup' : 'storage');
    expect(second.report.removed).toEqual([]);
    expect([...second.report.loaded].sort()).toEqual([...first.report.loaded].sort());
    const removedEver = new Set(first.report.removed.map((r) => r.handle));
    for (const c of actorCreations(second.events)) expect(removedEver.has(c.handle), `${c.systemId} spawned again`).toBe(false);
    for (const h of first.report.loaded) {
      for (const f of ['log.jsonl', 'definition.json']) expect(second.after.get(`shapes/${h}/${f}`)?.equals(first.before.get(`shapes/${h}/${f}`)!)).toBe(true);
    }
  } finally {
    await second.runtime.shutdown();
  }
}

function params(numRuns: number): fc.Parameters<[Scenario]> {
  return { seed: SEED, numRuns, ...(PATH ? { path: PATH } : {}) };
}

// ------------------------------------------------------------------------------- properties

describe('restore properties (invariants 1-6 against the oracle)', () => {
  it('random DAGs with random damage', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb({ maxNodes: 10, damage: fc.array(anyDamageArb, { maxLength: 4 }) }), runScenario),
      params(50),
    );
  }, 240_000);

  it('duplicates and dependency handles rewritten into cycles, to missing handles, or with the wrong count', async () => {
    const damage = fc.array(fc.oneof(dependencyDamageArb, { arbitrary: definitionDamageArb, weight: 1 }), { minLength: 1, maxLength: 3 });
    const withDuplicates = graphArb(10).filter((g) => (g.duplicates?.length ?? 0) > 0 || g.nodes.some((n) => n.deps.length > 0));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          graph: withDuplicates,
          backup: backupPlanArb,
          damage,
          policy: fc.constant<Policy>('validate'),
          restart: fc.constantFrom<'clean' | 'crash'>('clean', 'crash'),
        }),
        runScenario,
      ),
      params(30),
    );
  }, 240_000);

  it('deleted shape dirs under a stale or corrupt backup', async () => {
    const backup = fc.oneof(
      fc.constant<BackupPlan>({ kind: 'fresh' }),
      fc.record({ kind: fc.constant('stale' as const), after: fc.nat({ max: 10 }), removedAfter: fc.array(fc.nat(), { minLength: 1, maxLength: 2 }) }),
    );
    const damage = fc.tuple(fc.array(deleteDirArb, { minLength: 1, maxLength: 2 }), fc.array(backupDamageArb, { maxLength: 1 })).map(([a, b]) => [...a, ...b]);
    await fc.assert(fc.asyncProperty(scenarioArb({ maxNodes: 8, damage, backup }), runScenario), params(25));
  }, 240_000);

  // Only meaningful for the default seed over the whole file (a replayed path or seed runs fewer cases).
  it.skipIf(PATH !== undefined || process.env.FC_SEED !== undefined)('the generators reached every kind of damage and outcome', () => {
    const expected = [
      'delete-dir',
      'definition:garbage',
      'definition:wrong-json',
      'definition:empty',
      'definition:bad-sql',
      'definition:missing-file',
      'definition:other-definition',
      'definition:other-handle',
      'dependency:cycle',
      'dependency:missing',
      'dependency:drop',
      'dependency:extra',
      'backup:delete',
      'backup:truncate',
      'backup:flip-byte',
      'backup:other-version',
      'backup:lie',
      'duplicate',
      'stale-backup-removals',
      'stale-backup-adds',
      'mode:backup',
      'mode:storage',
      'reason:no-storage',
      'reason:corrupt-definition',
      'reason:missing-dependency',
      'reason:dependency-removed',
      'reason:dependency-mismatch',
      'reason:duplicate',
      'reason:cycle',
      'reason:policy-drop-dependent',
      'mixed-outcome',
    ];
    const missing = expected.filter((k) => !seen.has(k));
    expect(missing, `not exercised: ${missing.join(', ')} (seen: ${JSON.stringify(Object.fromEntries(seen))})`).toEqual([]);
  });
});

describe('restore of a big damaged graph (single example)', () => {
  it('300 shapes, fan-in and fan-out, depth 4, damage at every depth: invariants 1-6', async () => {
    const nodes: GraphNode[] = [];
    const partial: ShapeGraph = { nodes };
    let state = 12345;
    const rand = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    for (let i = 0; i < 300; i++) {
      const deps: number[] = [];
      if (i >= 10) {
        // Fan-in: the first 10 nodes are shared by many; fan-out: up to 3 dependencies, one of them recent (depth).
        const candidates = [rand(10), i - 1 - rand(Math.min(i, 15)), rand(i)];
        for (const j of candidates.slice(0, 1 + rand(3))) if (!deps.includes(j) && nodeDepth(partial, j) < MAX_DEPTH) deps.push(j);
      }
      nodes.push({ deps, requested: i % 4 !== 0, logEntries: i % 3 });
    }
    const used = new Set(nodes.flatMap((n) => n.deps));
    const graph: ShapeGraph = { nodes: nodes.map((n, i) => (used.has(i) ? n : { ...n, requested: true })), duplicates: [{ of: 3, usedBy: [] }, { of: 25, usedBy: [] }] };
    expect(Math.max(...graph.nodes.map((_n, i) => nodeDepth(graph, i)))).toBe(MAX_DEPTH);
    const damage: Damage[] = [
      { kind: 'delete-dir', target: 5 },
      { kind: 'delete-dir', target: 150 },
      { kind: 'definition', target: 40, how: 'garbage', pick: 1 },
      { kind: 'definition', target: 77, how: 'bad-sql', pick: 2 },
      { kind: 'dependency', target: 30, how: 'cycle', pick: 3 },
      { kind: 'dependency', target: 90, how: 'missing', pick: 0 },
    ];
    await runScenario({ graph, backup: { kind: 'stale', after: 250, removedAfter: [10] }, damage, policy: 'validate', restart: 'clean' });
  }, 240_000);
});
