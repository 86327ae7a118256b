/**
 * Exactly once across crashes, end to end: `shape-actors serve` (a child
 * process) follows a real Postgres while a seeded workload inserts, updates
 * and deletes rows (membership moves included, so move-ins and move-outs go
 * through nested subqueries); the child is SIGKILLed at random moments (and
 * the workload sometimes runs while it is down), then restarted. At the end
 * it is stopped with SIGTERM (a clean shutdown writes a backup), and each
 * shape's log, replayed, must equal a direct SQL query of its where clause.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { acquireServer, announceSkip, connect, createTestDatabase, keyed, REPO_ROOT, replay, sortedEntries, waitFor, type ReplayedEntry } from './postgres-harness.ts';
import { rng } from '../helpers/crash-workload.ts';
import { CLI_ARGS } from '../helpers/built-cli.ts';

const acquired = await acquireServer();
announceSkip('postgres-crash', acquired.skip);

const ROUNDS = Number(process.env.SHAPE_ACTORS_PG_CRASH_ROUNDS ?? 6);
const SEED = Number(process.env.SHAPE_ACTORS_PG_CRASH_SEED ?? 20261129);

const SHAPES = [
  { name: 'active users', table: 'users', where: 'id IN (SELECT user_id FROM memberships WHERE org_id IN (SELECT id FROM orgs WHERE active))', key: ['id'] },
  { name: 'items of high scorers', table: 'items', where: 'price > 50 AND owner_id IN (SELECT id FROM users WHERE score >= 5)', key: ['id'] },
  { name: 'memberships of active orgs', table: 'memberships', where: 'org_id IN (SELECT id FROM orgs WHERE active)', key: ['user_id', 'org_id'] },
  { name: 'non-members', table: 'users', where: 'score BETWEEN 2 AND 8 AND id NOT IN (SELECT user_id FROM memberships WHERE org_id = 3)', columns: ['score'], key: ['id'] },
  { name: 'orgs', table: 'orgs', where: undefined, key: ['id'] },
] as const;

describe.skipIf(acquired.server === null)('serve beside Postgres, SIGKILLed and restarted', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await acquired.server?.stop();
  });

  it(`each shape's log replays to a direct SQL query after ${ROUNDS} kill/restart rounds`, { timeout: 600_000 }, async () => {
    const started = Date.now();
    const database = await createTestDatabase(acquired.server!.url, 'pg_crash');
    const db = await connect(database.url);
    const dataDir = await mkdtemp(join(tmpdir(), 'pg-crash-'));
    const logFile = join(dataDir, '..', `${dataDir.split('/').at(-1)}-serve.log`);
    const serveLog = createWriteStream(logFile);
    let child: ChildProcess | null = null;
    let failed = false;
    onTestFailed(() => void (failed = true));
    cleanups.push(async () => {
      child?.kill('SIGKILL');
      await db.end().catch(() => undefined);
      serveLog.end();
      if (process.env.SHAPE_ACTORS_KEEP_TEST_DIRS) return console.info(`[postgres-crash] kept ${dataDir}, ${logFile} and database ${database.name}`);
      await database.drop();
      // A failure's evidence stays (the message names the serve log): the data dir and the log, not the database.
      if (failed) return console.info(`[postgres-crash] failed: kept ${dataDir} and ${logFile}`);
      await rm(dataDir, { recursive: true, force: true });
      await rm(logFile, { force: true });
    });

    await db.query(`
      CREATE TABLE orgs (id int PRIMARY KEY, active boolean NOT NULL, name text NOT NULL);
      CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, score int NOT NULL);
      CREATE TABLE memberships (user_id int NOT NULL, org_id int NOT NULL, since date NOT NULL DEFAULT '2026-01-01', PRIMARY KEY (user_id, org_id));
      CREATE TABLE items (id bigint PRIMARY KEY, owner_id int NOT NULL, price numeric(10,2) NOT NULL, label text);
      INSERT INTO orgs SELECT g, g % 2 = 1, 'org ' || g FROM generate_series(1, 8) g;
      INSERT INTO users SELECT g, 'user ' || g, g % 10 FROM generate_series(1, 80) g;
      INSERT INTO memberships (user_id, org_id) SELECT g, 1 + g % 8 FROM generate_series(1, 80) g;
      INSERT INTO memberships (user_id, org_id) SELECT g, 1 + (g * 3) % 8 FROM generate_series(1, 80, 3) g ON CONFLICT DO NOTHING;
      INSERT INTO items SELECT g, 1 + g % 80, (g * 7) % 100 + 0.5, 'item ' || g FROM generate_series(1, 200) g;
    `);

    // The shapes are added while nothing serves (the CLI's add), then `serve` syncs their tables.
    const handles: string[] = [];
    for (const shape of SHAPES) {
      const args = ['add', '--data-dir', dataDir, '--table', shape.table, '--json'];
      if (shape.where) args.push('--where', shape.where);
      if ('columns' in shape) args.push('--columns', shape.columns.join(','));
      const out = await runCli(args);
      handles.push((JSON.parse(out) as { handle: string }).handle);
    }

    const random = rng(SEED);
    const serve = (): { child: ChildProcess; streaming: Promise<void> } => {
      const c = spawn(process.execPath, [...CLI_ARGS, 'serve', '--data-dir', dataDir, '--database-url', database.url, '--log-level', 'info'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      c.stdout!.on('data', (d: Buffer) => serveLog.write(d));
      let seen = '';
      const streaming = new Promise<void>((resolve) => {
        c.stderr!.on('data', (d: Buffer) => {
          serveLog.write(d);
          seen += d.toString();
          if (seen.includes('replication stream started')) resolve();
        });
      });
      return { child: c, streaming };
    };
    const timings: string[] = [];
    let kills = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const t0 = Date.now();
      serveLog.write(`--- round ${round}\n`);
      const run = serve();
      child = run.child;
      // The workload runs all along; the kill comes at a random moment once the stream runs
      // (mid-sync, mid-transaction, mid-move-in), or, one round in four, while it is still restoring.
      let writing = true;
      let batches = 0;
      const writer = (async () => {
        while (writing) {
          await workloadBatch(db, random);
          batches++;
          await sleep(10 + Math.floor(random() * 40));
        }
      })();
      const early = random() < 0.25;
      const delay = early ? Math.floor(random() * 1500) : Math.floor(random() * 2000);
      if (!early) await run.streaming;
      await sleep(delay);
      child.kill('SIGKILL');
      kills++;
      await waitForExit(child);
      writing = false;
      await writer;
      // Sometimes the database moves on while nothing follows it.
      if (random() < 0.5) for (let i = 0; i < 5; i++) await workloadBatch(db, random);
      timings.push(`round ${round}: killed ${delay} ms after ${early ? 'start' : 'streaming began'}, ${batches} batches, ${Date.now() - t0} ms`);
    }

    // The last run: catch up, then a clean stop.
    const t0 = Date.now();
    serveLog.write('--- final run\n');
    child = serve().child;
    for (let i = 0; i < 10; i++) await workloadBatch(db, random);
    // Every table synced (the source records it in the data dir), then everything written so far confirmed.
    await waitFor(
      'serve to sync every table',
      () => {
        try {
          const state = JSON.parse(readFileSync(join(dataDir, 'postgres', 'source.json'), 'utf8')) as { tables: Record<string, unknown> };
          return Object.keys(state.tables).length === 4;
        } catch {
          return false;
        }
      },
      120_000,
    );
    const target = (await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
    await waitFor(
      'serve to confirm everything written',
      async () => (await db.query(`SELECT 1 FROM pg_replication_slots WHERE database = $1 AND confirmed_flush_lsn >= $2::pg_lsn`, [database.name, target])).rows.length === 1,
      120_000,
    );
    child.kill('SIGTERM');
    const exit = await waitForExit(child);
    expect(exit, `serve's exit (log: ${logFile})`).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dataDir, 'backup', 'registry.jsonl'))).toBe(true);
    timings.push(`final run: ${Date.now() - t0} ms`);

    for (const [i, shape] of SHAPES.entries()) {
      const out = await runCli(['log', '--data-dir', dataDir, '--handle', handles[i]!, '--json']);
      const entries = (JSON.parse(out) as { entries: (ReplayedEntry & { xid?: number })[] }).entries;
      const columns = 'columns' in shape ? [...new Set([...shape.key, ...shape.columns])].join(', ') : '*';
      // The where clause as written, run by Postgres.
      const { rows } = await db.query(`SELECT ${columns} FROM ${shape.table}${shape.where ? ` WHERE ${shape.where}` : ''}`);
      expect(sortedEntries(replay(entries)), `${shape.name} (serve log: ${logFile})`).toEqual(keyed(rows, shape.key));
      expectAppliedOnce(entries, shape.name);
    }
    console.info(`[postgres-crash] ${kills} SIGKILLs, ${Date.now() - started} ms in all\n  ${timings.join('\n  ')}`);
  });
});

/** One batch of the workload: row changes and membership moves, some in one transaction. */
async function workloadBatch(db: pg.Client, random: () => number): Promise<void> {
  const user = 1 + Math.floor(random() * 90);
  const org = 1 + Math.floor(random() * 8);
  switch (Math.floor(random() * 10)) {
    case 0:
      await db.query(`UPDATE orgs SET active = NOT active WHERE id = $1`, [org]);
      break;
    case 1:
      await db.query(`INSERT INTO memberships (user_id, org_id) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM users WHERE id = $1) ON CONFLICT DO NOTHING`, [user, org]);
      break;
    case 2:
      await db.query(`DELETE FROM memberships WHERE user_id = $1 AND org_id = (SELECT min(org_id) FROM memberships WHERE user_id = $1)`, [user]);
      break;
    case 3:
      // A key change: the membership moves to another org.
      await db.query(
        `UPDATE memberships SET org_id = $2 WHERE user_id = $1 AND org_id = (SELECT max(org_id) FROM memberships WHERE user_id = $1)
           AND NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1 AND org_id = $2)`,
        [user, org],
      );
      break;
    case 4:
      await db.query(`UPDATE users SET score = $2, name = name || '.' WHERE id = $1`, [user, Math.floor(random() * 10)]);
      break;
    case 5:
      await db.query(`INSERT INTO users VALUES ($1::int, 'user ' || $1::int, $2) ON CONFLICT (id) DO UPDATE SET score = EXCLUDED.score`, [user, Math.floor(random() * 10)]);
      break;
    case 6:
      await db.query(`BEGIN`);
      await db.query(`DELETE FROM memberships WHERE user_id = $1`, [user]);
      await db.query(`DELETE FROM items WHERE owner_id = $1 AND id % 2 = 0`, [user]);
      await db.query(`COMMIT`);
      break;
    case 7:
      await db.query(`INSERT INTO items VALUES ($1, $2, $3, 'new') ON CONFLICT (id) DO UPDATE SET price = EXCLUDED.price, owner_id = EXCLUDED.owner_id`, [
        1 + Math.floor(random() * 300),
        1 + Math.floor(random() * 80),
        (Math.floor(random() * 10000) / 100).toFixed(2),
      ]);
      break;
    case 8:
      await db.query(`UPDATE items SET price = price + 10, label = label || '+' WHERE owner_id = $1`, [user]);
      break;
    default:
      await db.query(`BEGIN`);
      await db.query(`UPDATE orgs SET active = NOT active WHERE id = $1`, [org]);
      await db.query(`UPDATE users SET score = (score + 3) % 10 WHERE id = $1`, [user]);
      await db.query(`INSERT INTO memberships (user_id, org_id) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM users WHERE id = $1) ON CONFLICT DO NOTHING`, [user, 1 + ((org + 1) % 8)]);
      await db.query(`COMMIT`);
  }
}

/** Exactly once: a transaction's entries appear together, once, in commit order; no key inserted twice without a delete between. */
function expectAppliedOnce(entries: readonly (ReplayedEntry & { xid?: number })[], name: string): void {
  const seenXids = new Set<number>();
  let last = -1;
  const present = new Set<string>();
  for (const entry of entries) {
    if (entry.xid !== undefined && entry.xid !== last) {
      expect(seenXids.has(entry.xid), `${name}: transaction ${entry.xid} appears twice`).toBe(false);
      expect(entry.xid, `${name}: transactions out of order`).toBeGreaterThan(last);
      seenXids.add(entry.xid);
      last = entry.xid;
    }
    if (entry.op === 'insert') {
      expect(present.has(entry.key), `${name}: ${entry.key} inserted twice`).toBe(false);
      present.add(entry.key);
    } else if (entry.op === 'delete') {
      present.delete(entry.key);
    }
  }
}

function runCli(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`shape-actors ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

