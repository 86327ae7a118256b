/**
 * After a crash: what must hold, given what was acknowledged.
 *
 * `CrashModel` is what the crash tests know for sure about a data dir: the
 * shapes whose add was acknowledged (or that a restore showed were created by
 * an unacknowledged add), the shapes ever removed, and the tables after every
 * transaction known applied. `checkAfterCrash` restores the data dir for real
 * (in-process, with an inspection recorder), then checks invariants 1-5 and
 * the acknowledgements against the model, and folds the outcome of the
 * requests that were in flight at the crash into it: each is either wholly
 * there or wholly absent after restore (a batch: applied exactly once or not
 * at all), never half.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInspectionRecorder } from '../../src/inspection/inspection-recorder.ts';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { normalizeShape, type NormalizedShape } from '../../src/shapes/definition.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import type { Row } from '../../src/shapes/where/evaluate.ts';
import type { LogEntry } from '../../src/storage/storage.ts';
import type { RestoreReport } from '../../src/machines/runtime.types.ts';
import { FileStorage } from '../../src/storage/file-store.ts';
import { TableStore } from '../../src/storage/rows/table-store.ts';
import { checkSpawnOrder } from './restore-invariants.ts';
import { applyToTables, type WorkloadTransaction } from './crash-workload.ts';
import { expectedRows, replay } from './data-path-oracle.ts';
import type { AckLine } from '../../scripts/crash-driver.ts';

export interface CrashModel {
  /** Shapes known to exist -> their dependency handles. */
  readonly live: Map<string, readonly string[]>;
  /** Every handle ever removed (acknowledged, or gone after a restore): none may come back. */
  readonly removedEver: Set<string>;
  /** Tables after every transaction known applied. */
  readonly tables: Map<string, Map<string, Row>>;
  /** Highest xid known applied. */
  position: number;
}

export function emptyModel(): CrashModel {
  return { live: new Map(), removedEver: new Set(), tables: new Map(), position: 0 };
}

export class CrashViolation extends Error {
  override readonly name = 'CrashViolation';
}

/** What one run of the driver acknowledged, and what it left in flight. */
export interface LifeOutcome {
  readonly restored: { readonly position: number; readonly loaded: readonly string[] } | null;
  readonly ackedAdds: { readonly handle: string; readonly created: readonly string[]; readonly createdDeps: Readonly<Record<string, readonly string[]>> }[];
  readonly ackedRemovals: string[][];
  readonly ackedTxs: WorkloadTransaction[];
  readonly skipped: number[];
  /** Requests begun but not acknowledged (refused ones included: the runtime may have failed mid-way). */
  readonly inFlightAdds: unknown[];
  readonly inFlightRemovals: string[];
  readonly inFlightTxs: WorkloadTransaction[];
  readonly done: boolean;
}

export function parseAcks(text: string): LifeOutcome {
  const begun = new Map<number, Extract<AckLine, { t: 'begin' }>>();
  const out: LifeOutcome = { restored: null, ackedAdds: [], ackedRemovals: [], ackedTxs: [], skipped: [], inFlightAdds: [], inFlightRemovals: [], inFlightTxs: [], done: false };
  let done = false;
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    let line: AckLine;
    try {
      line = JSON.parse(raw) as AckLine;
    } catch {
      continue; // the side file's own torn last line (killed mid-write): that request was not acknowledged
    }
    if (line.t === 'restored') (out as { restored: LifeOutcome['restored'] }).restored = { position: line.position, loaded: line.loaded };
    else if (line.t === 'done') done = true;
    else if (line.t === 'begin') begun.set(line.seq, line);
    else if (line.t === 'refused') continue; // stays in flight: ambiguous
    else {
      const b = begun.get(line.seq);
      begun.delete(line.seq);
      if (line.op === 'add') out.ackedAdds.push({ handle: line.handle, created: line.created, createdDeps: line.createdDeps });
      else if (line.op === 'remove') out.ackedRemovals.push([...line.removed]);
      else if (line.op === 'apply' && b?.op === 'apply') {
        if (line.status === 'applied') out.ackedTxs.push(b.tx as WorkloadTransaction);
        else out.skipped.push(line.xid);
      }
    }
  }
  for (const b of begun.values()) {
    if (b.op === 'add') out.inFlightAdds.push(b.definition);
    else if (b.op === 'remove') out.inFlightRemovals.push(b.handle);
    else if (b.op === 'apply') out.inFlightTxs.push(b.tx as WorkloadTransaction);
  }
  return { ...out, done };
}

