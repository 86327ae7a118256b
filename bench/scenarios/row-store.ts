/**
 * The embedded row store (issue 17, items 2 and 4), through the runtime:
 * - history: a table of L live rows, then U updates (transactions of 5,000
 *   changes), then a clean shutdown. On-disk size of `tables/` against the same
 *   live rows with no history, and the restart (`createShapeRuntime` until
 *   `running`) against the restart with no history, paired runs. "Before": the
 *   same history as one uncompacted log (what every start read before
 *   compaction), opened by the store alone; "after a crash": the history
 *   without the clean shutdown's compaction (that restart also reads the
 *   journal, which only a checkpoint empties).
 * - add: a table of N rows (`org` holds 10 rows per value), then shapes
 *   `org = k` added one by one, each selecting 10 rows: the add's cost at N
 *   against at 1k (the first add builds the `org` index, reported apart), and
 *   against reading and judging the whole table once (what every add did).
 */
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { openFileStorage } from '../../src/storage/file-store.ts';
import type { ShapeStorage } from '../../src/storage/storage.ts';
import { parseWhere } from '../../src/shapes/where/parse.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { evaluateWhere } from '../../src/shapes/where/evaluate.ts';
import { DirectoryTableFiles } from '../../src/storage/rows/directory-table-files.ts';
import { TableStore } from '../../src/storage/rows/table-store.ts';
import { check, type Column, type TargetCheck } from '../lib/report.ts';
import { median, round, Stopwatch, timed, type Timing } from '../lib/stats.ts';
import { fmtSize } from './validation.ts';

const TABLE = 'public.items';
const CHUNK = 5_000;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

export interface HistoryCaseArgs {
  readonly live: number;
  readonly updates: number;
  readonly runs: number;
}

export interface HistoryCaseResult {
  readonly live: number;
  readonly updates: number;
  /** Bytes of tables/: live rows only, after the updates and a clean shutdown, after them without it (a crash), and the whole history uncompacted. */
  readonly bytes: { readonly none: number; readonly updated: number; readonly crashed: number; readonly uncompacted: number };
  readonly restartNone: readonly Timing[];
  readonly restartUpdated: readonly Timing[];
  readonly restartCrashed: readonly Timing[];
  /** The row store alone opening the uncompacted history (what a start read before compaction), and the compacted one. */
  readonly openUncompacted: readonly Timing[];
  readonly openUpdated: readonly Timing[];
}

const row = (id: number, version: number) => ({ id, org: Math.floor(id / 10), name: `item ${id}`, version, note: 'x'.repeat(40) });

async function apply(runtime: ShapeRuntime, changes: { op: 'insert' | 'update'; row: Record<string, unknown> }[], xid: { next: number }): Promise<void> {
  for (let i = 0; i < changes.length; i += CHUNK) {
    await runtime.applyTransaction({ xid: xid.next++, changes: changes.slice(i, i + CHUNK).map((c) => ({ op: c.op, table: TABLE, row: c.row })) });
  }
}

const inserts = (n: number) => Array.from({ length: n }, (_, id) => ({ op: 'insert' as const, row: row(id, 0) }));
const updates = (live: number, n: number) => Array.from({ length: n }, (_, i) => ({ op: 'update' as const, row: row(i % live, 1 + Math.floor(i / live)) }));

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

/** Stops without a shutdown (a crash, in effect: no backup, no checkpoint compaction) and lets go of the data dir. */
async function crash(runtime: ShapeRuntime, storage: ShapeStorage): Promise<void> {
  runtime.actor.stop();
  await new Promise((r) => setTimeout(r, 20));
  await storage.close();
}

/** `createShapeRuntime` until `running` (the data dir opened first, so it can be let go without a shutdown). */
async function restartTime(dir: string): Promise<Timing> {
  const watch = new Stopwatch();
  const storage = await openFileStorage(dir);
  const runtime = await createShapeRuntime({ storage });
  const timing = watch.stop();
  await crash(runtime, storage); // the next restart finds the same files
  return timing;
}

