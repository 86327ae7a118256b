/**
 * The running states' named actions, implemented: taking requests, waking and sleeping,
 * removals, transactions, checkpoints, supervision and shutdown. Pure computations (in `assign` /
 * `enqueueActions`: context, the event, and what invoked actors answered as typed params) and
 * effects (plain actions: the only writers of the runtime's shapes, run only in a live actor).
 */
import type { ActivationPlan } from '../actors/activation.ts';
import type { ApplyTransactionsInput, ApplyTransactionsOutput } from '../actors/apply-transactions.actor.ts';
import type { CreateShapeInput, CreateShapeOutput } from '../actors/create-shape.actor.ts';
import type { ResyncShapesInput, ResyncShapesOutput } from '../actors/resync-shapes.actor.ts';
import { isRefusal, requestError } from './event-payloads.ts';
import { RequestQueue } from './request-queue.ts';
import { storageCheckDue } from './storage-check.actions.ts';
import type { BatchOutcome, Enqueue, RemovalRequest, RuntimeContext, RuntimeEmitted, RuntimeEvent, RuntimeRequest, TransactionsRequest } from './runtime.types.ts';

// ---------------------------------------------------------------- taking requests

/**
 * Entering `running.idle`: what comes next, as an event idle takes like any other: the request
 * that waited longest, or (nothing waits) the next chunk of the check after restore.
 */
export function takeNext(context: RuntimeContext, enqueue: Enqueue): void {
  const next = context.queue.first;
  if (next) {
    enqueue.assign({ queue: context.queue.drop(1) });
    enqueue.raise(next);
  } else if (storageCheckDue(context)) {
    enqueue.raise({ type: 'STORAGE.CHECK_DUE' });
  }
}

export function takeRequest(event: RuntimeEvent): Partial<RuntimeContext> {
  return { current: event as RuntimeRequest };
}

export function isTransactionRequest(request: RuntimeEvent | undefined): request is TransactionsRequest {
  return request?.type === 'TRANSACTION.RECEIVED' || request?.type === 'TRANSACTIONS.RECEIVED';
}

const MAX_BATCH = 256;

/** A transaction request, and those queued right behind it, up to MAX_BATCH transactions (a typed request whole): one durable write per shape. */
export function takeTransactionBatch(context: RuntimeContext, event: RuntimeEvent): Partial<RuntimeContext> {
  if (!isTransactionRequest(event)) return {};
  const batch: TransactionsRequest[] = [event];
  let transactions = size(event);
  let taken = 0;
  for (const request of context.queue) {
    if (!isTransactionRequest(request) || transactions >= MAX_BATCH) break;
    batch.push(request);
    transactions += size(request);
    taken++;
  }
  return { batch, queue: context.queue.drop(taken) };
}

function size(request: TransactionsRequest): number {
  return request.type === 'TRANSACTIONS.RECEIVED' ? request.transactions.length : 1;
}

export const finishRequest = (): Partial<RuntimeContext> => ({ current: null });

/** A removal request names a registered shape (the guard of `removing`). */
export function removesRegisteredShape(context: RuntimeContext, event: RuntimeEvent): boolean {
  return (event.type === 'SHAPE.REMOVE_REQUESTED' || event.type === 'SHAPE.FAILED' || event.type === 'SHAPE.EXPIRED') && context.shapes.registry.has(event.handle);
}

/** A removal of a shape that is not registered: a caller's is refused; an internal one is moot (a cascade took it already). */
export function refuseStaleRemoval(event: RuntimeEvent, enqueue: Enqueue): void {
  if (event.type !== 'SHAPE.REMOVE_REQUESTED') return;
  enqueue.emit({ type: 'REQUEST.FAILED', requestId: event.requestId, error: { code: 'unknown-shape', message: `no running shape has handle ${event.handle}` } });
}

export function rejectRequest(context: RuntimeContext, error: unknown, enqueue: Enqueue): void {
  if (!context.current) return;
  enqueue.emit({ type: 'REQUEST.FAILED', requestId: context.current.requestId, error: requestError(error) });
}

/** Is the request's failure a refusal (a bad definition, a damaged table) rather than the runtime's? */
export const isRequestRefused = (error: unknown): boolean => isRefusal(error);

// ---------------------------------------------------------------- adding

function currentOf<T extends RuntimeRequest['type']>(context: RuntimeContext, type: T): Extract<RuntimeRequest, { type: T }> {
  const request = context.current;
  if (request?.type !== type) throw new Error(`expected ${type} under way, found ${request?.type ?? 'nothing'}`);
  return request as Extract<RuntimeRequest, { type: T }>;
}