/** Definition keys of a definition and every dependency definition nested in it. */
function closureKeys(definition: unknown): Set<string> {
  const keys = new Set<string>();
  const walk = (shape: NormalizedShape): void => {
    keys.add(shape.key);
    for (const dep of shape.dependencies) walk(normalizeShape(dep));
  };
  walk(normalizeShape(definition));
  return keys;
}

const canonical = (row: Row): string => JSON.stringify(Object.keys(row).sort().map((k) => [k, row[k] ?? null]));

/** A log holds each applied transaction's entries once, in xid order, and replays to what the tables imply. */
export function logProblems(handle: string, entries: readonly LogEntry[], shape: NormalizedShape, tables: Map<string, Map<string, Row>>): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  let last = 0;
  for (const e of entries) {
    if (e.xid < last) problems.push(`${handle}: log goes back from xid ${last} to ${e.xid} (a batch written twice?)`);
    last = Math.max(last, e.xid);
    const id = JSON.stringify([e.xid, e.op, e.key, canonical(e.row)]);
    if (seen.has(id)) problems.push(`${handle}: entry ${id} appears twice (applied more than once)`);
    seen.add(id);
  }
  const got = replay(entries);
  const want = expectedRows(tables, shape);
  for (const [key, row] of want) {
    const g = got.get(key);
    if (!g) problems.push(`${handle}: row ${key} missing from the log replay (acknowledged data lost?)`);
    else if (canonical(g) !== canonical(row)) problems.push(`${handle}: row ${key} is ${canonical(g)}, tables say ${canonical(row)}`);
  }
  for (const key of got.keys()) if (!want.has(key)) problems.push(`${handle}: row ${key} in the log replay but not in the tables' evaluation`);
  return problems;
}

/** The row store of `dir`, read only, against the tables the model says. */
export async function rowStoreProblems(dir: string, tables: Map<string, Map<string, Row>>): Promise<string[]> {
  const store = await TableStore.open(new FileStorage(dir, null).tables, { readOnly: true });
  const problems = store.damage.map((d) => `row store: ${d.table} damaged (${JSON.stringify(d.lines)})`);
  for (const name of new Set([...tables.keys(), ...store.tables])) {
    const want = tables.get(name) ?? new Map<string, Row>();
    const got = new Map([...store.rows(name)].map((r) => [r.key, r.row] as const));
    for (const [key, row] of want) {
      const g = got.get(key);
      if (!g) problems.push(`row store: ${name} lost row ${key}`);
      else if (canonical(g) !== canonical(row)) problems.push(`row store: ${name} row ${key} is ${canonical(g)}, the transactions say ${canonical(row)}`);
    }
    if (got.size !== want.size) problems.push(`row store: ${name} holds ${got.size} rows, the transactions leave ${want.size}`);
  }
  return problems;
}

async function shapeDirNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(join(dir, 'shapes'))).filter((n) => /^\d+-\d+$/.test(n));
  } catch {
    return [];
  }
}

export interface CheckResult {
  readonly report: RestoreReport;
  readonly runtime: ShapeRuntime;
  readonly problems: string[];
}

/**
 * Restores `dir` (a copy of the crashed data dir), checks it against `model`
 * and `life`, folds the in-flight outcomes into `model`, and returns the
 * running runtime (the caller shuts it down or crashes it). Throws
 * CrashViolation listing every problem.
 */
