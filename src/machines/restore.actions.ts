/**
 * The restore states' named actions, implemented: from the load to `running`. Pure
 * computations (used in `assign` / `enqueueActions`: they only read context and what the invoked
 * actors answered, as typed params, so graph traversal of the machine can run them) and the
 * effects of the commit and of registering the survivors.
 */
import type { CommitRestoreOutput } from '../actors/commit-restore.actor.ts';
import { consumerSystemId, materializerSystemId } from '../actors/shape-supervisor.ts';
import { planRestore as planRestoreGraph } from '../graph/restore-plan.ts';
import { metadataOf, toPlanNode } from '../registry/shape-record.ts';
import { applyLaterFindings } from '../restore/later-findings.ts';
import type { BackupLoad } from '../restore/load-shapes.ts';
import type { LoadResult } from '../restore/load-result.ts';
import type { ShapeMetadata } from '../storage/storage.ts';
import { damagedTableProblems, damagedTables } from '../restore/table-damage.ts';
import type { Enqueue, RestorePhase, RestoreReport, RuntimeContext, RuntimeEvent, RuntimeOutput, RuntimeRequest } from './runtime.types.ts';

export interface PhaseParam {
  readonly phase: RestorePhase;
}


export function enterPhase(context: RuntimeContext, phase: RestorePhase): Partial<RuntimeContext> {
  const now = performance.now();
  return { phases: [...closePhases(context.phases, now), { phase, startedAt: now, ms: null }] };
}

function closePhases(phases: RuntimeContext['phases'], now: number): RuntimeContext['phases'] {
  return phases.map((p) => (p.ms === null ? { ...p, ms: Math.round((now - p.startedAt) * 1000) / 1000 } : p));
}

export function enqueueRequest(context: RuntimeContext, event: RuntimeEvent): Partial<RuntimeContext> {
  return { queue: context.queue.push(event as RuntimeRequest) };
}

/** Why restore goes by scan: no backup (checkBackup answered false), or the backup could not be used. */
export function noteFallback(output: boolean | BackupLoad): Partial<RuntimeContext> {
  if (typeof output === 'boolean') return { fallbackReason: 'no backup' };
  return { fallbackReason: output.usable ? null : output.reason };
}

export function storeLoad(output: LoadResult | BackupLoad): Partial<RuntimeContext> {
  if ('usable' in output) return output.usable ? { load: output.result } : {};
  return { load: output };
}

/** `validatingDependencies`: plan, then a CASCADE.STOP per removal (causes first), then CASCADE.SENT. */
export function planRestore(context: RuntimeContext, enqueue: Enqueue): void {
  const load = context.load;
  const records = load?.records ?? [];
  const planned = planRestoreGraph(records.map(toPlanNode), load ? { policy: context.policy, removedWhileLoading: load.removedWhileLoading, keysUnique: !load.definitionsShared } : {});
  // A dry run read everything: it carries out on its plan what the check after restore will find.
  const plan = load && context.dryRun ? applyLaterFindings(planned, records, load.laterFindings) : planned;
  // The context keeps the plan's handles and removals, not its index array (a number per kept shape, needed only here).
  const kept = plan.keptNodes.map((i) => records[i]!);
  enqueue.assign({ plan: { keep: plan.keep, removals: plan.removals }, kept, dependedOn: new Set(plan.dependedOn) });
  for (const removal of plan.removals) enqueue.raise({ type: 'CASCADE.STOP', removal });
  enqueue.raise({ type: 'CASCADE.SENT' });
}

export function announceRemoval(event: RuntimeEvent, phase: 'restore' | 'running', enqueue: Enqueue): void {
  if (event.type !== 'CASCADE.STOP') return;
  enqueue.emit({ type: 'CASCADE.STOPPED', phase, removal: event.removal });
}

/** Request ids of the transactions of an interrupted batch, applied again before anything else. */
export const REDO_PREFIX = 'redo:';

/** The backup after this restore: used (loaded), unusable (set aside, kept), or there was none. */
export function backupDisposition(context: RuntimeContext): 'used' | 'unusable' | null {
  if (context.load?.mode === 'backup') return 'used';
  return context.fallbackReason !== null && context.fallbackReason !== 'no backup' ? 'unusable' : null;
}

