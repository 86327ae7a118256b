/**
 * Deterministic crash states (issue 6, item 1, second half). The DurableFs
 * operations of (a) a persist (a shape with new nested dependencies: temp
 * dirs, files, renames), (b) a transaction batch (journal prepare, shape log
 * appends, row store, commit), (c) a cascade removal and (d) a checkpoint are
 * recorded; the data dir is rebuilt as a crash after EVERY prefix of them
 * would leave it (and, for each write, with that write half done), restored,
 * and checked:
 * - restore never throws; leftover temp / trash dirs are cleaned and named in
 *   the report, never loaded; no dependency handle dangles; spawn order holds;
 *   backup and scan agree;
 * - (f) the first restore of a data dir written before the metadata log
 *   existed (it writes the log): cut anywhere, the next restore migrates again;
 * - the operation is wholly absent or wholly present: the shapes, their
 *   dependency handles, every log and the position equal those before it or
 *   after it (a batch: redone exactly once). A persist may also leave the
 *   dependency shapes it had finished creating, each whole and valid (a
 *   dependency shape is a shape in its own right), never the outer shape
 *   without them.
 */
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createInspectionRecorder } from '../../src/inspection/inspection-recorder.ts';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { FileStorage } from '../../src/storage/file-store.ts';
import { COMPACTION_SLACK, TableStore } from '../../src/storage/rows/table-store.ts';
import { buildCrashState, crashStates } from '../helpers/crash-states.ts';
import { recordingFs, type FsOp } from '../helpers/fault-fs.ts';
import { checkSpawnOrder } from '../helpers/restore-invariants.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();

interface Summary {
  readonly shapes: Map<string, string>; // handle -> dependency handles, joined
  readonly logs: Map<string, string>; // handle -> entries as JSON
  readonly position: number;
  /** The row store's tables, as read back from disk. */
  readonly rows: string;
  /** Row-store tables the restore found damaged (not compared by `same`). */
  readonly damaged?: string;
}

async function summarize(runtime: ShapeRuntime, storage: FileStorage): Promise<Summary> {
  const shapes = new Map<string, string>();
  const logs = new Map<string, string>();
  for (const s of runtime.list()) {
    shapes.set(s.handle, s.dependencyHandles.join(','));
    logs.set(s.handle, JSON.stringify((await storage.readLog(s.handle)).entries));
  }
  const store = await TableStore.open(storage.tables, { readOnly: true });
  const rows = JSON.stringify([...store.tables].sort().map((t) => [t, [...store.rows(t)].sort((a, b) => (a.key < b.key ? -1 : 1))]));
  return { shapes, logs, position: runtime.position(), rows, damaged: runtime.report.damagedTables.map((t) => t.table).join(',') };
}

function same(a: Summary, b: Summary): boolean {
  if (a.position !== b.position || a.rows !== b.rows || a.shapes.size !== b.shapes.size) return false;
  for (const [h, deps] of a.shapes) if (b.shapes.get(h) !== deps || b.logs.get(h) !== a.logs.get(h)) return false;
  return true;
}

function describeSummary(s: Summary): string {
  return `position ${s.position}, shapes ${[...s.shapes.keys()].sort().join(' ')}`;
}

const ORGS_TIER_1 = 'id IN (SELECT user_id FROM public.memberships WHERE org_id IN (SELECT id FROM public.orgs WHERE tier = 1))';
const tx = (xid: number, changes: unknown[]) => ({ xid, changes });
const SETUP_TXS = [
  tx(1, [{ op: 'insert', table: 'public.orgs', row: { id: 1, tier: 1 } }, { op: 'insert', table: 'public.orgs', row: { id: 2, tier: 0 } }]),
  tx(2, [{ op: 'insert', table: 'public.memberships', row: { id: 1, user_id: 10, org_id: 1 } }, { op: 'insert', table: 'public.users', row: { id: 10, status: 1, org: 1 } }]),
  tx(3, [{ op: 'insert', table: 'public.users', row: { id: 11, status: 0, org: 2 } }, { op: 'insert', table: 'public.memberships', row: { id: 2, user_id: 11, org_id: 2 } }]),
];