export function createShapeInput(context: RuntimeContext): CreateShapeInput {
  return { storage: context.storage, shapes: context.shapes, rows: context.shapes.rows!, definition: currentOf(context, 'SHAPE.ADD_REQUESTED').definition };
}

/** Effect: what `createShape` wrote joins the runtime, awake: the existing shapes it needs first (woken), then the new ones. */
export function registerAddedShapes(context: RuntimeContext, output: CreateShapeOutput): void {
  const { shapes } = context;
  shapes.wake(output.dependencies);
  shapes.registerCreated(output.plan.created, output.plan.nowRequested);
  shapes.wake(output.created);
  shapes.touch(output.plan.handle);
}

export function shapeAdded(context: RuntimeContext, output: CreateShapeOutput): RuntimeEmitted {
  const { plan } = output;
  return {
    type: 'SHAPE.ADDED',
    requestId: currentOf(context, 'SHAPE.ADD_REQUESTED').requestId,
    handle: plan.handle,
    dependencyHandles: plan.dependencyHandles,
    created: plan.created.map((r) => r.stored.handle),
  };
}

/** Expiry: past `maxShapes`, queue the least recently used shapes for eviction, ahead of other requests. */
export function evictOverLimit(context: RuntimeContext): Partial<RuntimeContext> {
  const { registry } = context.shapes;
  if (context.maxShapes === null || registry.size <= context.maxShapes) return {};
  const victims = registry.usage.evictionCandidates(registry.size - context.maxShapes);
  const evictions: RuntimeRequest[] = victims.map((handle) => ({ type: 'SHAPE.EXPIRED', requestId: `expiry:${handle}`, handle }));
  return { queue: context.queue.pushFront(evictions) };
}

// ---------------------------------------------------------------- waking and sleeping

export function activationInput(context: RuntimeContext): { readonly shapes: RuntimeContext['shapes']; readonly handles: readonly string[] } {
  return { shapes: context.shapes, handles: [currentOf(context, 'SHAPE.USED').handle] };
}

/** Effect: a client used a shape: it wakes (as planned: dependencies first) and counts as used. */
export function wakeUsedShape(context: RuntimeContext, plan: ActivationPlan): void {
  context.shapes.wake(plan);
  context.shapes.touch(currentOf(context, 'SHAPE.USED').handle);
}

/** The answer to a use: recorded, or refused (unknown handle; damage found waking it, which is then removed first). */
export function answerUse(context: RuntimeContext, plan: ActivationPlan, enqueue: Enqueue): void {
  const request = currentOf(context, 'SHAPE.USED');
  if (plan.damaged.length > 0) {
    enqueue.assign({ queue: context.queue.pushFront(plan.damaged.map((d) => failureRequest(d.handle, d.removal!.reason, d.removal!.detail ?? ''))) });
    enqueue.emit({ type: 'REQUEST.FAILED', requestId: request.requestId, error: { code: 'shape-damaged', message: `shape ${request.handle} cannot be read: ${plan.damaged[0]!.removal!.detail}` } });
  } else if (context.shapes.registry.has(request.handle)) {
    enqueue.emit({ type: 'SHAPE.USE_RECORDED', requestId: request.requestId, handle: request.handle });
  } else {
    enqueue.emit({ type: 'REQUEST.FAILED', requestId: request.requestId, error: { code: 'unknown-shape', message: `no running shape has handle ${request.handle}` } });
  }
}

/** The awake shapes idle for the idle timeout, which may go back to sleep (dependents first). */
export function shapesToSleep(context: RuntimeContext): string[] {
  return context.shapes.idleToSleep(Date.now() - context.idleTimeoutMs);
}

function failureRequest(handle: string, reason: Extract<RuntimeRequest, { type: 'SHAPE.FAILED' }>['reason'], detail: string): RuntimeRequest {
  return { type: 'SHAPE.FAILED', requestId: `failure:${handle}`, handle, reason, detail };
}

// ---------------------------------------------------------------- removing

/** `removing`: the whole closure at once, one CASCADE.STOP per shape, dependents before what they depend on. */
export function beginRemoval(context: RuntimeContext, enqueue: Enqueue): void {
  const request = context.current as RemovalRequest | null;
  if (!request) return;
  const { graph } = context.shapes.registry;
  const removals =
    request.type === 'SHAPE.FAILED'
      ? graph.removalClosure(request.handle, request.reason, null, request.detail)
      : graph.removalClosure(request.handle, request.type === 'SHAPE.EXPIRED' ? 'evicted' : 'removed');
  enqueue.assign({ removing: removals, removingRequestId: request.requestId });
  for (let i = removals.length - 1; i >= 0; i--) enqueue.raise({ type: 'CASCADE.STOP', removal: removals[i]! });
  enqueue.raise({ type: 'CASCADE.SENT' });
}

