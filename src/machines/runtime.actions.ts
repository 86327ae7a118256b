/**
 * The restore machine's named actions and guards, implemented. Two kinds:
 * - pure computations (used in `assign` / `enqueueActions`): they only read
 *   context and event, so graph traversal of the machine can run them;
 * - effects (plain actions): spawning, stopping, registry changes. XState runs
 *   these only in a live actor, never while computing a transition.
 */
import type { EventObject } from 'xstate';
import { consumerSystemId, materializerSystemId } from '../actors/actor-directory.ts';
import type { CommitRestoreOutput } from '../actors/commit-restore.actor.ts';
import type { ApplyTransactionsInput, ApplyTransactionsOutput } from '../actors/apply-transactions.actor.ts';
import type { CreateShapeInput, CreateShapeOutput } from '../actors/create-shape.actor.ts';
import { spawnMaterializerFor, spawnShapes } from '../actors/spawn-shapes.ts';
import type { Removal } from '../graph/removal.ts';
import { planRestore as planRestoreGraph, type RestorePlan } from '../graph/restore-plan.ts';
import { toPlanNode, type ShapeRecord } from '../registry/shape-record.ts';
import type { BackupLoad } from '../restore/load-shapes.ts';
import type { LoadResult } from '../restore/load-result.ts';
import { ShapeDefinitionError } from '../shapes/errors.ts';
import { StorageError, type LogEntry, type StoredShape } from '../storage/storage.ts';
import { damagedTableProblems, damagedTables } from '../restore/table-damage.ts';
import type {
  BatchOutcome,
  RequestError,
  RestorePhase,
  RestoreReport,
  RuntimeContext,
  RuntimeEmitted,
  RuntimeEvent,
  RuntimeOutput,
  RemovalRequest,
  RuntimeRequest,
} from './runtime.types.ts';

/** What `enqueueActions` hands us, narrowed to what these implementations use. */
export interface Enqueue {
  assign(update: Partial<RuntimeContext>): void;
  raise(event: RuntimeEvent): void;
  emit(event: RuntimeEmitted): void;
}

export interface PhaseParam {
  readonly phase: RestorePhase;
}

// ---------------------------------------------------------------- event payloads

/** The output of an invoked actor, from its `xstate.done.actor.*` event. */
export function doneOutput<T>(event: EventObject): T {
  return (event as unknown as { output: T }).output;
}

export function errorText(event: EventObject): string {
  const error = (event as { error?: unknown }).error;
  return error instanceof Error ? error.message : String(error);
}

/** A request refused before anything was written: a bad definition, or a snapshot from a damaged table. */
export function isRequestRefused(event: EventObject): boolean {
  const error = (event as { error?: unknown }).error;
  return error instanceof ShapeDefinitionError || (error instanceof StorageError && error.code === 'damaged');
}

export function requestError(error: unknown): RequestError {
  if (error instanceof ShapeDefinitionError) return { code: error.code, message: error.message };
  if (error instanceof StorageError) return { code: `storage-${error.code}`, message: error.message };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}

// ---------------------------------------------------------------- restore: pure

export function enterPhase(context: RuntimeContext, phase: RestorePhase): Partial<RuntimeContext> {
  const now = performance.now();
  return { phases: [...closePhases(context.phases, now), { phase, startedAt: now, ms: null }] };
}

function closePhases(phases: RuntimeContext['phases'], now: number): RuntimeContext['phases'] {
  return phases.map((p) => (p.ms === null ? { ...p, ms: Math.round((now - p.startedAt) * 1000) / 1000 } : p));
}

export function enqueueRequest(context: RuntimeContext, event: RuntimeEvent): Partial<RuntimeContext> {
  return { queue: [...context.queue, event as RuntimeRequest] };
}

/** Why restore goes by scan: no backup, or the backup could not be used. */
export function noteFallback(_context: RuntimeContext, event: EventObject): Partial<RuntimeContext> {
  const output = doneOutput<boolean | BackupLoad>(event);
  if (typeof output === 'boolean') return { fallbackReason: 'no backup' };
  return { fallbackReason: output.usable ? null : output.reason };
}

export function storeLoad(event: EventObject): Partial<RuntimeContext> {
  const output = doneOutput<LoadResult | BackupLoad>(event);
  if ('usable' in output) return output.usable ? { load: output.result } : {};
  return { load: output };
}

