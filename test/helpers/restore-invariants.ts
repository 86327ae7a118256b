/**
 * The spec's restore invariants (SPEC.md, 1-6), checked on one restore run
 * against the oracle (test/helpers/restore-oracle.ts), the data dir before
 * and after, and the actor system's own inspection events. Each check
 * collects violations and throws one Error listing them all, so a property
 * test (fast-check) or a plain test reports every broken invariant at once.
 */
import type { Removal } from '../../src/graph/removal.ts';
import type { RecordedInspectionEvent } from '../../src/inspection/inspection-recorder.ts';
import type { RestoreReport } from '../../src/machines/runtime.types.ts';
import type { Oracle } from './restore-oracle.ts';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

function fail(label: string, problems: readonly string[]): void {
  if (problems.length > 0) throw new InvariantViolation(`${label}:\n  - ${problems.slice(0, 25).join('\n  - ')}${problems.length > 25 ? `\n  (${problems.length - 25} more)` : ''}`);
}

export interface ActorCreation {
  readonly seq: number;
  readonly kind: 'shape' | 'materializer';
  readonly handle: string;
  readonly systemId: string;
}

/** Consumers and materializers, in the order the actor system created them (`@xstate.actor`). */
export function actorCreations(events: readonly RecordedInspectionEvent[]): ActorCreation[] {
  const out: ActorCreation[] = [];
  for (const e of events) {
    if (e.type !== '@xstate.actor' || e.systemId === null) continue;
    const m = /^(shape|materializer):(.+)$/.exec(e.systemId);
    if (m) out.push({ seq: e.seq, kind: m[1] as 'shape' | 'materializer', handle: m[2]!, systemId: e.systemId });
  }
  return out;
}

/** State values of the root actor (`@xstate.snapshot` events of the actor without parent), in order. */
export function rootStateValues(events: readonly RecordedInspectionEvent[]): unknown[] {
  const root = events.find((e) => e.type === '@xstate.actor' && e.parentSessionId === null)?.sessionId;
  return events.filter((e) => e.type === '@xstate.snapshot' && e.sessionId === root).map((e) => e.stateValue);
}

/**
 * Invariant 1, from the inspection events alone: every consumer `shape:<h>`
 * is created after the materializer of each of its dependencies, and no
 * actor is created for a shape outside `allowed`. Also: a materializer is
 * created after its own shape's consumer and only for a shape something
 * allowed depends on. `depsOf` gives a shape's dependency handles.
 */
export function checkSpawnOrder(
  events: readonly RecordedInspectionEvent[],
  allowed: ReadonlySet<string>,
  depsOf: (handle: string) => readonly string[],
  label = 'invariant 1 (spawn order)',
): ActorCreation[] {
  const problems: string[] = [];
  const creations = actorCreations(events);
  const firstSeq = new Map<string, number>();
  for (const c of creations) {
    if (!allowed.has(c.handle)) problems.push(`${c.systemId} was created but shape ${c.handle} must not run (removed or never valid)`);
    if (!firstSeq.has(c.systemId)) firstSeq.set(c.systemId, c.seq);
  }
  for (const c of creations) {
    if (c.kind === 'shape') {
      for (const dep of depsOf(c.handle)) {
        const m = firstSeq.get(`materializer:${dep}`);
        if (m === undefined || m > c.seq) problems.push(`${c.systemId} created (seq ${c.seq}) before materializer:${dep} of its dependency (${m === undefined ? 'never created' : `seq ${m}`})`);
      }
    } else {
      const own = firstSeq.get(`shape:${c.handle}`);
      if (own === undefined || own > c.seq) problems.push(`${c.systemId} created before its own consumer`);
    }
  }
  fail(label, problems);
  return creations;
}