/** A data dir with nested subquery shapes and some rows, cleanly shut down. */
async function setupDir(dir: string): Promise<Record<string, string>> {
  const runtime = await createShapeRuntime({ dataDir: dir });
  const nested = await runtime.add({ table: 'public.users', where: ORGS_TIER_1 });
  const plain = await runtime.add({ table: 'public.users', where: 'status = 1' });
  for (const t of SETUP_TXS) await runtime.applyTransaction(t);
  const inner = nested.created.find((h) => h !== nested.handle && !nested.dependencyHandles.includes(h))!;
  await runtime.shutdown();
  return { nested: nested.handle, middle: nested.dependencyHandles[0]!, inner, plain: plain.handle };
}

interface Recorded {
  readonly root: string;
  readonly live: string;
  readonly start: string;
  readonly ops: readonly FsOp[];
  readonly before: Summary;
  readonly after: Summary;
  /** Shapes the operation created, in the order they were renamed into place. */
  readonly created: readonly string[];
}

/** Restores the set-up dir with a recording DurableFs, runs `operation`, and returns its file operations. */
async function record(operation: (runtime: ShapeRuntime, handles: Record<string, string>) => Promise<unknown>): Promise<Recorded> {
  const root = await tempDir();
  const live = join(root, 'live');
  const handles = await setupDir(live);
  const rec = recordingFs();
  const storage = new FileStorage(live, null, rec.fs);
  const runtime = await createShapeRuntime({ storage });
  const before = await summarize(runtime, storage);
  const start = join(root, 'start');
  await cp(live, start, { recursive: true });
  rec.ops.length = 0;
  await operation(runtime, handles);
  const ops = [...rec.ops];
  const after = await summarize(runtime, storage);
  runtime.actor.stop();
  const created = ops.flatMap((op) => (op.kind === 'rename' && /\/shapes\/\d+-\d+$/.test(op.to) ? [op.to.slice(op.to.lastIndexOf('/') + 1)] : []));
  return { root, live, start, ops, before, after, created };
}

interface StateOutcome {
  readonly summary: Summary;
  readonly label: string;
}

/** Restores every crash state of `rec` and checks what holds for all of them; returns each outcome for the operation's own check. */
async function restoreEveryState(rec: Recorded): Promise<StateOutcome[]> {
  const outcomes: StateOutcome[] = [];
  const states = crashStates(rec.ops, rec.live);
  expect(states.length).toBeGreaterThan(rec.ops.length);
  for (const state of states) {
    const dir = join(rec.root, 'state');
    await buildCrashState(rec.start, rec.live, dir, rec.ops, state);
    const scanDir = join(rec.root, 'scan');
    await rm(scanDir, { recursive: true, force: true });
    await cp(dir, scanDir, { recursive: true });
    await rm(join(scanDir, 'backup'), { recursive: true, force: true });
    const strays = (await readdir(join(dir, 'shapes')).catch(() => [])).filter((n) => n.startsWith('.tmp-') || n.startsWith('.trash-'));

    const recorder = createInspectionRecorder();
    let runtime: ShapeRuntime;
    try {
      runtime = await createShapeRuntime({ dataDir: dir, createDataDir: false, inspect: recorder.inspect });
    } catch (error) {
      throw new Error(`${state.label}: restore threw (invariant 5): ${String(error)}`);
    }
    try {
      await runtime.checkpoint(); // the redo of an interrupted batch runs first
      const storage = new FileStorage(dir);
      const summary = await summarize(runtime, storage);
      const loaded = new Set(summary.shapes.keys());
      const label = `${state.label} -> ${describeSummary(summary)}`;
      // Leftovers of the interrupted operation: cleaned, named in the report, never loaded.
      const left = (await readdir(join(dir, 'shapes')).catch(() => [])).filter((n) => n.startsWith('.tmp-') || n.startsWith('.trash-'));
      expect(left, `${label}: strays left after restore`).toEqual([]);
      for (const stray of strays) {
        expect(runtime.report.problems.some((p) => p.file.endsWith(stray) && p.action === 'cleaned'), `${label}: stray ${stray} not reported`).toBe(true);
      }
      // No dependency handle dangles; spawn order (invariant 1) from the inspection events.
      for (const s of runtime.list()) for (const d of s.dependencyHandles) expect(loaded.has(d), `${label}: ${s.handle} depends on missing ${d}`).toBe(true);
      checkSpawnOrder(recorder.events, loaded, (h) => summary.shapes.get(h)?.split(',').filter(Boolean) ?? []);
      // Invariant 6: the same storage restored by scan keeps the same shapes.
      const scan = await createShapeRuntime({ dataDir: scanDir, createDataDir: false });
      expect([...scan.report.loaded].sort(), `${label}: scan disagrees`).toEqual([...runtime.report.loaded].sort());
      scan.actor.stop();
      // The crash state itself: a second restore (after this one's clean shutdown) changes nothing.
      outcomes.push({ summary, label });
    } finally {
      await runtime.shutdown();
    }
  }
  console.log(`${rec.ops.length} file operations, ${outcomes.length} crash states restored and checked`);
  return outcomes;
}