/** `validatingDependencies`: plan, then a CASCADE.STOP per removal (causes first), then CASCADE.SENT. */
export function planRestore(context: RuntimeContext, enqueue: Enqueue): void {
  const load = context.load;
  const plan = load
    ? planRestoreGraph(load.records.map(toPlanNode), { policy: context.policy, removedWhileLoading: load.removedWhileLoading })
    : { keep: [], removals: [] };
  enqueue.assign({ plan });
  for (const removal of plan.removals) enqueue.raise({ type: 'CASCADE.STOP', removal });
  enqueue.raise({ type: 'CASCADE.SENT' });
}

export function announceRemoval(context: RuntimeContext, event: RuntimeEvent, phase: 'restore' | 'running', enqueue: Enqueue): void {
  if (event.type !== 'CASCADE.STOP') return;
  enqueue.emit({ type: 'CASCADE.STOPPED', phase, removal: event.removal });
  context.logger.info({ handle: event.removal.handle, reason: event.removal.reason, cause: event.removal.cause, detail: event.removal.detail, phase }, 'shape removed');
}

/** Request ids of the transactions of an interrupted batch, applied again before anything else. */
export const REDO_PREFIX = 'redo:';

/** The backup after this restore: used (loaded), unusable (set aside, kept), or there was none. */
export function backupDisposition(context: RuntimeContext): 'used' | 'unusable' | null {
  if (context.load?.mode === 'backup') return 'used';
  return context.fallbackReason !== null && context.fallbackReason !== 'no backup' ? 'unusable' : null;
}

/** Kept shapes that some kept shape depends on: they get a materializer. */
export function materializerHandles(context: RuntimeContext): string[] {
  const plan = context.plan;
  if (!plan || !context.load) return [];
  const records = recordsByHandle(context.load);
  const needed = new Set<string>();
  for (const handle of plan.keep) for (const dep of records.get(handle)!.stored.dependencyHandles) needed.add(dep);
  return plan.keep.filter((h) => needed.has(h));
}

export function storeCommit(context: RuntimeContext, event: EventObject): Partial<RuntimeContext> {
  const output = doneOutput<CommitRestoreOutput>(event);
  const load = context.load!;
  const redo: RuntimeRequest[] = output.redo.map((transaction, i) => ({ type: 'TRANSACTION.RECEIVED', requestId: `${REDO_PREFIX}${i}`, transaction }));
  return {
    materializerLogs: output.materializerLogs,
    rows: output.rows,
    load: { ...load, problems: [...load.problems, ...output.problems] },
    queue: [...redo, ...context.queue],
  };
}

/** The actors a plan starts, in order: each shape's consumer, then its materializer when it has dependents. */
export function plannedSpawnOrder(context: RuntimeContext): string[] {
  if (!context.plan) return [];
  const withMaterializer = new Set(materializerHandles(context));
  const order: string[] = [];
  for (const handle of context.plan.keep) {
    order.push(consumerSystemId(handle));
    if (withMaterializer.has(handle)) order.push(materializerSystemId(handle));
  }
  return order;
}

export function buildReport(context: RuntimeContext): RestoreReport {
  const load = context.load;
  const damaged = context.rows && load && context.plan ? damagedTables(context.rows.damage, keptShapes(load, context.plan.keep)) : [];
  return {
    mode: load?.mode ?? 'storage',
    policy: context.policy,
    dryRun: context.dryRun,
    fallbackReason: load?.fallbackReason ?? context.fallbackReason,
    loaded: context.plan?.keep ?? [],
    removed: context.plan?.removals ?? [],
    problems: [...(load?.problems ?? []), ...damagedTableProblems(damaged)],
    spawnOrder: plannedSpawnOrder(context),
    phases: closePhases(context.phases, performance.now()),
    tables: load?.tables ?? {},
    damagedTables: damaged,
  };
}

/** The stored shapes a plan keeps. */
export function keptShapes(load: LoadResult, keep: readonly string[]): StoredShape[] {
  const records = recordsByHandle(load);
  return keep.map((h) => records.get(h)!.stored);
}

export function completeRestore(context: RuntimeContext, enqueue: Enqueue): void {
  const report = buildReport(context);
  enqueue.assign({ report, phases: report.phases, spawnOrder: report.spawnOrder, materializerLogs: new Map() });
  enqueue.emit({ type: 'RESTORE.COMPLETED', report });
  context.logger.info(
    { mode: report.mode, fallbackReason: report.fallbackReason, loaded: report.loaded.length, removed: report.removed.length },
    'restore completed',
  );
}