/** Effect: one removal of the cascade carried out in memory (actors stopped, shape forgotten). */
export function forgetRemovedShape(context: RuntimeContext, event: RuntimeEvent): void {
  if (event.type === 'CASCADE.STOP') context.shapes.forget(event.removal.handle);
}

export function removalDone(context: RuntimeContext): RuntimeEmitted {
  return { type: 'SHAPE.REMOVED', requestId: context.removingRequestId, removals: context.removing };
}

// ---------------------------------------------------------------- transactions

export function applyTransactionsInput(context: RuntimeContext): ApplyTransactionsInput {
  const rows = context.shapes.rows!;
  return { storage: context.storage, shapes: context.shapes, rows, moveInSource: context.moveInSource ?? rows, requests: context.batch };
}

/** Replies to each transaction of the batch, and queues the removal of shapes that failed (or were found damaged waking), first. */
export function finishTransactions(context: RuntimeContext, output: ApplyTransactionsOutput, enqueue: Enqueue): void {
  // Readers first (the logs grew), then each transaction's caller.
  enqueue.emit({ type: 'BATCH.COMMITTED', position: output.position, appended: output.appended });
  if (output.woken.length > 0) enqueue.emit({ type: 'SHAPES.WOKEN', cause: 'change', started: output.woken });
  const typed = new Map<string, BatchOutcome[]>();
  for (const request of context.batch) if (request.type === 'TRANSACTIONS.RECEIVED') typed.set(request.requestId, []);
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
  enqueue.assign({ batch: [], queue: context.queue.pushFront(output.failures.map((f) => failureRequest(f.handle, f.reason, f.detail))) });
}

// ---------------------------------------------------------------- resyncing

export function resyncShapesInput(context: RuntimeContext): ResyncShapesInput {
  const request = currentOf(context, 'SHAPES.RESYNC_REQUESTED');
  return { storage: context.storage, shapes: context.shapes, rows: context.shapes.rows!, xid: request.xid, tables: request.tables };
}

/** The resynced logs are durable: readers first, then the caller; a materializer that failed takes its shape with it. */
export function finishResync(context: RuntimeContext, output: ResyncShapesOutput, enqueue: Enqueue): void {
  const request = currentOf(context, 'SHAPES.RESYNC_REQUESTED');
  if (output.appended.length > 0) enqueue.emit({ type: 'BATCH.COMMITTED', position: output.position, appended: output.appended });
  enqueue.emit({ type: 'SHAPES.RESYNCED', requestId: request.requestId, xid: request.xid, tables: request.tables, handles: output.handles, written: output.appended.length });
  enqueue.assign({ queue: context.queue.pushFront(output.failures.map((f) => failureRequest(f.handle, 'consumer-failed', f.detail))) });
}

// ---------------------------------------------------------------- checkpoint, supervision, shutdown

export function backupInput(context: RuntimeContext): { storage: RuntimeContext['storage']; shapes: ReturnType<RuntimeContext['shapes']['registry']['storedShapes']>; rows: RuntimeContext['shapes']['rows'] } {
  return { storage: context.storage, shapes: context.shapes.registry.storedShapes(), rows: context.shapes.rows };
}

export function checkpointWritten(context: RuntimeContext, shapes: number): RuntimeEmitted {
  return { type: 'CHECKPOINT.WRITTEN', requestId: currentOf(context, 'CHECKPOINT.REQUESTED').requestId, shapes };
}

export function noteActorFailure(event: RuntimeEvent, error: unknown, enqueue: Enqueue): void {
  const actorId = (event as { actorId?: string }).actorId ?? event.type.slice('xstate.error.actor.'.length);
  enqueue.emit({ type: 'ACTOR.FAILED', actorId, message: error instanceof Error ? error.message : String(error) });
}

export function runtimeStopped(context: RuntimeContext): RuntimeEmitted {
  const request = context.current;
  return { type: 'RUNTIME.STOPPED', requestId: request?.type === 'SHUTDOWN.REQUESTED' ? request.requestId : null, shapes: context.shapes.registry.size };
}

export function rejectQueued(context: RuntimeContext, code: string, enqueue: Enqueue): void {
  const waiting = [...(context.current ? [context.current] : []), ...context.batch, ...context.queue];
  for (const request of waiting) {
    enqueue.emit({ type: 'REQUEST.FAILED', requestId: request.requestId, error: { code, message: `the runtime is no longer running (${code})` } });
  }
  enqueue.assign({ queue: RequestQueue.empty(), batch: [], current: null });
}
