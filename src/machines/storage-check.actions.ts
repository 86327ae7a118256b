/**
 * The check after restore, as the machine's actions: restore reads only the metadata log, so
 * once `running`, the kept shapes' own files are read a chunk at a time whenever no request
 * waits (`running.checkingStorage`). Damage becomes a SHAPE.FAILED with restore's reason, so it
 * is removed with its dependents like any failure; when every chunk is read and its removals
 * are done, STORAGE.CHECKED says what was found.
 */
import type { CheckedChunk, ChunkShape } from '../actors/check-storage.actor.ts';
import { columnNames } from '../shapes/definition.ts';
import type { Enqueue, RestoreReport, RuntimeContext, RuntimeRequest, StorageCheckReport, StorageCheckState } from './runtime.types.ts';

/** Shapes read per step: small, so a request waits at most one step behind the check. */
export const STORAGE_CHECK_CHUNK = 64;
/** Request ids of the removals the check asks for. */
export const CHECK_PREFIX = 'check:';

export const NO_STORAGE_CHECK: StorageCheckState = { order: [], next: 0, checked: 0, removed: [], problems: [], startedAt: 0, completed: false };

const NONE: ReadonlySet<string> = new Set();

const COMPLETED: RuntimeRequest = { type: 'STORAGE.CHECK_COMPLETED', requestId: `${CHECK_PREFIX}completed` };

/**
 * Entering `running`: the kept shapes restore did not read; first those others depend on (the
 * where-clause index routes their dependents by their values, which the check reads from their
 * logs), then the rest, each part dependencies first.
 */
export function startStorageCheck(context: RuntimeContext): Partial<RuntimeContext> {
  const order = checkOrder(context.plan?.keep ?? [], new Set(context.load?.checked ?? []), context.dependedOn);
  const storageCheck: StorageCheckState = { ...NO_STORAGE_CHECK, order, startedAt: performance.now() };
  // The last reader of the kept records' list: from here the registry holds them.
  return { storageCheck, queue: order.length === 0 ? context.queue.push(COMPLETED) : context.queue, kept: [], dependedOn: NONE };
}

/**
 * The kept shapes (`kept`, dependencies first) restore did not read, those others depend on
 * (`named`: a kept shape names them as a dependency) first: one pass over the kept shapes, each
 * probed once (two filters and a spread went over 100k handles three times). `kept` itself when
 * there is nothing to leave out or move.
 */
export function checkOrder(kept: readonly string[], readAtRestore: ReadonlySet<string>, named: ReadonlySet<string>): readonly string[] {
  if (readAtRestore.size === 0 && named.size === 0) return kept;
  const first: string[] = [];
  const rest: string[] = [];
  for (const handle of kept) {
    if (readAtRestore.has(handle)) continue;
    if (named.has(handle)) first.push(handle);
    else rest.push(handle);
  }
  return first.length === 0 ? rest : first.concat(rest);
}

export function storageCheckDue(context: RuntimeContext): boolean {
  return context.queue.length === 0 && context.storageCheck.next < context.storageCheck.order.length;
}

/**
 * The next chunk's shapes, as the registry has them: a shape removed meanwhile is skipped, and so
 * is one that woke (waking read its files). A shape others depend on comes with its link columns.
 */
export function nextCheckChunk(context: RuntimeContext): ChunkShape[] {
  const { order, next } = context.storageCheck;
  const { registry, unchecked } = context.shapes;
  const shapes: ChunkShape[] = [];
  for (const handle of order.slice(next, next + STORAGE_CHECK_CHUNK)) {
    const record = registry.get(handle);
    if (!record || !unchecked.has(handle)) continue;
    const linkColumns = registry.graph.dependentsOf(handle).size > 0 ? (columnNames(record.shape.definition) ?? []) : null;
    shapes.push({ stored: record.stored, linkColumns });
  }
  return shapes;
}

/** A chunk was read: its damage is queued for removal (first), its repairs noted; after the last chunk, the summary follows them. */
export function recordCheckedChunk(context: RuntimeContext, chunk: CheckedChunk, enqueue: Enqueue): void {
  const state = context.storageCheck;
  const next = Math.min(state.next + STORAGE_CHECK_CHUNK, state.order.length);
  const failures: RuntimeRequest[] = [];
  for (const f of chunk.findings) {
    if (!f.removal) continue;
    failures.push({ type: 'SHAPE.FAILED', requestId: `${CHECK_PREFIX}${f.handle}`, handle: f.handle, reason: f.removal.reason, detail: f.removal.detail ?? '' });
  }
  const problems = chunk.findings.flatMap((f) => (f.problem ? [f.problem] : []));
  const last = next >= state.order.length;
  enqueue.assign({
    storageCheck: { ...state, next, checked: state.checked + (next - state.next), problems: [...state.problems, ...problems] },
    queue: context.queue.pushFront(last ? [...failures, COMPLETED] : failures),
  });
}

/** A removal the check asked for is done: it counts in the summary. */
export function recordCheckRemoval(context: RuntimeContext): Partial<RuntimeContext> {
  if (!context.removingRequestId?.startsWith(CHECK_PREFIX)) return {};
  return { storageCheck: { ...context.storageCheck, removed: [...context.storageCheck.removed, ...context.removing] } };
}

export function completeStorageCheck(context: RuntimeContext, enqueue: Enqueue): void {
  const state = context.storageCheck;
  const spawnOrder = state.removed.length === 0 ? null : spawnOrderNow(context);
  const report: StorageCheckReport = {
    checked: state.checked,
    removed: state.removed,
    problems: state.problems,
    // Nothing removed: the restore's spawn order as it is, built only when someone reads it (it is a string per kept shape).
    get spawnOrder() {
      return spawnOrder ?? context.report?.spawnOrder ?? [];
    },
    durationMs: Math.round((performance.now() - state.startedAt) * 1000) / 1000,
  };
  enqueue.assign({ storageCheck: { ...state, completed: true } });
  enqueue.emit({ type: 'STORAGE.CHECKED', report });
}

/** Effect: the shapes read are checked (they wake without being read again); the sound dependencies' values go to the where-clause index. */
export function recordCheckedFiles(context: RuntimeContext, chunk: CheckedChunk): void {
  context.shapes.markChecked(chunk.read);
  for (const { handle, values } of chunk.links) context.shapes.seedLinks(handle, values);
}

/** The restore's spawn order, of the shapes still registered: a materializer only where a shape depends on it. */
function spawnOrderNow(context: RuntimeContext): string[] {
  const { registry } = context.shapes;
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