/** Runs in a child process (bench/worker.ts). */
export async function historyCase(args: HistoryCaseArgs): Promise<HistoryCaseResult> {
  const root = await mkdtemp(join(tmpdir(), 'shape-actors-bench-rows-'));
  try {
    const none = join(root, 'none');
    const updated = join(root, 'updated');
    const crashed = join(root, 'crashed');
    const xid = { next: 1 };
    let runtime = await createShapeRuntime({ dataDir: none });
    await apply(runtime, inserts(args.live), xid);
    await runtime.shutdown();
    await cp(none, updated, { recursive: true });
    const storage = await openFileStorage(updated);
    runtime = await createShapeRuntime({ storage });
    const t0 = new Stopwatch();
    await apply(runtime, updates(args.live, args.updates), xid);
    const applied = t0.stop();
    log(`  rows: ${fmtSize(args.updates)} updates to ${fmtSize(args.live)} rows applied in ${round(applied.wallMs / 1000, 1)} s`);
    // A crash copy (no shutdown: compacted after batches only), then the clean shutdown.
    await crash(runtime, storage);
    await cp(updated, crashed, { recursive: true });
    runtime = await createShapeRuntime({ dataDir: updated, createDataDir: false });
    await runtime.shutdown();
    // The same history, never compacted (the row store alone, flushed per transaction as the runtime does).
    const uncompacted = join(root, 'uncompacted');
    const store = await TableStore.open(new DirectoryTableFiles(join(uncompacted, 'tables')));
    let x = 1;
    for (const changes of [inserts(args.live), updates(args.live, args.updates)]) {
      for (let i = 0; i < changes.length; i += CHUNK) {
        store.apply({ xid: x++, changes: changes.slice(i, i + CHUNK).map((c) => ({ op: c.op, table: TABLE, row: c.row })) });
        await store.flush();
      }
    }
    const result = {
      live: args.live,
      updates: args.updates,
      bytes: {
        none: await dirBytes(join(none, 'tables')),
        updated: await dirBytes(join(updated, 'tables')),
        crashed: await dirBytes(join(crashed, 'tables')),
        uncompacted: await dirBytes(join(uncompacted, 'tables')),
      },
      restartNone: [] as Timing[],
      restartUpdated: [] as Timing[],
      restartCrashed: [] as Timing[],
      openUncompacted: [] as Timing[],
      openUpdated: [] as Timing[],
    };
    await restartTime(none); // warm-up: the first restart in a process pays for loading and compiling
    for (let run = 0; run < args.runs; run++) {
      result.restartNone.push(await restartTime(none));
      result.restartUpdated.push(await restartTime(updated));
      result.restartCrashed.push(await restartTime(crashed));
      result.openUncompacted.push((await timed(() => TableStore.open(new DirectoryTableFiles(join(uncompacted, 'tables')), { readOnly: true }))).timing);
      result.openUpdated.push((await timed(() => TableStore.open(new DirectoryTableFiles(join(updated, 'tables')), { readOnly: true }))).timing);
    }
    return result;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export interface AddCaseArgs {
  readonly rows: number;
  readonly adds: number;
}

export interface AddCaseResult {
  readonly rows: number;
  /** The first add (it builds the `org` index). */
  readonly first: Timing;
  /** Every later add, each selecting 10 rows. */
  readonly adds: readonly Timing[];
  /** Reading every row of the table and judging the where clause on it: what each add did before. */
  readonly wholeTable: Timing;
  readonly snapshotRows: number;
}

/** Runs in a child process (bench/worker.ts). */
export async function addCase(args: AddCaseArgs): Promise<AddCaseResult> {
  const root = await mkdtemp(join(tmpdir(), 'shape-actors-bench-rows-add-'));
  try {
    await loadSqlParser();
    const dir = join(root, 'data');
    // The table, written through the row store alone (quicker than the runtime), then restored.
    const store = await TableStore.open(new DirectoryTableFiles(join(dir, 'tables')));
    const all = inserts(args.rows);
    for (let i = 0, x = 1; i < all.length; i += 10 * CHUNK, x++) {
      store.apply({ xid: x, changes: all.slice(i, i + 10 * CHUNK).map((c) => ({ op: c.op, table: TABLE, row: c.row })) });
      await store.flush();
    }
    const runtime = await createShapeRuntime({ dataDir: dir, createDataDir: false });
    const orgs = Math.floor(args.rows / 10);
    const first = (await timed(() => runtime.add({ table: TABLE, where: `org = ${orgs - 1}` }))).timing;
    const adds: Timing[] = [];
    let snapshotRows = 0;
    for (let k = 0; k < args.adds; k++) {
      const org = Math.floor(((k + 0.5) * orgs) / args.adds);
      const { timing, value } = await timed(() => runtime.add({ table: TABLE, where: `org = ${org}` }));
      adds.push(timing);
      snapshotRows = (await runtime.readLog(value.handle)).length;
    }
    const where = parseWhere('org = 3').expr;
    const wholeTable = (
      await timed(() => {
        let n = 0;
        for (const { row: r } of store.rows(TABLE)) if (evaluateWhere(where, r, () => ({ has: () => false, compatibleCount: () => 0 }))) n++;
        return n;
      })
    ).timing;
    await runtime.shutdown();
    return { rows: args.rows, first, adds, wholeTable, snapshotRows };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export const ROWS_DESCRIPTION = [
  'history: L live rows, U updates through the runtime (transactions of 5,000 changes), clean shutdown; bytes of tables/ and restart time',
  '(createShapeRuntime until running) against the same live rows with no history, paired runs; "before": the uncompacted history opened by',
  'the row store alone, against the compacted one. add: shapes `org = k` (10 rows each) on a table of N rows, median add after the first',
  '(which builds the org index) against the same at 1k, and against one read of the whole table with the where clause (what every add did).',
].join('\n');

export const HISTORY_COLUMNS: readonly Column[] = [
  { key: 'case', title: 'history' },
  { key: 'bytesRatio', title: 'bytes / live' },
  { key: 'uncompactedRatio', title: 'uncompacted / live' },
  { key: 'restartMs', title: 'restart ms', digits: 0 },
  { key: 'restartNoneMs', title: 'no history ms', digits: 0 },
  { key: 'restartRatio', title: 'cpu ratio' },
  { key: 'crashedRatio', title: 'after a crash' },
  { key: 'openBeforeMs', title: 'open before ms', digits: 0 },
  { key: 'openAfterMs', title: 'open after ms', digits: 0 },
];

export const ADD_COLUMNS: readonly Column[] = [
  { key: 'rows', title: 'table rows' },
  { key: 'firstMs', title: 'first add ms', digits: 1 },
  { key: 'addMs', title: 'add ms', digits: 2 },
  { key: 'addCpuMs', title: 'add cpu ms', digits: 2 },
  { key: 'vs1k', title: 'cpu vs 1k' },
  { key: 'wholeTableMs', title: 'whole-table read ms', digits: 1 },
  { key: 'snapshotRows', title: 'rows per shape' },
];

const cpu = (ts: readonly Timing[]): number => median(ts.map((t) => t.cpuMs));
const wall = (ts: readonly Timing[]): number => median(ts.map((t) => t.wallMs));

export function summarizeRows(history: readonly HistoryCaseResult[], adds: readonly AddCaseResult[]): { historyRows: Record<string, string | number>[]; addRows: Record<string, string | number>[]; checks: TargetCheck[] } {
  const checks: TargetCheck[] = [];
  const historyRows = history.map((h) => {
    const restartRatio = cpu(h.restartUpdated) / cpu(h.restartNone);
    const bytesRatio = h.bytes.updated / h.bytes.none;
    checks.push(check(`restart after ${fmtSize(h.updates)} updates to ${fmtSize(h.live)} rows within 1.25x of after none`, `${round(restartRatio, 2)}x (CPU; wall ${round(wall(h.restartUpdated) / wall(h.restartNone), 2)}x)`, restartRatio, 1.25, (v, l) => v <= l));
    checks.push(check(`row store on disk within 2x of its live rows after ${fmtSize(h.updates)} updates`, `${round(bytesRatio, 2)}x (${round(h.bytes.crashed / h.bytes.none, 2)}x after a crash; uncompacted ${round(h.bytes.uncompacted / h.bytes.none, 1)}x)`, bytesRatio, 2, (v, l) => v <= l));
    return {
      case: `${fmtSize(h.updates)} on ${fmtSize(h.live)}`,
      bytesRatio: `${round(bytesRatio, 2)}x`,
      uncompactedRatio: `${round(h.bytes.uncompacted / h.bytes.none, 1)}x`,
      restartMs: wall(h.restartUpdated),
      restartNoneMs: wall(h.restartNone),
      restartRatio: `${round(restartRatio, 2)}x`,
      crashedRatio: `${round(cpu(h.restartCrashed) / cpu(h.restartNone), 2)}x`,
      openBeforeMs: wall(h.openUncompacted),
      openAfterMs: wall(h.openUpdated),
    };
  });
  const small = adds.find((a) => a.rows === Math.min(...adds.map((x) => x.rows)));
  const addRows = adds.map((a) => {
    const vs1k = small ? cpu(a.adds) / cpu(small.adds) : Number.NaN;
    if (small && a !== small) {
      checks.push(check(`adding a shape that selects 10 rows of a ${fmtSize(a.rows)}-row table within 2x of on a ${fmtSize(small.rows)}-row one`, `${round(vs1k, 2)}x (CPU; wall ${round(wall(a.adds) / wall(small.adds), 2)}x; a whole-table read is ${round(a.wholeTable.cpuMs / cpu(a.adds), 1)}x an add)`, vs1k, 2, (v, l) => v <= l));
    }
    return { rows: fmtSize(a.rows), firstMs: a.first.wallMs, addMs: wall(a.adds), addCpuMs: cpu(a.adds), vs1k: `${round(vs1k, 2)}x`, wholeTableMs: a.wholeTable.wallMs, snapshotRows: a.snapshotRows };
  });
  return { historyRows, addRows, checks };
}
