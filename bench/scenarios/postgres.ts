/**
 * The runtime beside a real Postgres (issue 17, items 3-5), each case in its own child process,
 * through what `serve` runs (`startPostgresRuntime`, and for the soak the shape server too):
 * - follow: a table of N rows (full: 1k and 1M; --quick: 1k and 100k), the same 100 shapes
 *   (`org = k`, 10 rows each) added, then the source forgets the table was synced and starts
 *   again: the time until `caught up` (the shapes resynced by reading their rows), the RSS and
 *   heap after GC then, and the CPU time of adding more shapes of 10 rows each while following
 *   (median per add). Targets: RSS with the large table within 1.25x of with 1k rows; an add on
 *   it within 2x of on 1k rows.
 * - soak: C row changes (full: 1M on a table of 100k rows; --quick: 100k on 10k rows) written in
 *   transactions of 1,000 through 100 shapes (`bucket = k`: every change reaches one shape),
 *   10 of them followed by live HTTP clients; heap after GC at the start (after the first
 *   tenth), the middle and the end. Target: end within 1.1x of start.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startShapeServer, type ShapeServer } from '../../src/http/shape-server.ts';
import { startPostgresRuntime, type PostgresRuntime } from '../../src/sources/postgres/index.ts';
import { connect, createTestDatabase } from '../../test/integration/postgres-harness.ts';
import { check, type Cell, type Column, type TargetCheck } from '../lib/report.ts';
import { median, round, Stopwatch, type Timing } from '../lib/stats.ts';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

function gcNow(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
}

function memory(): { readonly heap: number; readonly rss: number; readonly external: number } {
  gcNow();
  const { heapUsed, rss, external } = process.memoryUsage();
  return { heap: heapUsed, rss, external };
}

async function database(url: string, prefix: string, ddl: string): Promise<{ url: string; dataDir: string; done(): Promise<void> }> {
  const db = await createTestDatabase(url, prefix);
  const client = await connect(db.url);
  await client.query(ddl);
  await client.end();
  const dataDir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  return {
    url: db.url,
    dataDir,
    async done() {
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface FollowCaseArgs {
  readonly url: string;
  readonly rows: number;
  readonly shapes: number;
  readonly adds: number;
}

export interface FollowCaseResult {
  readonly rows: number;
  readonly shapes: number;
  /** From the start of following to caught up (the 100 shapes resynced from the database). */
  readonly catchUpMs: number;
  /** This process's CPU time until then (the rest of the wall clock is the database's: decoding its WAL, the reads). */
  readonly catchUpCpuMs: number;
  /** Bytes of WAL (the whole server's) from the slot's restart point to the start: what the stream decodes first. */
  readonly walToDecode: number;
  readonly rss: number;
  readonly heap: number;
  /** CPU time of each `source.add` of a shape of 10 rows while following. */
  readonly adds: readonly Timing[];
}

/** A table of `rows` rows (`org` = id / 10: 10 rows per value), `shapes` shapes added while nothing serves, then a start. */
export async function followCase(args: FollowCaseArgs): Promise<FollowCaseResult> {
  const db = await database(
    args.url,
    `bench_follow_${args.rows}`,
    `CREATE TABLE items (id int PRIMARY KEY, org int NOT NULL, name text NOT NULL, note text NOT NULL);
     INSERT INTO items SELECT g, g / 10, 'item ' || g, repeat('x', 40) FROM generate_series(0, ${args.rows - 1}) g;
     CREATE INDEX ON items (org); ANALYZE items;`,
  );
  try {
    // The shapes are added while serving once, then the runtime stops: the measured start resyncs them.
    let pr: PostgresRuntime = await startPostgresRuntime({ dataDir: db.dataDir, databaseUrl: db.url, schemaPollMs: 0 });
    for (let k = 0; k < args.shapes; k++) await pr.source.add({ table: 'items', where: `org = ${k}` });
    await pr.shutdown();
    await forgetSynced(db.dataDir);
    const walToDecode = await slotLag(db.url, pr.source.slot);
    gcNow();
    const t0 = Date.now();
    const watch = new Stopwatch();
    pr = await startPostgresRuntime({ dataDir: db.dataDir, databaseUrl: db.url, schemaPollMs: 0 });
    await pr.source.waitForSync();
    await pr.source.caughtUp();
    const catchUpCpuMs = round(watch.stop().cpuMs, 0);
    const catchUpMs = pr.source.status().caughtUp?.sinceStartMs ?? Date.now() - t0;
    const { rss, heap } = memory();
    log(`  follow ${args.rows} rows: caught up in ${catchUpMs} ms, rss ${(rss / 2 ** 20).toFixed(1)} MiB, heap ${(heap / 2 ** 20).toFixed(1)} MiB`);
    const adds: Timing[] = [];
    for (let i = 0; i < args.adds; i++) {
      const watch = new Stopwatch();
      await pr.source.add({ table: 'items', where: `org = ${args.shapes + i}` });
      adds.push(watch.stop());
    }
    await pr.shutdown();
    return { rows: args.rows, shapes: args.shapes, catchUpMs, catchUpCpuMs, walToDecode, rss, heap, adds };
  } finally {
    await db.done();
  }
}