describe('crash at every prefix of recorded file operations', () => {
  it('(a) persist: a shape with two new nested dependency shapes', async () => {
    const rec = await record((runtime) =>
      runtime.add({ table: 'public.orgs', where: 'id IN (SELECT org_id FROM public.memberships WHERE user_id IN (SELECT id FROM public.users WHERE status = 0))' }),
    );
    expect(rec.created).toHaveLength(3);
    expect(rec.ops.filter((o) => o.kind === 'createFile').length).toBe(6);
    const outcomes = await restoreEveryState(rec);
    // Allowed: the shapes before, plus the first j shapes created (dependencies first), each as the operation wrote it.
    const allowed: Summary[] = [];
    for (let j = 0; j <= rec.created.length; j++) {
      const shapes = new Map(rec.before.shapes);
      const logs = new Map(rec.before.logs);
      for (const h of rec.created.slice(0, j)) {
        shapes.set(h, rec.after.shapes.get(h)!);
        logs.set(h, rec.after.logs.get(h)!);
      }
      allowed.push({ shapes, logs, position: rec.before.position, rows: rec.before.rows });
    }
    let sawNone = false;
    let sawAll = false;
    for (const o of outcomes) {
      const j = allowed.findIndex((a) => same(a, o.summary));
      expect(j, `${o.label}: neither before, after, nor dependencies-first part of the persist`).toBeGreaterThanOrEqual(0);
      sawNone ||= j === 0;
      sawAll ||= j === rec.created.length;
    }
    expect(sawNone && sawAll).toBe(true);
  }, 120_000);

  it('(b) a transaction batch (group commit): undone and redone exactly once, or absent', async () => {
    const rec = await record(async (runtime) => {
      // Queued behind a checkpoint, so the three form one batch (group commit).
      const checkpoint = runtime.checkpoint();
      await Promise.all([
        checkpoint,
        runtime.applyTransaction(tx(4, [{ op: 'insert', table: 'public.users', row: { id: 12, status: 1, org: 1 } }, { op: 'insert', table: 'public.memberships', row: { id: 3, user_id: 12, org_id: 1 } }])),
        runtime.applyTransaction(tx(5, [{ op: 'update', table: 'public.orgs', row: { id: 1, tier: 0 } }])),
        runtime.applyTransaction(tx(6, [{ op: 'delete', table: 'public.users', row: { id: 10 } }])),
      ]);
    });
    const journal = rec.ops.flatMap((o, i) => (o.kind === 'append' && o.path.endsWith('journal.jsonl') ? [i] : []));
    expect(journal, 'one prepare, one commit').toHaveLength(2);
    const [prepare, commit] = journal as [number, number];
    expect(rec.ops.slice(prepare, commit).filter((o) => o.kind === 'append' && o.path.endsWith('log.jsonl')).length).toBeGreaterThanOrEqual(3);
    expect(rec.ops.slice(prepare, commit).some((o) => o.kind === 'append' && o.path.includes('/tables/'))).toBe(true);
    expect(rec.after.position).toBe(6);
    const outcomes = await restoreEveryState(rec);
    const states = crashStates(rec.ops, rec.live);
    outcomes.forEach((o, i) => {
      const state = states[i]!;
      // Absent while the prepare is not durable (not written, or torn); redone exactly once from then on.
      const durable = state.completed > prepare;
      const want = durable ? rec.after : rec.before;
      if (!same(o.summary, want)) expect.fail(`${o.label}: expected ${durable ? 'the whole batch' : 'no trace of the batch'} (${describeSummary(want)})`);
    });
  }, 120_000);

  it('(c) a cascade removal: the removed shape first, then its dependents; a restore completes it', async () => {
    const rec = await record((runtime, h) => runtime.remove(h.inner!));
    const renames = rec.ops.filter((o) => o.kind === 'rename');
    expect(renames).toHaveLength(3);
    const removed = [...rec.before.shapes.keys()].filter((h) => !rec.after.shapes.has(h));
    expect(removed).toHaveLength(3);
    const outcomes = await restoreEveryState(rec);
    for (const o of outcomes) {
      expect(same(o.summary, rec.before) || same(o.summary, rec.after), `${o.label}: half removed`).toBe(true);
    }
    expect(outcomes.some((o) => same(o.summary, rec.after))).toBe(true);
  }, 120_000);

  it('(d) a checkpoint (backup write): nothing changes whichever way it is cut', async () => {
    const rec = await record((runtime) => runtime.checkpoint());
    expect(rec.ops.some((o) => o.kind === 'replaceFile' && o.path.endsWith('registry.jsonl'))).toBe(true);
    const outcomes = await restoreEveryState(rec);
    for (const o of outcomes) expect(same(o.summary, rec.before), o.label).toBe(true);
  }, 120_000);

  it('(f) a batch that compacts a table log: the batch undone and redone exactly once, or absent; the rows never differ', async () => {
    // Enough updates of two orgs to take public.orgs past its compaction threshold, in one batch.
    const updates = Array.from({ length: COMPACTION_SLACK + 8 }, (_, i) => ({ op: 'update', table: 'public.orgs', row: { id: 1 + (i % 2), tier: i % 2 } }));
    const rec = await record((runtime) => runtime.applyTransaction(tx(4, updates)));
    const commit = rec.ops.findLastIndex((o) => o.kind === 'append' && o.path.endsWith('journal.jsonl'));
    const compaction = rec.ops.findIndex((o) => o.kind === 'replaceFile' && o.path.endsWith('/tables/public.orgs.jsonl'));
    expect(compaction, 'the batch compacts public.orgs, after its commit').toBeGreaterThan(commit);
    expect(rec.after.position).toBe(4);
    const prepare = rec.ops.findIndex((o) => o.kind === 'append' && o.path.endsWith('journal.jsonl'));
    const states = crashStates(rec.ops, rec.live);
    const outcomes = await restoreEveryState(rec);
    outcomes.forEach((o, i) => {
      const durable = states[i]!.completed > prepare;
      const want = durable ? rec.after : rec.before;
      if (!same(o.summary, want)) expect.fail(`${o.label}: expected ${durable ? 'the whole batch' : 'no trace of the batch'} (${describeSummary(want)}), rows ${o.summary.rows === want.rows ? 'equal' : 'differ'}`);
    });
    // After the compaction, a start reads the live rows, not the history.
    const lines = (await readFile(join(rec.live, 'tables', 'public.orgs.jsonl'), 'utf8')).split('\n').length - 1;
    expect(lines).toBe(1 + 2);
  }, 120_000);

  it('(g) accepting a damaged table (restore --accept-table-damage): the damaged log kept aside, then replaced by the kept rows; a crash between finds the damage again, never loses a row', async () => {
    const root = await tempDir();
    const start = join(root, 'start');
    await setupDir(start);
    // Damage a middle line of public.users' log.
    const file = join(start, 'tables', 'public.users.jsonl');
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3); // two records, then the last newline
    lines[0] = 'garbage';
    await writeFile(file, lines.join('\n'));
    const live = join(root, 'live');
    await cp(start, live, { recursive: true });
    const rec = recordingFs();
    const storage = new FileStorage(live, null, rec.fs);
    const runtime = await createShapeRuntime({ storage, acceptTableDamage: ['public.users'] });
    expect(runtime.report.damagedTables).toEqual([]);
    const after = await summarize(runtime, storage);
    runtime.actor.stop();
    const aside = rec.ops.findIndex((o) => o.kind === 'createFile' && o.path.includes('/tables/public.users.jsonl.damaged-acknowledged-'));
    const replaced = rec.ops.findIndex((o) => o.kind === 'replaceFile' && o.path.endsWith('/tables/public.users.jsonl'));
    expect(aside).toBeGreaterThanOrEqual(0);
    expect(replaced).toBeGreaterThan(aside);
    const states = crashStates(rec.ops, live);
    const outcomes = await restoreEveryState({ root, live, start, ops: rec.ops, before: after, after, created: [] });
    outcomes.forEach((o, i) => {
      // The rows are the kept ones whichever way it is cut (the damaged log replays to them too).
      if (!same(o.summary, after)) expect.fail(`${o.label}: differs from the accepted dir (${describeSummary(after)}), rows ${o.summary.rows === after.rows ? 'equal' : 'differ'}`);
      expect(o.summary.damaged, `${o.label}: damage found again until the log is replaced`).toBe(states[i]!.completed <= replaced ? 'public.users' : '');
    });
  }, 120_000);

  it('(e) the restore of a crashed dir: a crash during its own repairs (strays, torn tail, undo and redo of the batch) leaves a dir the next restore repairs the same', async () => {
    // A crash state with everything to repair: mid-batch (prepare durable, a log appended, the next torn),
    // plus the temp dir of an unfinished create.
    const batch = await record(async (runtime) => {
      const checkpoint = runtime.checkpoint();
      await Promise.all([checkpoint, runtime.applyTransaction(tx(4, [{ op: 'insert', table: 'public.users', row: { id: 12, status: 1, org: 1 } }, { op: 'insert', table: 'public.memberships', row: { id: 3, user_id: 12, org_id: 1 } }]))]);
      await runtime.add({ table: 'public.orgs', where: 'tier = 0' });
    });
    const prepare = batch.ops.findIndex((o) => o.kind === 'append' && o.path.endsWith('journal.jsonl'));
    const tornAt = batch.ops.findIndex((o, i) => i > prepare + 1 && o.kind === 'append' && o.path.endsWith('log.jsonl'));
    expect(tornAt).toBeGreaterThan(prepare);
    const crashed = join(batch.root, 'crashed');
    await buildCrashState(batch.start, batch.live, crashed, batch.ops, { completed: tornAt, torn: true, label: 'mid-batch' });
    const create = crashStates(batch.ops, batch.live).find((st) => st.completed > tornAt && !st.torn && batch.ops[st.completed - 1]!.kind === 'createFile');
    expect(create).toBeDefined();
    const withStray = join(batch.root, 'with-stray');
    await buildCrashState(batch.start, batch.live, withStray, batch.ops, create!);
    const tmp = (await readdir(join(withStray, 'shapes'))).find((n) => n.startsWith('.tmp-'))!;
    await cp(join(withStray, 'shapes', tmp), join(crashed, 'shapes', tmp), { recursive: true });

    // Record the restore of that dir (and the redo), then crash it at every prefix.
    const rec = recordingFs();
    const live = join(batch.root, 'restore-live');
    await cp(crashed, live, { recursive: true });
    const storage = new FileStorage(live, null, rec.fs);
    const runtime = await createShapeRuntime({ storage });
    await runtime.checkpoint();
    const repaired = await summarize(runtime, storage);
    runtime.actor.stop();
    expect(rec.ops.some((o) => o.kind === 'remove' && o.path.includes('.tmp-'))).toBe(true);
    expect(rec.ops.some((o) => o.kind === 'truncate')).toBe(true);
    expect(repaired.position).toBe(4);
    const outcomes = await restoreEveryState({ root: batch.root, live, start: crashed, ops: rec.ops, before: repaired, after: repaired, created: [] });
    for (const o of outcomes) expect(same(o.summary, repaired), `${o.label}: differs from an uninterrupted restore (${describeSummary(repaired)})`).toBe(true);
  }, 120_000);

  it('(f) migrating a data dir without a metadata log (an older version): a crash anywhere in its first restore leaves one the next restore migrates the same', async () => {
    const root = await tempDir();
    const old = join(root, 'old');
    await setupDir(old);
    await rm(join(old, 'metadata.jsonl'));
    const rec = recordingFs();
    const live = join(root, 'migrate-live');
    await cp(old, live, { recursive: true });
    const storage = new FileStorage(live, null, rec.fs);
    const runtime = await createShapeRuntime({ storage });
    expect(runtime.report.problems.some((p) => /no metadata log/.test(p.reason))).toBe(true);
    await runtime.checkpoint();
    const migrated = await summarize(runtime, storage);
    runtime.actor.stop();
    expect(rec.ops.some((o) => o.kind === 'replaceFile' && o.path.endsWith('metadata.jsonl'))).toBe(true);
    const outcomes = await restoreEveryState({ root, live, start: old, ops: rec.ops, before: migrated, after: migrated, created: [] });
    for (const o of outcomes) expect(same(o.summary, migrated), `${o.label}: differs from an uninterrupted migration (${describeSummary(migrated)})`).toBe(true);
  }, 120_000);
});