export function output(context: RuntimeContext): RuntimeOutput {
  const report = context.report ?? (context.plan ? buildReport(context) : null);
  if (context.failure !== null) return { status: 'failed', error: context.failure, report };
  if (context.dryRun && report) return { status: 'planned', report };
  return { status: 'stopped', report };
}

function recordsByHandle(load: LoadResult): Map<string, ShapeRecord> {
  return new Map(load.records.map((r) => [r.stored.handle, r]));
}

// ---------------------------------------------------------------- restore: effects

/** `spawning`: registers the survivors and starts their actors, dependencies first. */
export function spawnActors(context: RuntimeContext): void {
  const { plan, load } = context;
  if (!plan || !load) return;
  const rows = context.rows!;
  const records = recordsByHandle(load);
  const ordered = plan.keep.map((h) => records.get(h)!);
  for (const record of ordered) context.registry.add(record);
  spawnShapes(context.directory, ordered, {
    keyColumnsOf: (table) => rows.keyColumnsOf(table),
    lastXid: rows.position,
    materializerLogs: context.materializerLogs,
    onSpawned: (done, total) => context.onProgress?.({ phase: 'spawning', done, total }),
  });
  context.registry.usage.reset([...plan.keep].reverse());
}

// ---------------------------------------------------------------- running: requests

const REMOVAL_TYPES: ReadonlySet<RuntimeRequest['type']> = new Set(['SHAPE.REMOVE_REQUESTED', 'SHAPE.FAILED', 'SHAPE.EXPIRED']);

function headRemoval(context: RuntimeContext): RemovalRequest | undefined {
  const next = context.queue[0];
  return next && REMOVAL_TYPES.has(next.type) ? (next as RemovalRequest) : undefined;
}

/** The head of the queue removes a shape that is (`running`) or is not (`!running`) registered. */
export function nextIsRemovalOf(context: RuntimeContext, running: boolean): boolean {
  const next = headRemoval(context);
  return next !== undefined && context.registry.has(next.handle) === running;
}

function headRequest<T extends RuntimeRequest['type']>(context: RuntimeContext, type: T): Extract<RuntimeRequest, { type: T }> {
  const next = context.queue[0];
  if (next?.type !== type) throw new Error(`expected ${type} at the head of the queue, found ${next?.type ?? 'nothing'}`);
  return next as Extract<RuntimeRequest, { type: T }>;
}

export function createShapeInput(context: RuntimeContext): CreateShapeInput {
  const rows = context.rows!;
  return {
    storage: context.storage,
    registry: context.registry,
    rows,
    position: rows.position,
    keyColumnsOf: (table) => rows.keyColumnsOf(table),
    definition: headRequest(context, 'SHAPE.ADD_REQUESTED').definition,
    linkValuesOf: (handle) => context.directory.linkValues(handle),
  };
}

/** Effect: registers and spawns what `createShape` wrote (materializers of existing dependencies first). */
export function registerAddedShapes(context: RuntimeContext, event: EventObject): void {
  const { plan, materializerLogs, snapshots } = doneOutput<CreateShapeOutput>(event);
  const rows = context.rows!;
  for (const [handle, log] of materializerLogs) spawnMaterializerFor(context.directory, context.registry.get(handle)!, log);
  const createdHandles = new Set(plan.created.map((r) => r.stored.handle));
  const newDependencyLogs = new Map<string, readonly LogEntry[]>();
  for (const record of plan.created) {
    for (const dep of record.stored.dependencyHandles) if (createdHandles.has(dep)) newDependencyLogs.set(dep, snapshots.get(dep) ?? []);
  }
  for (const record of plan.created) context.registry.add(record);
  spawnShapes(context.directory, plan.created, { keyColumnsOf: (table) => rows.keyColumnsOf(table), lastXid: rows.position, materializerLogs: newDependencyLogs });
  if (plan.nowRequested) context.registry.update(plan.nowRequested);
  context.registry.usage.touch(plan.handle);
  for (const record of plan.created) {
    context.logger.info({ handle: record.stored.handle, table: record.shape.definition.table, rows: snapshots.get(record.stored.handle)?.length ?? 0 }, 'shape added');
  }
}

export function shapeAdded(context: RuntimeContext, event: EventObject): RuntimeEmitted {
  const { plan } = doneOutput<CreateShapeOutput>(event);
  return {
    type: 'SHAPE.ADDED',
    requestId: headRequest(context, 'SHAPE.ADD_REQUESTED').requestId,
    handle: plan.handle,
    dependencyHandles: plan.dependencyHandles,
    created: plan.created.map((r) => r.stored.handle),
  };
}