async function slotLag(url: string, slot: string): Promise<number> {
  const client = await connect(url);
  try {
    const { rows } = await client.query<{ lag: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS lag FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    return Number(rows[0]?.lag ?? 0);
  } finally {
    await client.end();
  }
}

/** The state file forgets the synced tables: the next start follows them anew and resyncs their shapes. */
async function forgetSynced(dataDir: string): Promise<void> {
  const { readFile, writeFile } = await import('node:fs/promises');
  const file = join(dataDir, 'postgres', 'source.json');
  const state = JSON.parse(await readFile(file, 'utf8')) as { tables: Record<string, unknown> };
  await writeFile(file, JSON.stringify({ ...state, tables: {} }));
}

export interface SoakCaseArgs {
  readonly url: string;
  readonly rows: number;
  readonly shapes: number;
  readonly changes: number;
  readonly perTransaction: number;
  /**
   * `updates`: each transaction updates `perTransaction` rows in turn; `churn`: it deletes half
   * that many rows and inserts as many new ones (new keys: the table keeps its size, its keys move on).
   */
  readonly workload: 'updates' | 'churn';
  /** Live HTTP clients following as many of the shapes (through the shape server, as `serve --http-port` runs it). */
  readonly liveClients: number;
  /** Write a heap snapshot before and after the second half (for finding what grows). */
  readonly heapSnapshots?: string;
}

export interface SoakCaseResult {
  readonly workload: SoakCaseArgs['workload'];
  readonly changes: number;
  /** Heap after GC (bytes) at the start (after the first tenth of the changes), the middle and the end. */
  readonly heap: { readonly start: number; readonly middle: number; readonly end: number };
  readonly rss: { readonly start: number; readonly middle: number; readonly end: number };
  readonly changesPerSecond: number;
  /** Changes the live clients received. */
  readonly clientChanges: number;
}

export async function soakCase(args: SoakCaseArgs): Promise<SoakCaseResult> {
  const buckets = args.shapes;
  const db = await database(
    args.url,
    'bench_soak',
    `CREATE TABLE items (id int PRIMARY KEY, bucket int NOT NULL, v int NOT NULL, note text NOT NULL);
     INSERT INTO items SELECT g, g % ${buckets}, 0, repeat('y', 40) FROM generate_series(0, ${args.rows - 1}) g;
     CREATE INDEX ON items (bucket); ANALYZE items;`,
  );
  const writer = await connect(db.url);
  let pr: PostgresRuntime | null = null;
  let server: ShapeServer | null = null;
  const clients = new AbortController();
  const following: Promise<void>[] = [];
  const received = { changes: 0 };
  try {
    pr = await startPostgresRuntime({ dataDir: db.dataDir, databaseUrl: db.url, schemaPollMs: 0 });
    for (let k = 0; k < buckets; k++) await pr.source.add({ table: 'items', where: `bucket = ${k}` });
    // What serve runs: the shape server beside the source, with live clients on some shapes.
    const { source } = pr;
    server = await startShapeServer({ runtime: pr.runtime, add: (definition) => source.add(definition), port: 0, txids: false, longPollMs: 5_000 });
    for (let k = 0; k < args.liveClients; k++) following.push(followLive(`${server.url}/v1/shape?table=items&where=${encodeURIComponent(`bucket = ${k}`)}`, clients.signal, received));
    let written = 0;
    let next = 0;
    const write = async (upTo: number): Promise<void> => {
      while (written < upTo) {
        if (args.workload === 'updates') {
          await writer.query('UPDATE items SET v = v + 1 WHERE id >= $1 AND id < $2', [next % args.rows, (next % args.rows) + args.perTransaction]);
          next += args.perTransaction;
        } else {
          const half = args.perTransaction / 2;
          await writer.query(
            `WITH gone AS (DELETE FROM items WHERE id >= $1 AND id < $2 RETURNING id, bucket) INSERT INTO items SELECT id + $3, bucket, 0, note_of(id) FROM gone`.replace('note_of(id)', `repeat('z', 40)`),
            [next, next + half, args.rows],
          );
          next += half;
        }
        written += args.perTransaction;
        // Stay near the stream: at most a few transactions ahead of what the runtime applied.
        if ((written / args.perTransaction) % 20 === 0) await pr!.source.caughtUp(600_000);
      }
      await pr!.source.caughtUp(600_000);
    };
    const watch = new Stopwatch();
    await write(args.changes / 10);
    const start = memory();
    if (args.heapSnapshots) (await import('node:v8')).writeHeapSnapshot(join(args.heapSnapshots, 'soak-start.heapsnapshot'));
    await write(args.changes / 2);
    const middle = memory();
    await write(args.changes);
    const end = memory();
    if (args.heapSnapshots) (await import('node:v8')).writeHeapSnapshot(join(args.heapSnapshots, 'soak-end.heapsnapshot'));
    const seconds = watch.stop().wallMs / 1000;
    const show = (pick: (m: typeof start) => number): string => [start, middle, end].map((m) => (pick(m) / 2 ** 20).toFixed(1)).join(' / ');
    log(`  soak: ${args.changes} changes, heap ${show((m) => m.heap)} MiB, external ${show((m) => m.external)}, rss ${show((m) => m.rss)}, ${Math.round(args.changes / seconds)} changes/s`);
    return {
      workload: args.workload,
      changes: args.changes,
      heap: { start: start.heap, middle: middle.heap, end: end.heap },
      rss: { start: start.rss, middle: middle.rss, end: end.rss },
      changesPerSecond: Math.round(args.changes / seconds),
      clientChanges: received.changes,
    };
  } finally {
    clients.abort();
    await Promise.all(following);
    await server?.close();
    await pr?.shutdown();
    await writer.end();
    await db.done();
  }
}

/** An Electric client reduced to its requests: the snapshot, then live long polls, counting the changes it receives. */
async function followLive(shapeUrl: string, signal: AbortSignal, received: { changes: number }): Promise<void> {
  let offset = '-1';
  let handle = '';
  let cursor = '';
  let live = false;
  while (!signal.aborted) {
    try {
      const url = `${shapeUrl}&offset=${offset}${handle ? `&handle=${handle}` : ''}${live ? `&live=true&cursor=${cursor}` : ''}`;
      const response = await fetch(url, { signal });
      const messages = (await response.json()) as { headers?: { operation?: string } }[];
      if (response.status !== 200) throw new Error(`${url}: ${response.status} ${JSON.stringify(messages)}`);
      if (live) received.changes += messages.filter((m) => m.headers?.operation).length;
      handle = response.headers.get('electric-handle') ?? handle;
      offset = response.headers.get('electric-offset') ?? offset;
      cursor = response.headers.get('electric-cursor') ?? cursor;
      if (response.headers.has('electric-up-to-date')) live = true;
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
  }
}

export const POSTGRES_DESCRIPTION = `beside a real Postgres, through what serve runs: follow = 100 shapes of 10 rows resynced at start on a small and a large table, then adds of 10-row shapes (CPU ms); soak = row changes in transactions of 1,000 through 100 shapes (every change reaches one), 10 followed by live HTTP clients; heap and RSS after GC`;

export const FOLLOW_COLUMNS: readonly Column[] = [
  { key: 'rows', title: 'table rows' },
  { key: 'catchUpMs', title: 'start to caught up ms' },
  { key: 'catchUpCpuMs', title: 'of it CPU ms' },
  { key: 'walMiB', title: 'WAL to decode MiB' },
  { key: 'rssMiB', title: 'RSS MiB' },
  { key: 'heapMiB', title: 'heap MiB' },
  { key: 'addCpuMs', title: 'add CPU ms (median)' },
  { key: 'addWallMs', title: 'add wall ms (median)' },
];

export const SOAK_COLUMNS: readonly Column[] = [
  { key: 'changes', title: 'row changes' },
  { key: 'heapStartMiB', title: 'heap start MiB' },
  { key: 'heapMiddleMiB', title: 'heap middle MiB' },
  { key: 'heapEndMiB', title: 'heap end MiB' },
  { key: 'rssStartMiB', title: 'RSS start MiB' },
  { key: 'rssEndMiB', title: 'RSS end MiB' },
  { key: 'changesPerSecond', title: 'changes/s' },
  { key: 'clientChanges', title: 'changes to clients' },
];

const mib = (bytes: number): number => round(bytes / 2 ** 20, 1);
const rowsText = (n: number): string => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1_000 ? `${n / 1_000}k` : String(n));
const atMost = (v: number, limit: number): boolean => v <= limit;

export function summarizePostgres(follow: readonly FollowCaseResult[], soak: readonly SoakCaseResult[]): { followRows: Record<string, Cell>[]; soakRows: Record<string, Cell>[]; checks: TargetCheck[] } {
  const followRows = follow.map((f) => ({
    rows: f.rows,
    catchUpMs: f.catchUpMs,
    catchUpCpuMs: f.catchUpCpuMs,
    walMiB: mib(f.walToDecode),
    rssMiB: mib(f.rss),
    heapMiB: mib(f.heap),
    addCpuMs: round(median(f.adds.map((t) => t.cpuMs)), 2),
    addWallMs: round(median(f.adds.map((t) => t.wallMs)), 2),
  }));
  const soakRows = soak.map((s) => ({
    changes: s.changes,
    heapStartMiB: mib(s.heap.start),
    heapMiddleMiB: mib(s.heap.middle),
    heapEndMiB: mib(s.heap.end),
    rssStartMiB: mib(s.rss.start),
    rssEndMiB: mib(s.rss.end),
    changesPerSecond: s.changesPerSecond,
    clientChanges: s.clientChanges,
  }));
  const checks: TargetCheck[] = [];
  const small = follow.find((f) => f.rows === Math.min(...follow.map((x) => x.rows)));
  const large = follow.find((f) => f.rows === Math.max(...follow.map((x) => x.rows)));
  if (small && large && small !== large) {
    const rss = large.rss / small.rss;
    checks.push(check(`serve RSS after catch-up, ${rowsText(large.rows)}-row table vs ${rowsText(small.rows)} (same shapes), within 1.25x`, `${mib(large.rss)} / ${mib(small.rss)} MiB = ${round(rss, 2)}x`, rss, 1.25, atMost));
    const cpu = median(large.adds.map((t) => t.cpuMs)) / median(small.adds.map((t) => t.cpuMs));
    const wall = median(large.adds.map((t) => t.wallMs)) / median(small.adds.map((t) => t.wallMs));
    checks.push(check(`add a 10-row shape on a ${rowsText(large.rows)}-row table vs ${rowsText(small.rows)}, within 2x`, `CPU ${round(cpu, 2)}x (wall ${round(wall, 2)}x)`, cpu, 2, atMost));
  }
  for (const s of soak) {
    const ratio = s.heap.end / s.heap.start;
    checks.push(check(`heap after GC at the end of ${s.changes} row changes vs the start, within 1.1x`, `${mib(s.heap.end)} / ${mib(s.heap.start)} MiB = ${round(ratio, 3)}x`, ratio, 1.1, atMost));
  }
  return { followRows, soakRows, checks };
}