/** The kept shapes' records, when the metadata log is to be rewritten as their exact index. */
export function metadataToRewrite(context: RuntimeContext): ShapeMetadata[] | null {
  if (!context.plan || !context.load?.rewriteMetadata) return null;
  return context.kept.map(metadataOf);
}

/** The commit's findings join the load's; a batch a crash interrupted is applied again before anything else. */
export function storeCommit(context: RuntimeContext, output: CommitRestoreOutput): Partial<RuntimeContext> {
  const load = context.load!;
  const redo: RuntimeRequest[] = output.redo.map((transaction, i) => ({ type: 'TRANSACTION.RECEIVED', requestId: `${REDO_PREFIX}${i}`, transaction }));
  return { load: { ...load, problems: [...load.problems, ...output.problems] }, queue: context.queue.pushFront(redo) };
}

/** Effect: the row store the commit opened joins the runtime's shapes. */
export function openRowStore(context: RuntimeContext, output: CommitRestoreOutput): void {
  context.shapes.openRows(output.rows);
}

/** The actors the kept shapes start when they wake, in order: each shape's consumer, then its materializer when it has dependents. */
export function plannedSpawnOrder(kept: readonly string[], withMaterializer: ReadonlySet<string>): string[] {
  const order: string[] = [];
  for (const handle of kept) {
    order.push(consumerSystemId(handle));
    if (withMaterializer.has(handle)) order.push(materializerSystemId(handle));
  }
  return order;
}

export function buildReport(context: RuntimeContext): RestoreReport {
  const load = context.load;
  const rows = context.shapes.rows;
  const damaged = rows && rows.damage.length > 0 ? damagedTables(rows.damage, context.kept.map((r) => r.stored)) : [];
  // The lazy fields hold the plan's handles (which are `loaded`) and the load, not the context:
  // the context's list of kept records is released once running (the registry holds them).
  const loaded = context.plan?.keep ?? [];
  const withMaterializer = context.dependedOn;
  return {
    mode: load?.mode ?? 'storage',
    policy: context.policy,
    dryRun: context.dryRun,
    fallbackReason: load?.fallbackReason ?? context.fallbackReason,
    loaded,
    removed: context.plan?.removals ?? [],
    problems: [...(load?.problems ?? []), ...damagedTableProblems(damaged)],
    // Derived lists of every kept shape, built the first time they are read (the CLI's report,
    // --json, the check after restore's summary), not on the way to running.
    get spawnOrder() {
      return settle(this, 'spawnOrder', plannedSpawnOrder(loaded, withMaterializer));
    },
    phases: closePhases(context.phases, performance.now()),
    get tables() {
      return settle(this, 'tables', tablesOf(load));
    },
    damagedTables: damaged,
  };
}

/** A lazily built field of the report becomes a plain one, its value, once read. */
function settle<T>(report: object, field: string, value: T): T {
  Object.defineProperty(report, field, { value, enumerable: true });
  return value;
}

/** handle -> table: the load's records' own (storage is the truth), beside those it knows of otherwise. */
function tablesOf(load: LoadResult | null): Record<string, string> {
  const tables: Record<string, string> = { ...load?.tables };
  for (const r of load?.records ?? []) tables[r.stored.handle] = r.shape.definition.table;
  return tables;
}

export function completeRestore(context: RuntimeContext, enqueue: Enqueue): void {
  const report = buildReport(context);
  enqueue.assign({ report, phases: report.phases });
  enqueue.emit({ type: 'RESTORE.COMPLETED', report });
}

export function output(context: RuntimeContext): RuntimeOutput {
  const report = context.report ?? (context.plan ? buildReport(context) : null);
  if (context.failure !== null) return { status: 'failed', error: context.failure.message, code: context.failure.code, report };
  if (context.dryRun && report) return { status: 'planned', report };
  return { status: 'stopped', report };
}

/**
 * Effect, `spawning`: registers the survivors, dependencies first, asleep: no actor starts at
 * restore. Each starts when it wakes (a change routed to it, a read), its dependencies first.
 */
export function registerRestored(context: RuntimeContext): void {
  const { kept, load } = context;
  if (!load) return;
  context.shapes.registerRestored(kept, new Set(load.checked));
  context.onProgress?.({ phase: 'spawning', done: kept.length, total: kept.length });
}