export async function checkAfterCrash(dir: string, model: CrashModel, life: LifeOutcome, label: string): Promise<ShapeRuntime> {
  await loadSqlParser(); // (the oracle parses where clauses; restore no longer does)
  const problems: string[] = [];
  const recorder = createInspectionRecorder();
  let runtime: ShapeRuntime;
  try {
    runtime = await createShapeRuntime({ dataDir: dir, createDataDir: false, inspect: recorder.inspect });
  } catch (error) {
    throw new CrashViolation(`${label}: invariant 5: restore threw: ${error instanceof Error ? error.stack : String(error)}`);
  }
  const fail = (): never => {
    runtime.actor.stop();
    throw new CrashViolation(`${label}:\n  - ${problems.slice(0, 30).join('\n  - ')}`);
  };
  // The child's own restore (at its start) kept every acknowledged shape too.
  if (life.restored) {
    const loaded = new Set(life.restored.loaded);
    for (const h of model.live.keys()) if (!loaded.has(h)) problems.push(`the driver's restore lost ${h}, alive at its start`);
    for (const h of life.restored.loaded) if (model.removedEver.has(h)) problems.push(`the driver's restore brought back removed ${h}`);
    if (life.restored.position < model.position) problems.push(`the driver's restore is at position ${life.restored.position}, ${model.position} was applied`);
  }
  // A redo of an interrupted batch runs ahead of any request: after this, the position is final.
  await runtime.checkpoint();
  const position = runtime.position();
  const report = runtime.report;
  const shapes = runtime.list();
  const loaded = new Map(shapes.map((s) => [s.handle, s]));

  // Transactions: every acknowledged one applied; an in-flight one applied iff the position covers it.
  const acked = life.ackedTxs;
  for (const tx of acked) if (tx.xid > position) problems.push(`transaction ${tx.xid} was acknowledged but position is ${position}`);
  for (const xid of life.skipped) problems.push(`transaction ${xid} was sent once and reported skipped`);
  const maxBegun = Math.max(model.position, ...acked.map((t) => t.xid), ...life.inFlightTxs.map((t) => t.xid));
  if (position > maxBegun) problems.push(`position ${position} is beyond every transaction sent (${maxBegun})`);
  if (position < model.position) problems.push(`position went back from ${model.position} to ${position}`);
  const applied = [...acked, ...life.inFlightTxs.filter((t) => t.xid <= position)].sort((a, b) => a.xid - b.xid);
  for (const tx of applied) if (tx.xid > model.position) applyToTables(model.tables, tx);
  model.position = Math.max(model.position, position);

  // Shapes: acknowledged adds present, acknowledged removals absent (storage gone).
  for (const add of life.ackedAdds) for (const h of add.created) model.live.set(h, add.createdDeps[h] ?? []);
  for (const removal of life.ackedRemovals) {
    for (const h of removal) {
      model.live.delete(h);
      model.removedEver.add(h);
    }
  }
  // Shapes an in-flight removal may have taken: its target and everything depending on it.
  const mayGo = new Set<string>();
  for (const target of life.inFlightRemovals) {
    const queue = [target];
    while (queue.length > 0) {
      const h = queue.pop()!;
      if (mayGo.has(h)) continue;
      mayGo.add(h);
      for (const [d, deps] of model.live) if (deps.includes(h)) queue.push(d);
    }
  }
  for (const h of model.live.keys()) {
    if (!loaded.has(h) && !mayGo.has(h)) problems.push(`invariant 3: ${h} was acknowledged (or known alive) and is gone (${report.removed.find((r) => r.handle === h)?.reason ?? 'not reported'})`);
  }
  for (const h of model.removedEver) if (loaded.has(h)) problems.push(`invariant 4: removed ${h} is back`);
  const dirs = new Set(await shapeDirNames(dir));
  for (const h of model.removedEver) if (dirs.has(h)) problems.push(`invariant 4: removed ${h} still has storage`);
  for (const name of dirs) if (!loaded.has(name)) problems.push(`invariant 4: shapes/${name} exists but is not loaded`);
  // A shape nobody acknowledged must come from an in-flight add (its definition or a nested dependency's).
  const inFlightKeys = new Set<string>();
  for (const def of life.inFlightAdds) for (const k of closureKeys(def)) inFlightKeys.add(k);
  for (const s of shapes) {
    if (model.live.has(s.handle)) continue;
    if (!inFlightKeys.has(normalizeShape(s.definition).key)) problems.push(`${s.handle} (${s.definition.table} ${s.definition.where ?? ''}) appeared from no request`);
  }
  // No dependency handle dangles; spawn order from the inspection events (invariant 1).
  for (const s of shapes) for (const d of s.dependencyHandles) if (!loaded.has(d)) problems.push(`invariant 2: ${s.handle} depends on ${d}, which is not loaded`);
  try {
    checkSpawnOrder(recorder.events, new Set(loaded.keys()), (h) => loaded.get(h)?.dependencyHandles ?? []);
  } catch (error) {
    problems.push(String(error));
  }
  if (problems.length > 0) fail();

  // Logs: exactly the applied transactions' effect.
  for (const s of shapes) problems.push(...logProblems(s.handle, await runtime.readLog(s.handle), normalizeShape(s.definition), model.tables));
  if (problems.length > 0) fail();

  // The row store: exactly the rows the applied transactions leave (a compaction loses none, brings none back).
  problems.push(...(await rowStoreProblems(dir, model.tables)));
  if (problems.length > 0) fail();

  // Fold: the model is now what this restore shows.
  for (const h of [...model.live.keys()]) {
    if (!loaded.has(h)) {
      model.live.delete(h);
      model.removedEver.add(h);
    }
  }
  for (const s of shapes) model.live.set(s.handle, s.dependencyHandles);
  return runtime;
}
