/**
 * The check after restore, as the machine's actions: restore reads only the metadata log, so
 * once `running`, the kept shapes' own files are read a chunk at a time whenever no request
 * waits (`running.checkingStorage`). Damage becomes a SHAPE.FAILED with restore's reason, so it
 * is removed with its dependents like any failure; when every chunk is read and its removals
 * are done, STORAGE.CHECKED says what was found.
 */
import type { ShapeFileCheck } from '../restore/check-shape-files.ts';
import type { StoredShape } from '../storage/storage.ts';
import type { Enqueue, RestoreReport, RuntimeContext, RuntimeRequest, StorageCheckReport, StorageCheckState } from './runtime.types.ts';

/** Shapes read per step: small, so a request waits at most one step behind the check. */
export const STORAGE_CHECK_CHUNK = 64;
/** Request ids of the removals the check asks for. */
export const CHECK_PREFIX = 'check:';

export const NO_STORAGE_CHECK: StorageCheckState = { order: [], next: 0, checked: 0, removed: [], problems: [], startedAt: 0, completed: false };

const COMPLETED: RuntimeRequest = { type: 'STORAGE.CHECK_COMPLETED', requestId: `${CHECK_PREFIX}completed` };

/** Entering `running`: the kept shapes restore did not read, dependencies first. */
export function startStorageCheck(context: RuntimeContext): Partial<RuntimeContext> {
  const readAtRestore = new Set(context.load?.checked ?? []);
  const order = (context.plan?.keep ?? []).filter((h) => !readAtRestore.has(h));
  const storageCheck: StorageCheckState = { ...NO_STORAGE_CHECK, order, startedAt: performance.now() };
  return { storageCheck, queue: order.length === 0 ? [...context.queue, COMPLETED] : context.queue };
}

export function storageCheckDue(context: RuntimeContext): boolean {
  return context.queue.length === 0 && context.storageCheck.next < context.storageCheck.order.length;
}

/** The next chunk's shapes, as the registry has them (a shape removed meanwhile is skipped). */
export function nextCheckChunk(context: RuntimeContext): StoredShape[] {
  const { order, next } = context.storageCheck;
  const shapes: StoredShape[] = [];
  for (const handle of order.slice(next, next + STORAGE_CHECK_CHUNK)) {
    const record = context.registry.get(handle);
    if (record) shapes.push(record.stored);
  }
  return shapes;
}

/** A chunk was read: its damage is queued for removal (first), its repairs noted; after the last chunk, the summary follows them. */
export function recordCheckedChunk(context: RuntimeContext, findings: readonly ShapeFileCheck[], enqueue: Enqueue): void {
  const state = context.storageCheck;
  const next = Math.min(state.next + STORAGE_CHECK_CHUNK, state.order.length);
  const failures: RuntimeRequest[] = [];
  for (const f of findings) {
    if (!f.removal) continue;
    failures.push({ type: 'SHAPE.FAILED', requestId: `${CHECK_PREFIX}${f.handle}`, handle: f.handle, reason: f.removal.reason, detail: f.removal.detail ?? '' });
    context.logger.warn({ handle: f.handle, reason: f.removal.reason, detail: f.removal.detail }, 'shape storage damaged: removing it');
  }
  const problems = findings.flatMap((f) => (f.problem ? [f.problem] : []));
  const last = next >= state.order.length;
  enqueue.assign({
    storageCheck: { ...state, next, checked: state.checked + (next - state.next), problems: [...state.problems, ...problems] },
    queue: [...failures, ...(last ? [COMPLETED] : []), ...context.queue],
  });
}

/** A removal the check asked for is done: it counts in the summary. */
export function recordCheckRemoval(context: RuntimeContext): Partial<RuntimeContext> {
  if (!context.removingRequestId?.startsWith(CHECK_PREFIX)) return {};
  return { storageCheck: { ...context.storageCheck, removed: [...context.storageCheck.removed, ...context.removing] } };
}

export function completeStorageCheck(context: RuntimeContext, enqueue: Enqueue): void {
  const state = context.storageCheck;
  const report: StorageCheckReport = {
    checked: state.checked,
    removed: state.removed,
    problems: state.problems,
    spawnOrder: state.removed.length === 0 ? (context.report?.spawnOrder ?? []) : spawnOrderNow(context),
    durationMs: Math.round((performance.now() - state.startedAt) * 1000) / 1000,
  };
  enqueue.assign({ storageCheck: { ...state, completed: true } });
  enqueue.emit({ type: 'STORAGE.CHECKED', report });
  context.logger.info({ checked: report.checked, removed: report.removed.length, problems: report.problems.length, ms: report.durationMs }, 'storage checked');
}

/** The restore's spawn order, of the shapes still registered: a materializer only where a shape depends on it. */
function spawnOrderNow(context: RuntimeContext): string[] {
  const { registry } = context;
  return (context.report?.spawnOrder ?? []).filter((id) => {
    const handle = id.slice(id.indexOf(':') + 1);
    if (!registry.has(handle)) return false;
    return id.startsWith('shape:') || registry.graph.dependentsOf(handle).size > 0;
  });
}

/**
 * The restore report once the check after restore is done: its removals join the plan's, the
 * shapes they took leave `loaded` (and the spawn order), its findings join the problems. What
 * the dry run (and doctor), which read everything, predict.
 */
export function settledReport(report: RestoreReport, check: StorageCheckReport): RestoreReport {
  if (check.removed.length === 0 && check.problems.length === 0) return report;
  const gone = new Set(check.removed.map((r) => r.handle));
  return {
    ...report,
    loaded: report.loaded.filter((h) => !gone.has(h)),
    removed: [...report.removed, ...check.removed],
    problems: [...report.problems, ...check.problems],
    spawnOrder: check.spawnOrder,
  };
}