/** Expiry: past `maxShapes`, queue the least recently used shapes for eviction, ahead of other requests. */
export function evictOverLimit(context: RuntimeContext): Partial<RuntimeContext> {
  if (context.maxShapes === null || context.registry.size <= context.maxShapes) return {};
  const victims = context.registry.usage.evictionCandidates(context.registry.size - context.maxShapes);
  const evictions: RuntimeRequest[] = victims.map((handle) => ({ type: 'SHAPE.EXPIRED', requestId: `expiry:${handle}`, handle }));
  return { queue: [...evictions, ...context.queue] };
}

export function rejectRequest(context: RuntimeContext, event: EventObject, enqueue: Enqueue): void {
  const request = context.queue[0];
  if (!request) return;
  const error = requestError((event as { error?: unknown }).error);
  enqueue.emit({ type: 'REQUEST.FAILED', requestId: request.requestId, error });
  // A refused request is the caller's answer, not a problem of the runtime's.
  context.logger.info({ requestId: request.requestId, request: request.type, code: error.code }, error.message);
}

/** A removal of a shape that is not running: a caller's is refused; an internal one is moot (a cascade took it already). */
export function dropStaleRemoval(context: RuntimeContext, enqueue: Enqueue): void {
  const request = headRemoval(context);
  if (request?.type !== 'SHAPE.REMOVE_REQUESTED') return;
  enqueue.emit({ type: 'REQUEST.FAILED', requestId: request.requestId, error: { code: 'unknown-shape', message: `no running shape has handle ${request.handle}` } });
}

/** `removing`: the whole closure at once, one CASCADE.STOP per shape, dependents before what they depend on. */
export function beginRemoval(context: RuntimeContext, enqueue: Enqueue): void {
  const request = headRemoval(context);
  if (!request) return;
  const removals =
    request.type === 'SHAPE.FAILED'
      ? context.registry.graph.removalClosure(request.handle, request.reason, null, request.detail)
      : context.registry.graph.removalClosure(request.handle, request.type === 'SHAPE.EXPIRED' ? 'evicted' : 'removed');
  enqueue.assign({ removing: removals, removingRequestId: request.requestId });
  for (let i = removals.length - 1; i >= 0; i--) enqueue.raise({ type: 'CASCADE.STOP', removal: removals[i]! });
  enqueue.raise({ type: 'CASCADE.SENT' });
}

/** Effect: stops a removed shape's actors and forgets it; a dependency left without dependents keeps running, minus its materializer. */
export function stopRemovedShape(context: RuntimeContext, event: RuntimeEvent): void {
  if (event.type !== 'CASCADE.STOP') return;
  const { handle } = event.removal;
  const dependencies = context.registry.graph.dependenciesOf(handle);
  context.directory.stop(handle);
  context.registry.delete(handle);
  for (const dep of dependencies) {
    if (context.registry.has(dep) && context.registry.graph.dependentsOf(dep).size === 0) context.directory.stopMaterializer(dep);
  }
}

export function removalDone(context: RuntimeContext): RuntimeEmitted {
  return { type: 'SHAPE.REMOVED', requestId: context.removingRequestId, removals: context.removing };
}

/** Effect + reply: a client used a shape (and so its dependencies). */
export function recordUse(context: RuntimeContext, enqueue: Enqueue): void {
  const request = headRequest(context, 'SHAPE.USED');
  if (context.registry.has(request.handle)) {
    enqueue.emit({ type: 'SHAPE.USE_RECORDED', requestId: request.requestId, handle: request.handle });
  } else {
    enqueue.emit({ type: 'REQUEST.FAILED', requestId: request.requestId, error: { code: 'unknown-shape', message: `no running shape has handle ${request.handle}` } });
  }
}

export function touchUsedShape(context: RuntimeContext): void {
  const request = headRequest(context, 'SHAPE.USED');
  if (context.registry.has(request.handle)) context.registry.usage.touch(request.handle);
}

// ---------------------------------------------------------------- running: transactions

type TransactionsRequest = Extract<RuntimeRequest, { type: 'TRANSACTION.RECEIVED' | 'TRANSACTIONS.RECEIVED' }>;

export function isTransactionRequest(request: RuntimeRequest | undefined): request is TransactionsRequest {
  return request?.type === 'TRANSACTION.RECEIVED' || request?.type === 'TRANSACTIONS.RECEIVED';
}

