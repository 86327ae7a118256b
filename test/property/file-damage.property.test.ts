/**
 * Damaged files (issue 6, item 2): fast-check picks any file of a real data
 * dir (backup, definitions, shape logs, row-store tables and their index, the
 * transaction journal) and truncates it, flips a bit in it, or replaces it with
 * valid-but-wrong JSON. Then a real restore:
 * - never throws (invariant 5) and names the damaged file (or, for the backup,
 *   says why it fell back to the scan) whenever the damage can be seen;
 * - removes exactly the shapes whose own definition or log is damaged before
 *   its last line, and their dependents; a torn last log line (a bad last line)
 *   is cut back and the shape kept; every other survivor keeps its log byte for
 *   byte; damage to the journal or the row store removes no shape;
 * - a second restore (by scan) agrees;
 * - the row store (issue 14, item 1): no valid record of a damaged table log
 *   is lost (the restored rows are what its valid lines replay to; a bad line
 *   in the middle marks the table damaged, naming the lines), and doctor's
 *   prediction of the row store's findings is what the restore then reports.
 * Restore reads the metadata log, not each definition and log: the damage it
 * does not see, the check after restore finds (once it is done, the outcome is
 * the same, with the same reasons); damage to the metadata log itself removes
 * nothing (restore reads those shapes' definition files and rewrites it).
 * Definition and backup damage is also covered against the graph oracle in
 * restore.property.test.ts; this file adds logs, tables and the journal.
 *
 * Seeded: FC_SEED / FC_PATH replay a failure.
 */
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settledReport } from '../../src/machines/storage-check.actions.ts';
import { createShapeRuntime, planRestore } from '../../src/runtime/index.ts';
import type { RestoreReport } from '../../src/machines/runtime.types.ts';
import { FileStorage } from '../../src/storage/file-store.ts';
import { TableStore } from '../../src/storage/rows/table-store.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { randomDefinition, randomTransaction, rng } from '../helpers/crash-workload.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 60062;
const PATH = process.env.FC_PATH;

interface Base {
  readonly dir: string;
  readonly files: readonly string[];
  /** handle -> dependency handles, as a clean restore loads them. */
  readonly shapes: ReadonlyMap<string, readonly string[]>;
}

/**
 * A data dir from the crash workload: shapes with nested subqueries, rows,
 * several committed batches in the journal; ended by a crash (journal kept,
 * retired backup) or a clean shutdown after more batches (fresh backup).
 */
async function buildBase(root: string, seed: number, ending: 'crash' | 'clean'): Promise<Base> {
  const dir = join(root, `base-${seed}`);
  const runtime = await createShapeRuntime({ dataDir: dir });
  const rand = rng(seed);
  let xid = 1;
  for (let i = 0; i < 6; i++) await runtime.add({ ...randomDefinition(rand) });
  for (let i = 0; i < 12; i++) await runtime.applyTransaction(randomTransaction(rand, xid++));
  await runtime.checkpoint();
  for (let i = 0; i < 6; i++) await runtime.applyTransaction(randomTransaction(rand, xid++));
  if (ending === 'clean') await runtime.shutdown();
  else {
    runtime.actor.stop();
    await new Promise((r) => setTimeout(r, 20));
  }
  const check = await createShapeRuntime({ dataDir: dir, createDataDir: false });
  // Restore once more by a crash, so the dir is what a restart finds (the backup retired or fresh, as ended).
  const shapes = new Map(check.list().map((s) => [s.handle, s.dependencyHandles] as const));
  if (ending === 'clean') await check.shutdown();
  else {
    check.actor.stop();
    await new Promise((r) => setTimeout(r, 20));
  }
  const files = (await listFiles(dir)).filter((f) => f !== 'lock');
  return { dir, files, shapes };
}

