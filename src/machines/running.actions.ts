/**
 * The running states' named actions, implemented: requests, removals, transactions,
 * checkpoints, supervision and shutdown. Pure computations (in `assign` / `enqueueActions`) and
 * effects (plain actions: registry and actor changes, run only in a live actor).
 */
import type { EventObject } from 'xstate';
import type { ApplyTransactionsInput, ApplyTransactionsOutput } from '../actors/apply-transactions.actor.ts';
import type { CreateShapeInput, CreateShapeOutput } from '../actors/create-shape.actor.ts';
import type { ResyncShapesInput, ResyncShapesOutput } from '../actors/resync-shapes.actor.ts';
import { spawnMaterializerFor, spawnShapes } from '../actors/spawn-shapes.ts';
import type { LogEntry } from '../storage/storage.ts';
import { doneOutput, errorText, requestError } from './event-payloads.ts';
import type { BatchOutcome, Enqueue, RemovalRequest, RuntimeContext, RuntimeEmitted, RuntimeEvent, RuntimeRequest } from './runtime.types.ts';

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
    columnTypesOf: (table) => rows.columnTypesOf(table),
    definition: headRequest(context, 'SHAPE.ADD_REQUESTED').definition,
    linkValuesOf: (handle) => context.directory.linkValues(handle),
  };
}

/** Effect: registers and spawns what `createShape` wrote (materializers of existing dependencies first). */
export function registerAddedShapes(context: RuntimeContext, event: EventObject): void {
  const { plan, materializerLogs, snapshots } = doneOutput<CreateShapeOutput>(event);
  const rows = context.rows!;
  for (const [handle, log] of materializerLogs) {
    const record = context.registry.get(handle)!;
    spawnMaterializerFor(context.directory, record, log, rows.columnTypesOf(record.shape.definition.table));
  }
  const createdHandles = new Set(plan.created.map((r) => r.stored.handle));
  const newDependencyLogs = new Map<string, readonly LogEntry[]>();
  for (const record of plan.created) {
    for (const dep of record.stored.dependencyHandles) if (createdHandles.has(dep)) newDependencyLogs.set(dep, snapshots.get(dep) ?? []);
  }
  for (const record of plan.created) context.registry.add(record);
  spawnShapes(context.directory, plan.created, {
    keyColumnsOf: (table) => rows.keyColumnsOf(table),
    columnTypesOf: (table) => rows.columnTypesOf(table),
    lastXid: rows.position,
    materializerLogs: newDependencyLogs,
  });
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
      enqueue.emit({ type: 'REQUEST.FAILED', requestId: outcome.requestId, error: { code: outcome.error.code, message: outcome.error.message } });
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

export function resyncShapesInput(context: RuntimeContext): ResyncShapesInput {
  const request = headRequest(context, 'SHAPES.RESYNC_REQUESTED');
  return { storage: context.storage, registry: context.registry, actors: context.directory, rows: context.rows!, xid: request.xid, tables: request.tables };
}

/** The resynced logs are durable: readers first, then the caller; a materializer that failed takes its shape with it. */
export function finishResync(context: RuntimeContext, event: EventObject, enqueue: Enqueue): void {
  const output = doneOutput<ResyncShapesOutput>(event);
  const request = headRequest(context, 'SHAPES.RESYNC_REQUESTED');
  if (output.appended.length > 0) enqueue.emit({ type: 'BATCH.COMMITTED', position: output.position, appended: output.appended });
  enqueue.emit({ type: 'SHAPES.RESYNCED', requestId: request.requestId, xid: request.xid, handles: output.handles });
  context.logger.info({ xid: request.xid, tables: request.tables, shapes: output.handles.length, written: output.appended.length }, 'shapes resynced');
  const failures: RuntimeRequest[] = output.failures.map((f) => ({ type: 'SHAPE.FAILED', requestId: `failure:${f.handle}`, handle: f.handle, reason: 'consumer-failed', detail: f.detail }));
  enqueue.assign({ queue: [...failures, ...context.queue.slice(1)] });
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