/** Follows `cause` through `dependency-removed` links; returns the terminal removal or an error. */
function chainEnd(handle: string, removed: ReadonlyMap<string, Removal>): { end: Removal } | { error: string } {
  const seen = new Set<string>();
  let r = removed.get(handle)!;
  while (r.reason === 'dependency-removed') {
    if (seen.has(r.handle)) return { error: `cause chain of ${handle} loops through dependency-removed at ${r.handle}` };
    seen.add(r.handle);
    if (r.cause === null) return { error: `${r.handle} is dependency-removed without a cause` };
    const next = removed.get(r.cause);
    if (!next) return { error: `${r.handle} is dependency-removed because of ${r.cause}, which was not removed` };
    r = next;
  }
  return { end: r };
}

export interface RestoreCheckInput {
  readonly oracle: Oracle;
  /** What restore did, its storage check included. */
  readonly report: RestoreReport;
  /** The restore report alone (before the check after restore). */
  readonly restored?: RestoreReport;
  readonly events: readonly RecordedInspectionEvent[];
  /** Files of the data dir before restore (after damage) and after it. */
  readonly before: ReadonlyMap<string, Buffer>;
  readonly after: ReadonlyMap<string, Buffer>;
  /** Directory names under `shapes/` after restore. */
  readonly afterDirs: ReadonlySet<string>;
  /** Handles the backup named, when restore used it (they may lack storage: `no-storage`). */
  readonly backupHandles?: ReadonlySet<string>;
  readonly dryRun?: boolean;
  /** Every kept shape was woken once after restore (observeRestore): `events` hold their starts too. Otherwise they are restore's alone. */
  readonly woken?: boolean;
}

/**
 * Invariants 1-5 for one restore: spawn order (1), transitive removals with
 * reasons and causes (2), survivors == oracle with logs unchanged (3),
 * removed shapes' storage gone (4). (5) is the caller's: it got a report.
 * A dry run must change no file at all and spawn nothing.
 */
