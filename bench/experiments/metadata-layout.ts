/**
 * Experiment (issue 13, item 1): which metadata layout lets restore read its
 * shapes at about the cost of the floor, reading and parsing one JSON file
 * that holds the same definitions. Measured back to back in this process on
 * the restore bench's data set (20% subquery shapes), median of 5 runs, CPU ms:
 *   floor        readFile + JSON.parse of one JSON array of the stored shapes
 *   per-shape    today's scan: every definition.json and log.jsonl (64 at a time), JSON + zod
 *   normalize    normalizeShape of every definition (libpg-query): what restore pays today on top of reading
 *   listing      readdir(shapes/) with file types: the one listing restore still needs
 *   log+ast      one append-only metadata log (framed lines: crc32 + JSON), each record the
 *                stored shape and its parsed where clause: read, checksum, parse, check the
 *                record's structure by hand
 *   log+zod      the same, checked with the stored-shape zod schema (as the backup is today)
 *   sqlite       better-sqlite3 (if it can be imported from SQLITE_PATH): SELECT of every
 *                row (handle, definition JSON, where JSON), JSON.parse of each
 *
 * Run: node --expose-gc --import tsx bench/experiments/metadata-layout.ts [--n=100000] [--per-shape]
 */
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeShape } from '../../src/shapes/definition.ts';
import { decodeFramedLines, encodeFramedLines } from '../../src/storage/framed-lines.ts';
import { storedShapeSchema } from '../../src/storage/stored-shape.schema.ts';
import { buildDataset, writeDataDir } from '../lib/shape-dataset.ts';
import { readDataDirFiles } from '../lib/floor.ts';
import { fullGc, median, round, Stopwatch } from '../lib/stats.ts';

const n = Number(process.argv.find((a) => a.startsWith('--n='))?.slice(4) ?? 100_000);
const perShape = process.argv.includes('--per-shape');
const RUNS = 5;

const root = await mkdtemp(join(tmpdir(), 'shape-actors-metadata-layout-'));
try {
  const dataset = await buildDataset({ size: n });
  const stored = dataset.shapes.map((s) => s.stored);
  const records = stored.map((s) => {
    const normalized = normalizeShape(s.definition);
    return { op: 'put', shape: s, ...(normalized.where ? { where: normalized.where } : {}), dependencies: normalized.dependencies };
  });
  const floorFile = join(root, 'definitions.json');
  await writeFile(floorFile, JSON.stringify(stored));
  const logFile = join(root, 'metadata.jsonl');
  await writeFile(logFile, encodeFramedLines(records));
  const dataDir = join(root, 'data');
  if (perShape) await writeDataDir(dataDir, dataset);
  else await mkdir(join(dataDir, 'shapes'), { recursive: true });
  // The listing costs the same whatever the dirs hold: make n empty ones when the files are not written.
  if (!perShape) for (const s of stored) await mkdir(join(dataDir, 'shapes', s.handle));

  const sqlite = await openSqlite(join(root, 'metadata.sqlite'), records);

  const cases: Record<string, () => Promise<number>> = {
    floor: async () => (JSON.parse(await readFile(floorFile, 'utf8')) as unknown[]).length,
    normalize: async () => stored.filter((s) => normalizeShape(s.definition).key.length > 0).length,
    listing: async () => (await readdir(join(dataDir, 'shapes'), { withFileTypes: true })).filter((e) => e.isDirectory()).length,
    'log+ast': async () => decodeFramedLines(await readFile(logFile), checkRecord).records.length,
    'log+zod': async () => decodeFramedLines(await readFile(logFile), (v) => (storedShapeSchema.safeParse((v as { shape: unknown }).shape).success ? undefined : 'bad')).records.length,
    ...(sqlite ? { sqlite: async () => sqlite.readAll() } : {}),
    ...(perShape ? { 'per-shape': async () => (await readDataDirFiles(dataDir, false)).files } : {}),
  };
  const cpu: Record<string, number[]> = {};
  for (let run = 0; run <= RUNS; run++) {
    for (const [name, fn] of Object.entries(cases)) {
      fullGc();
      const watch = new Stopwatch();
      const count = await fn();
      const t = watch.stop();
      if (count < n && name !== 'per-shape') throw new Error(`${name}: read ${count} of ${n}`);
      if (run > 0) (cpu[name] ??= []).push(t.cpuMs);
    }
  }
  const floor = median(cpu.floor!);
  const bytes = { floor: (await readFile(floorFile)).length, log: (await readFile(logFile)).length };
  process.stdout.write(`${n} shapes; floor file ${round(bytes.floor / 1e6, 1)} MB, metadata log ${round(bytes.log / 1e6, 1)} MB\n`);
  for (const [name, xs] of Object.entries(cpu)) {
    const m = median(xs);
    process.stdout.write(`${name.padEnd(10)} ${String(round(m, 1)).padStart(9)} ms cpu   ${String(round(m / floor, 2)).padStart(6)}x floor\n`);
  }
  if (!sqlite) process.stdout.write('sqlite: not measured (set SQLITE_PATH to a directory where better-sqlite3 is installed)\n');
  sqlite?.close();
} finally {
  await rm(root, { recursive: true, force: true });
}

/** The structural check restore makes of a metadata record (no zod: a checksummed line we wrote). */
function checkRecord(value: unknown): string | undefined {
  const r = value as { op?: unknown; shape?: { handle?: unknown; definition?: { table?: unknown }; dependencyHandles?: unknown; requested?: unknown } };
  if (r.op !== 'put' || typeof r.shape !== 'object' || r.shape === null) return 'not a put record';
  const s = r.shape;
  if (typeof s.handle !== 'string' || typeof s.definition?.table !== 'string' || !Array.isArray(s.dependencyHandles) || typeof s.requested !== 'boolean') return 'bad shape';
  return undefined;
}

interface SqliteCase {
  readAll(): number;
  close(): void;
}

async function openSqlite(file: string, rows: readonly { shape: { handle: string }; where?: unknown }[]): Promise<SqliteCase | null> {
  const from = process.env.SQLITE_PATH;
  if (!from) return null;
  const Database = createRequire(join(from, 'package.json'))('better-sqlite3') as new (file: string) => {
    exec(sql: string): void;
    prepare(sql: string): { run(...args: unknown[]): void; all(): { handle: string; shape: string; where_ast: string | null }[] };
    transaction(fn: () => void): () => void;
    close(): void;
  };
  const db = new Database(file);
  db.exec('PRAGMA journal_mode = WAL; CREATE TABLE shapes (handle TEXT PRIMARY KEY, shape TEXT NOT NULL, where_ast TEXT)');
  const insert = db.prepare('INSERT INTO shapes (handle, shape, where_ast) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const r of rows) insert.run(r.shape.handle, JSON.stringify(r.shape), r.where ? JSON.stringify(r.where) : null);
  })();
  const select = db.prepare('SELECT handle, shape, where_ast FROM shapes');
  return {
    readAll: () => {
      let count = 0;
      for (const row of select.all()) {
        JSON.parse(row.shape);
        if (row.where_ast) JSON.parse(row.where_ast);
        count++;
      }
      return count;
    },
    close: () => db.close(),
  };
}