async function listFiles(dir: string, sub = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

type Damage = { readonly how: 'truncate' | 'flip' | 'wrong-json'; readonly file: number; readonly at: number; readonly bit: number; readonly json: number };

const WRONG_JSON = ['{"hello":"world"}\n', '[1,2,3]\n', 'null\n', '{"format":"shape-actors/definition@1","shape":[]}\n', '{"xid":1,"op":"insert","key":"[1]","row":{}}\n', '{"kind":"prepare","position":0,"transactions":[],"handles":[]}\n', '{"format":"shape-actors/tables@1","tables":{"public.users":{"file":"x.jsonl","keyColumns":[]}}}\n'];

const damageArb: fc.Arbitrary<Damage> = fc.record({
  how: fc.constantFrom('truncate', 'flip', 'wrong-json'),
  file: fc.nat(),
  at: fc.nat(),
  bit: fc.integer({ min: 0, max: 7 }),
  json: fc.nat(),
});

/** Framed-line files (shape logs, table logs, journal): the oracle's own reading of `<crc32>\t<json>\n` lines. */
function framedLines(bytes: Buffer): { kind: 'intact' } | { kind: 'torn'; keep: number } | { kind: 'corrupt'; line: number } {
  let start = 0;
  let line = 0;
  while (start < bytes.length) {
    line++;
    const nl = bytes.indexOf(0x0a, start);
    const end = nl === -1 ? bytes.length : nl;
    const text = bytes.toString('utf8', start, end);
    const ok = nl !== -1 && /^[0-9a-f]{8}\t/.test(text) && crc32(text.slice(9)).toString(16).padStart(8, '0') === text.slice(0, 8) && parses(text.slice(9));
    if (!ok) return nl === -1 || nl + 1 >= bytes.length ? { kind: 'torn', keep: start } : { kind: 'corrupt', line };
    start = nl + 1;
  }
  return { kind: 'intact' };
}

function wellFormedIndex(text: string): boolean {
  try {
    const v = JSON.parse(text) as { format?: unknown; tables?: Record<string, { file?: unknown; keyColumns?: unknown }> };
    return v.format === 'shape-actors/tables@1' && typeof v.tables === 'object' && v.tables !== null && Object.values(v.tables).every((t) => typeof t.file === 'string' && /^[^/\\.][^/\\]*\.jsonl$/.test(t.file) && Array.isArray(t.keyColumns) && t.keyColumns.length > 0 && t.keyColumns.every((c) => typeof c === 'string'));
  } catch {
    return false;
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

interface Applied {
  readonly file: string;
  readonly before: Buffer;
  readonly after: Buffer;
}

async function applyDamage(dir: string, files: readonly string[], d: Damage): Promise<Applied> {
  const file = files[d.file % files.length]!;
  const path = join(dir, file);
  const before = await readFile(path);
  if (d.how === 'truncate') await truncate(path, before.length === 0 ? 0 : d.at % before.length);
  else if (d.how === 'flip') {
    if (before.length > 0) {
      const copy = Buffer.from(before);
      copy[d.at % copy.length]! ^= 1 << d.bit;
      await writeFile(path, copy);
    }
  } else await writeFile(path, WRONG_JSON[d.json % WRONG_JSON.length]!);
  return { file, before, after: await readFile(path) };
}

let bases: Base[] = [];
let basesRoot = '';
beforeAll(async () => {
  await loadSqlParser();
  basesRoot = await mkdtemp(join(tmpdir(), 'shape-actors-damage-'));
  bases = [await buildBase(basesRoot, 1, 'crash'), await buildBase(basesRoot, 2, 'clean'), await buildBase(basesRoot, 3, 'crash')];
}, 120_000);
afterAll(() => rm(basesRoot, { recursive: true, force: true }));

const seen = new Map<string, number>();
const note = (k: string): void => void seen.set(k, (seen.get(k) ?? 0) + 1);

function kindOf(file: string): string {
  if (file.endsWith('definition.json')) return 'definition';
  if (file.endsWith('log.jsonl')) return 'log';
  if (file.startsWith('backup/')) return 'backup';
  if (file === 'journal.jsonl') return 'journal';
  if (file === 'tables/tables.json') return 'tables-index';
  if (file === 'metadata.jsonl') return 'metadata';
  if (file.startsWith('tables/')) return 'table-log';
  return 'other';
}

async function runCase(baseIndex: number, damage: Damage): Promise<void> {
  const base = bases[baseIndex % bases.length]!;
  const root = await tempDir();
  const dir = join(root, 'd');
  await cp(base.dir, dir, { recursive: true });
  const logsBefore = new Map<string, Buffer>();
  for (const h of base.shapes.keys()) logsBefore.set(h, await readFile(join(dir, 'shapes', h, 'log.jsonl')));
  const applied = await applyDamage(dir, base.files, damage);
  const kind = kindOf(applied.file);
  const changed = !applied.before.equals(applied.after);
  // A definition that still parses may be another valid definition (definitions carry no checksum):
  // the graph oracle (restore.property.test.ts) covers that; here damage must be visible.
  if (kind === 'definition' && damage.how !== 'wrong-json') fc.pre(!parses(applied.after.toString('utf8')));
  note(`${kind}:${damage.how}`);

  // The oracle: which shape is damaged, and how.
  const handle = /^shapes\/([^/]+)\//.exec(applied.file)?.[1] ?? null;
  let bad: string | null = null; // a shape that must go
  let tornKeep: number | null = null; // its log cut back to this many bytes
  let visible = changed;
  if (handle && kind === 'definition' && changed) bad = handle;
  if (handle && kind === 'log') {
    const read = framedLines(applied.after);
    if (read.kind === 'corrupt') bad = handle;
    else if (read.kind === 'torn') tornKeep = read.keep;
    else visible = false; // cut at a line boundary: a shorter valid log, nothing to see
  }
  if ((kind === 'journal' || kind === 'table-log' || kind === 'metadata') && framedLines(applied.after).kind === 'intact') visible = false;
  // The table index carries no checksum: a flip that leaves a well-formed index (another key column
  // name, another file name) cannot be seen.
  if (kind === 'tables-index' && wellFormedIndex(applied.after.toString('utf8'))) visible = false;
  const gone = new Set<string>();
  if (bad) {
    const queue = [bad];
    while (queue.length > 0) {
      const h = queue.pop()!;
      if (gone.has(h)) continue;
      gone.add(h);
      for (const [d, deps] of base.shapes) if (deps.includes(h)) queue.push(d);
    }
  }
  const label = `${applied.file} (${kind}) ${damage.how}: ${applied.before.length} -> ${applied.after.length} bytes`;

  // Doctor's prediction (the dry run, the row store read only), before the restore changes anything.
  const rowStoreKind = kind === 'table-log' || kind === 'tables-index';
  const predicted = rowStoreKind ? await planRestore({ dataDir: dir, createDataDir: false }) : null;
  let runtime;
  try {
    runtime = await createShapeRuntime({ dataDir: dir, createDataDir: false });
  } catch (error) {
    throw new Error(`${label}: restore threw (invariant 5): ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    // What restore did once the check after restore (the files it took on trust) is done too.
    const report = settledReport(runtime.report, await runtime.storageChecked());
    await runtime.checkpoint();
    expect([...runtime.list().map((x) => x.handle)].sort(), `${label}: running shapes`).toEqual([...report.loaded].sort());
    const loaded = new Set(report.loaded);
    const expected = [...base.shapes.keys()].filter((h) => !gone.has(h)).sort();
    expect([...loaded].sort(), `${label}: survivors`).toEqual(expected);
    for (const h of gone) expect(report.removed.find((r) => r.handle === h), `${label}: ${h} removed with a reason`).toBeDefined();
    // The report names the file (a backup that cannot be used: the fallback reason says so).
    if (visible) {
      const named = report.problems.some((p) => p.file.endsWith(applied.file) || p.file.includes(applied.file)) || (kind === 'backup' && (report.fallbackReason ?? '').includes('backup'));
      const backupNoLongerUsed = kind === 'backup' && applied.file !== 'backup/registry.jsonl';
      if (!backupNoLongerUsed) expect(named, `${label}: report does not name the file (problems: ${JSON.stringify(report.problems.map((p) => p.file))}, fallback: ${report.fallbackReason})`).toBe(true);
    }
    // Logs: unchanged, except the damaged one's torn tail cut back (or its shorter valid prefix).
    for (const h of expected) {
      const now = await readFile(join(dir, 'shapes', h, 'log.jsonl'));
      let want = logsBefore.get(h)!;
      if (h === handle && kind === 'log') want = tornKeep !== null ? applied.after.subarray(0, tornKeep) : applied.after;
      expect(now.equals(want), `${label}: log of ${h} is ${now.length} bytes, expected ${want.length}`).toBe(true);
    }
    for (const h of gone) await expect(stat(join(dir, 'shapes', h)), `${label}: ${h}'s storage kept`).rejects.toThrow();
    if (predicted) expect(rowStoreFindings(report), `${label}: doctor predicted other row-store findings`).toEqual(rowStoreFindings(predicted));
    if (kind === 'table-log') {
      const table = decodeURIComponent(applied.file.slice('tables/'.length, -'.jsonl'.length));
      const oracle = tableLogOracle(applied.after);
      const store = await TableStore.open(new FileStorage(dir).tables, { readOnly: true });
      expect(new Map([...store.rows(table)].map((r) => [r.key, r.row])), `${label}: rows of ${table}`).toEqual(oracle.rows);
      expect(report.damagedTables.map((t) => [t.table, t.lostLines]), `${label}: damage said`).toEqual(oracle.bad.length > 0 ? [[table, oracle.bad]] : []);
      note(`table-log:${oracle.bad.length > 0 ? 'damaged' : 'clean'}`);
    }
  } finally {
    await runtime.shutdown();
  }
  // A second restore (from the backup the shutdown wrote, and by scan) agrees.
  const scanDir = join(root, 'scan');
  await cp(dir, scanDir, { recursive: true });
  await rm(join(scanDir, 'backup'), { recursive: true, force: true });
  for (const d of [dir, scanDir]) {
    const again = await createShapeRuntime({ dataDir: d, createDataDir: false });
    expect(again.report.removed, `${label}: a second restore removed more`).toEqual([]);
    expect((await again.storageChecked()).removed, `${label}: the second restore's check removed more`).toEqual([]);
    expect([...again.report.loaded].sort()).toEqual([...base.shapes.keys()].filter((h) => !gone.has(h)).sort());
    await again.shutdown();
  }
}

/** What a report says of the row store: its problems (repairs, damage) and the damaged tables. */
function rowStoreFindings(report: RestoreReport): unknown {
  return { problems: report.problems.filter((p) => p.file.includes('/tables/')).map((p) => [p.handle, p.file, p.reason, p.action]), damaged: report.damagedTables };
}

/** The oracle's own reading of a table log: the rows its valid lines replay to, and its bad lines before the last. */
function tableLogOracle(bytes: Buffer): { rows: Map<string, Record<string, unknown>>; bad: number[] } {
  const rows = new Map<string, Record<string, unknown>>();
  const bad: number[] = [];
  const lines = bytes.toString('utf8').split('\n');
  const whole = lines.slice(0, -1); // the text after the last newline is never a record
  whole.forEach((text, i) => {
    let record: Record<string, unknown> | null = null;
    if (/^[0-9a-f]{8}\t/.test(text) && crc32(text.slice(9)).toString(16).padStart(8, '0') === text.slice(0, 8)) {
      try {
        const value: unknown = JSON.parse(text.slice(9));
        record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
      } catch {
        record = null;
      }
    }
    const entry = record && typeof record.key === 'string' && typeof record.xid === 'number' && typeof record.row === 'object' && record.row !== null && !Array.isArray(record.row) && ['insert', 'update', 'delete'].includes(record.op as string);
    const header = i === 0 && record !== null && typeof record.compacted === 'object';
    if (entry) {
      if (record!.op === 'delete') rows.delete(record!.key as string);
      else rows.set(record!.key as string, record!.row as Record<string, unknown>);
    } else if (!header && (i < whole.length - 1 || lines.at(-1) !== '')) bad.push(i + 1);
  });
  return { rows, bad };
}

function params(numRuns: number): fc.Parameters<[number, Damage]> {
  return { seed: SEED, numRuns, ...(PATH ? { path: PATH } : {}), endOnFailure: false };
}

describe('damaged files: restore never throws, names the file, removes only what the damage reaches', () => {
  it('any file of the data dir truncated, bit-flipped or replaced by wrong JSON', async () => {
    await fc.assert(fc.asyncProperty(fc.nat(), damageArb, runCase), params(40));
  }, 240_000);

  it('each kind of file equally often (logs, row-store tables and index, journal: the files restore.property.test.ts does not damage; definitions, backup)', async () => {
    const kinds = ['log', 'table-log', 'tables-index', 'journal', 'definition', 'backup', 'metadata'] as const;
    const arb = fc.tuple(fc.nat(), damageArb, fc.constantFrom(...kinds)).map(([b, d, which]) => {
      const base = bases[b % bases.length]!;
      const idx = base.files.map((f, i) => (kindOf(f) === which ? i : -1)).filter((i) => i >= 0);
      return [b, { ...d, file: idx.length === 0 ? d.file : idx[d.file % idx.length]! }] as [number, Damage];
    });
    await fc.assert(fc.asyncProperty(arb, ([b, d]) => runCase(b, d)), params(84) as unknown as fc.Parameters<[[number, Damage]]>);
  }, 240_000);

  it.skipIf(PATH !== undefined || process.env.FC_SEED !== undefined)('the generators reached every kind of file and damage', () => {
    const want = ['definition', 'log', 'backup', 'journal', 'tables-index', 'table-log', 'metadata'].flatMap((k) => ['truncate', 'flip', 'wrong-json'].map((h) => `${k}:${h}`))
    want.push('table-log:damaged');
    const missing = want.filter((k) => !seen.has(k));
    expect(missing, `not exercised: ${missing.join(', ')} (seen ${JSON.stringify(Object.fromEntries(seen))})`).toEqual([]);
  });
});