/** The transaction requests at the head of the queue, up to MAX_BATCH transactions (a typed request whole): applied together (one durable write per shape). */
function transactionBatch(context: RuntimeContext): TransactionsRequest[] {
  const batch: TransactionsRequest[] = [];
  let transactions = 0;
  for (const request of context.queue) {
    if (!isTransactionRequest(request) || (batch.length > 0 && transactions >= MAX_BATCH)) break;
    batch.push(request);
    transactions += request.type === 'TRANSACTIONS.RECEIVED' ? request.transactions.length : 1;
  }
  return batch;
}

const MAX_BATCH = 256;

export function applyTransactionsInput(context: RuntimeContext): ApplyTransactionsInput {
  return {
    storage: context.storage,
    registry: context.registry,
    actors: context.directory,
    rows: context.rows!,
    moveInSource: context.moveInSource ?? context.rows!,
    requests: transactionBatch(context),
  };
}

/** Replies to each transaction, takes the batch off the queue, and queues the removal of shapes that failed, first. */
export function finishTransactions(context: RuntimeContext, event: EventObject, enqueue: Enqueue): void {
  const output = doneOutput<ApplyTransactionsOutput>(event);
  // Readers first (the logs grew), then each transaction's caller.
  enqueue.emit({ type: 'BATCH.COMMITTED', position: output.position, appended: output.appended });
  const typed = new Map<string, BatchOutcome[]>();
  for (const request of context.queue.slice(0, output.requests)) if (request.type === 'TRANSACTIONS.RECEIVED') typed.set(request.requestId, []);
  for (const outcome of output.outcomes) {
    const batch = typed.get(outcome.requestId);
    if (batch) batch.push(outcome.status === 'rejected' ? { xid: outcome.xid ?? 0, status: 'rejected', reason: outcome.error.message } : { xid: outcome.xid, status: outcome.status });
    else if (outcome.status === 'rejected') {
      enqueue.emit({ type: 'REQUEST.FAILED', requestId: outcome.requestId, error: { code: 'invalid-transaction', message: outcome.error.message } });
    } else {
      enqueue.emit({ type: 'TRANSACTION.APPLIED', requestId: outcome.requestId, xid: outcome.xid, status: outcome.status });
    }
  }
  for (const [requestId, outcomes] of typed) enqueue.emit({ type: 'TRANSACTIONS.APPLIED', requestId, outcomes });
  const failures: RuntimeRequest[] = output.failures.map((f) => ({
    type: 'SHAPE.FAILED',
    requestId: `failure:${f.handle}`,
    handle: f.handle,
    reason: f.reason,
    detail: f.detail,
  }));
  for (const f of output.failures) context.logger.warn({ handle: f.handle, reason: f.reason, detail: f.detail }, 'shape failed: removing it');
  enqueue.assign({ queue: [...failures, ...context.queue.slice(output.requests)] });
}

export function checkpointWritten(context: RuntimeContext, event: EventObject): RuntimeEmitted {
  return { type: 'CHECKPOINT.WRITTEN', requestId: headRequest(context, 'CHECKPOINT.REQUESTED').requestId, shapes: doneOutput<number>(event) };
}

// ---------------------------------------------------------------- supervision, shutdown

export function noteActorFailure(context: RuntimeContext, event: RuntimeEvent, enqueue: Enqueue): void {
  const actorId = (event as { actorId?: string }).actorId ?? event.type.slice('xstate.error.actor.'.length);
  const message = errorText(event);
  enqueue.emit({ type: 'ACTOR.FAILED', actorId, message });
  context.logger.warn({ actorId, err: message }, 'actor failed');
}

/** Effect: every actor, dependents before their dependencies. */
export function stopAllActors(context: RuntimeContext): void {
  context.directory.stopAll(context.registry.graph.topologicalOrder().reverse());
}

export function runtimeStopped(context: RuntimeContext): RuntimeEmitted {
  const next = context.queue[0];
  return { type: 'RUNTIME.STOPPED', requestId: next?.type === 'SHUTDOWN.REQUESTED' ? next.requestId : null, shapes: context.registry.size };
}

export function rejectQueued(context: RuntimeContext, code: string, enqueue: Enqueue): void {
  for (const request of context.queue) {
    enqueue.emit({ type: 'REQUEST.FAILED', requestId: request.requestId, error: { code, message: `the runtime is no longer running (${code})` } });
  }
  enqueue.assign({ queue: [] });
}

export type { Removal, RestorePlan };