export function checkRestoreInvariants(input: RestoreCheckInput): void {
  const { oracle, report, before, after } = input;
  const survivors = new Set(report.loaded);
  const problems: string[] = [];

  // (3) nothing valid is lost, nothing invalid survives: survivors == oracle.
  if (survivors.size !== report.loaded.length) problems.push(`report.loaded lists a handle twice: ${report.loaded.join(', ')}`);
  for (const h of oracle.survivors) if (!survivors.has(h)) problems.push(`${h} should survive (intact, dependencies intact) but did not`);
  for (const h of survivors) if (!oracle.survivors.has(h)) problems.push(`${h} survived but should not (${describeStored(oracle, h)})`);
  fail('invariant 3 (survivors == oracle)', problems);

  const removed = new Map<string, Removal>();
  for (const r of report.removed) {
    if (removed.has(r.handle)) problems.push(`${r.handle} removed twice`);
    removed.set(r.handle, r);
    if (survivors.has(r.handle)) problems.push(`${r.handle} both removed (${r.reason}) and loaded`);
  }
  // Every stored shape (and every handle the backup named) is accounted for.
  for (const h of oracle.stored.keys()) if (!survivors.has(h) && !removed.has(h)) problems.push(`stored shape ${h} neither loaded nor removed`);
  for (const h of input.backupHandles ?? []) if (!survivors.has(h) && !removed.has(h)) problems.push(`backup names ${h}: neither loaded nor removed`);

  // (2) each removal says why, with a cause chain that ends at a shape that was itself bad.
  for (const r of removed.values()) {
    if (typeof r.reason !== 'string' || r.reason.length === 0) problems.push(`${r.handle} removed without a reason`);
    const s = oracle.stored.get(r.handle);
    // Reasons are judged on what restore sees: the metadata record of a shape whose file is damaged.
    const deps = s?.view.dependencyHandles ?? [];
    const node = s?.view.node ?? null;
    switch (r.reason) {
      case 'dependency-removed':
        if (r.cause === null || !deps.includes(r.cause)) problems.push(`${r.handle}: dependency-removed, but cause ${r.cause} is not one of its dependency handles`);
        break;
      case 'no-storage':
        if (oracle.stored.has(r.handle)) problems.push(`${r.handle}: no-storage, but its storage exists`);
        if (!input.backupHandles?.has(r.handle)) problems.push(`${r.handle}: no-storage, but the backup does not name it`);
        break;
      case 'corrupt-definition':
        if (!s || s.corrupt === null) problems.push(`${r.handle}: corrupt-definition, but its definition is intact`);
        break;
      case 'missing-dependency': {
        const want = node !== null ? oracle.requiredDeps(node).length : -1;
        const dangling = deps.some((d) => !oracle.stored.has(d) || oracle.stored.get(d)!.view.node === null);
        if (!s || node === null || (deps.length === want && !dangling)) problems.push(`${r.handle}: missing-dependency, but every dependency handle names an intact stored shape`);
        break;
      }
      case 'dependency-mismatch': {
        const want = node !== null ? oracle.requiredDeps(node) : [];
        const mismatch = deps.some((d, k) => oracle.stored.get(d)?.view.node != null && oracle.stored.get(d)!.view.node !== want[k]);
        if (!mismatch) problems.push(`${r.handle}: dependency-mismatch, but no dependency handle names a shape with another definition`);
        break;
      }
      case 'duplicate': {
        const rival = r.cause === null ? undefined : oracle.stored.get(r.cause);
        // The rival won the fixed rule at validation (the policy may drop it afterwards).
        const rivalValid = rival !== undefined && (survivors.has(rival.handle) || oracle.droppedByPolicy.has(rival.handle));
        if (!s || !rival || rival.view.node !== node || !rivalValid) problems.push(`${r.handle}: duplicate of ${r.cause}, which is not a valid shape with its definition`);
        else if (rival.createdAt > s.createdAt || (rival.createdAt === s.createdAt && rival.handle > s.handle)) problems.push(`${r.handle}: duplicate, but it is older than the kept ${rival.handle}`);
        break;
      }
      case 'cycle':
        if (!oracle.onCycle(r.handle)) problems.push(`${r.handle}: cycle, but it is on no dependency cycle`);
        break;
      case 'corrupt-log': {
        // (no damage here touches logs: a log that was fine must not be called corrupt)
        const log = input.before.get(`shapes/${r.handle}/log.jsonl`);
        const text = log?.toString('utf8');
        const wellFormed = text !== undefined && (text === '' || (text.endsWith('\n') && text.slice(0, -1).split('\n').every((line) => /^[0-9a-f]{8}\t\{.*\}$/.test(line))));
        if (wellFormed) problems.push(`${r.handle}: corrupt-log, but its log is well formed`);
        break;
      }
      case 'policy-drop-dependent':
        if (oracle.policy !== 'dropDependent' || deps.length === 0) problems.push(`${r.handle}: policy-drop-dependent under policy ${oracle.policy} with ${deps.length} dependencies`);
        break;
      case 'unused-dependency': {
        const by = r.cause === null ? undefined : oracle.stored.get(r.cause);
        if (oracle.policy !== 'dropDependent' || !by || !by.view.dependencyHandles.includes(r.handle)) problems.push(`${r.handle}: unused-dependency, cause ${r.cause} is not a dependent (policy ${oracle.policy})`);
        break;
      }
      default:
        problems.push(`${r.handle}: unexpected reason ${r.reason} at restore`);
    }
    const end = chainEnd(r.handle, removed);
    if ('error' in end) problems.push(end.error);
  }
  // Removal is transitive: a survivor's dependencies all survive.
  for (const h of survivors) {
    for (const d of oracle.stored.get(h)?.dependencyHandles ?? []) if (!survivors.has(d)) problems.push(`${h} survived, but its dependency ${d} did not`);
  }
  fail('invariant 2 (transitive removal, reasons, causes)', problems);

  // (3) survivors' storage is byte for byte what it was.
  for (const h of survivors) {
    for (const file of ['log.jsonl', 'definition.json']) {
      const path = `shapes/${h}/${file}`;
      const a = before.get(path);
      const b = after.get(path);
      if (!a || !b || !a.equals(b)) problems.push(`${path} changed (${a?.length ?? 'absent'} -> ${b?.length ?? 'absent'} bytes)`);
    }
  }
  fail('invariant 3 (survivors unchanged)', problems);

  if (input.dryRun) {
    for (const [path, bytes] of before) if (!after.get(path)?.equals(bytes)) problems.push(`dry run changed ${path}`);
    for (const path of after.keys()) if (!before.has(path)) problems.push(`dry run created ${path}`);
    if (actorCreations(input.events).length > 0) problems.push('dry run spawned actors');
    fail('dry run changes nothing', problems);
    return;
  }

  // (4) removed shapes' storage is gone; no shape dir appeared from nowhere.
  for (const h of removed.keys()) if (input.afterDirs.has(h)) problems.push(`${h} was removed but shapes/${h} still exists`);
  for (const h of oracle.stored.keys()) if (!survivors.has(h) && input.afterDirs.has(h)) problems.push(`${h} did not survive but its storage is still there`);
  for (const name of input.afterDirs) if (/^\d+-\d+$/.test(name) && !survivors.has(name)) problems.push(`shapes/${name} exists after restore but is no survivor`);
  fail('invariant 4 (removed storage gone)', problems);

  // (1) from the actor system's inspection events. Restore starts nothing; each kept shape starts
  // its actors when it wakes (observeRestore wakes each once), its dependencies' first, and a
  // shape whose files are damaged is removed when it wakes, before it starts.
  const depsOf = (h: string): readonly string[] => oracle.stored.get(h)?.view.dependencyHandles ?? [];
  const creations = checkSpawnOrder(input.events, survivors, depsOf);
  if (!input.woken) {
    if (creations.length > 0) problems.push(`restore itself created ${creations.length} actors (${creations[0]!.systemId} first): a kept shape starts only when it wakes`);
    // The order they will start in when all wake: each consumer after its dependencies' materializers.
    const planned = new Set<string>();
    for (const id of report.spawnOrder) {
      const [kind, h] = id.split(/:(.*)/s) as [string, string];
      if (kind === 'shape') for (const d of depsOf(h)) if (!planned.has(`materializer:${d}`)) problems.push(`report.spawnOrder starts ${id} before materializer:${d}`);
      planned.add(id);
    }
    fail('invariant 1 (actors)', problems);
    return;
  }
  const consumers = creations.filter((c) => c.kind === 'shape').map((c) => c.handle);
  const spawned = creations.map((c) => c.systemId);
  if (consumers.length !== survivors.size || new Set(consumers).size !== survivors.size) problems.push(`consumers created ${consumers.length}, survivors ${survivors.size}`);
  const needed = new Set<string>();
  for (const h of survivors) for (const d of depsOf(h)) needed.add(d);
  const materializers = new Set(creations.filter((c) => c.kind === 'materializer').map((c) => c.handle));
  for (const d of needed) if (!materializers.has(d)) problems.push(`no materializer for ${d}, a dependency of a survivor`);
  for (const d of materializers) if (!needed.has(d)) problems.push(`materializer for ${d}, which no survivor depends on`);
  if (spawned.join() !== report.spawnOrder.join()) problems.push(`report.spawnOrder differs from the inspected creation order:\n    ${spawned.join(' ')}\n    ${report.spawnOrder.join(' ')}`);
  fail('invariant 1 (actors)', problems);
}

function describeStored(oracle: Oracle, h: string): string {
  const s = oracle.stored.get(h);
  if (!s) return 'not stored';
  if (s.corrupt) return `definition ${s.corrupt}`;
  return `node ${s.node}, deps ${s.dependencyHandles.join(' ') || 'none'}`;
}
