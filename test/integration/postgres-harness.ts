/**
 * Real Postgres for the integration tests.
 *
 * The server: `SHAPE_ACTORS_TEST_DATABASE_URL` when set (CI starts one with
 * scripts/postgres-test-server.sh and exports it); otherwise the script is
 * run here to start a private one (installing PostgreSQL if it can). Only when
 * neither works are the tests skipped, with the reason printed.
 *
 * Each test file gets its own database (created here, dropped at the end), so
 * files run in parallel against one server.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { pgTypes } from '../../src/sources/postgres/values.ts';

const run = promisify(execFile);
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SERVER_SCRIPT = join(REPO_ROOT, 'scripts', 'postgres-test-server.sh');

export interface PgServer {
  /** URL of the server's `postgres` database (a superuser connection). */
  readonly url: string;
  /** Stops the server when this harness started it (a server given by URL is left alone). */
  stop(): Promise<void>;
}

export type ServerOrSkip = { readonly server: PgServer; readonly skip: null } | { readonly server: null; readonly skip: string };

/** The server to test against: the given URL, else one the script starts; else why not. */
export async function acquireServer(options: { walLevel?: 'replica' | 'logical' } = {}): Promise<ServerOrSkip> {
  const given = process.env.SHAPE_ACTORS_TEST_DATABASE_URL;
  if (given && (options.walLevel ?? 'logical') === 'logical') return { server: { url: given, stop: async () => {} }, skip: null };
  const dir = await mkdtemp(join(tmpdir(), 'shape-actors-pg-'));
  try {
    const { stdout } = await run(SERVER_SCRIPT, ['start', '--dir', dir, '--wal-level', options.walLevel ?? 'logical'], { timeout: 600_000 });
    const url = stdout.trim().split('\n').at(-1)!;
    return {
      server: {
        url,
        stop: async () => {
          // The script removes what it created in the (adopted) temp dir; the dir itself is ours.
          await run(SERVER_SCRIPT, ['stop', '--dir', dir], { timeout: 120_000 }).catch(() => undefined);
          await rm(dir, { recursive: true, force: true });
        },
      },
      skip: null,
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    const stderr = (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? String(error);
    return {
      server: null,
      skip: `no PostgreSQL for the integration tests: SHAPE_ACTORS_TEST_DATABASE_URL is not set and ${SERVER_SCRIPT} could not start a server (${stderr})`,
    };
  }
}

/** Says why a suite is skipped, once, where the test output shows it. */
export function announceSkip(suite: string, skip: string | null): void {
  if (skip) console.warn(`[${suite}] SKIPPED: ${skip}`);
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh database on the server; `drop()` removes it (and any replication slot left in it). */
export async function createTestDatabase(serverUrl: string, prefix: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`.toLowerCase();
  // C collation: text compares by code point there, as the where evaluator does (see the README's limits).
  await adminQuery(serverUrl, `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  return {
    url: withDatabase(serverUrl, name),
    name,
    async drop() {
      await adminQuery(serverUrl, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = '${name}' AND active_pid IS NOT NULL`).catch(() => undefined);
      for (let i = 0; i < 20; i++) {
        try {
          await adminQuery(serverUrl, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '${name}'`);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    },
  };
}

export async function adminQuery(url: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, types: pgTypes });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

/** A connection decoding values as the source does (so rows compare equal). */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, types: pgTypes });
  await client.connect();
  return client;
}

export interface ReplayedEntry {
  readonly op: 'insert' | 'update' | 'delete';
  readonly key: string;
  readonly row: Readonly<Record<string, unknown>>;
}

/** Replays a shape log: key -> row (an update merges into the row it updates). */
export function replay(entries: readonly ReplayedEntry[]): Map<string, Record<string, unknown>> {
  const rows = new Map<string, Record<string, unknown>>();
  for (const e of entries) {
    if (e.op === 'delete') rows.delete(e.key);
    else if (e.op === 'update') rows.set(e.key, { ...rows.get(e.key), ...e.row });
    else rows.set(e.key, { ...e.row });
  }
  return rows;
}

/** Rows keyed like shape logs (JSON of the key column values), sorted for comparison. */
export function keyed(rows: readonly Record<string, unknown>[], keyColumns: readonly string[]): [string, Record<string, unknown>][] {
  return rows.map((r) => [JSON.stringify(keyColumns.map((c) => r[c])), { ...r }] as [string, Record<string, unknown>]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function sortedEntries(rows: Map<string, Record<string, unknown>>): [string, Record<string, unknown>][] {
  return [...rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A fresh database (created with `ddl`), a connection to it decoding as the source does, and an
 * empty data dir; `cleanups` gets what removes all three.
 */
export async function databaseWithDataDir(serverUrl: string, prefix: string, ddl: string, cleanups: (() => Promise<void>)[]): Promise<{ url: string; db: pg.Client; dataDir: string }> {
  const database = await createTestDatabase(serverUrl, prefix);
  const db = await connect(database.url);
  await db.query(ddl);
  const dataDir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  cleanups.push(async () => {
    await db.end().catch(() => undefined);
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { url: database.url, db, dataDir };
}
