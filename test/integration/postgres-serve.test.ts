/**
 * `serve` and `startPostgresRuntime` as a user runs them (issue 14, items 7-9): they end
 * promptly once stopped, they never delete a shape because its table cannot be followed
 * (unless asked to), and a shape naming a column the table lacks is refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startPostgresRuntime } from '../../src/sources/postgres/index.ts';
import { cli } from '../helpers/run-cli.ts';
import { acquireServer, announceSkip, createTestDatabase, REPO_ROOT, waitFor } from './postgres-harness.ts';
import { CLI_ARGS } from '../helpers/built-cli.ts';

const acquired = await acquireServer();
announceSkip('postgres-serve', acquired.skip);

/** A process that lingers on a forgotten timer takes 10-15 s; ending takes well under a second. */
const PROMPT_EXIT_MS = 5_000;

describe.skipIf(acquired.server === null)('serve and startPostgresRuntime, as a user runs them', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await acquired.server?.stop();
  });

  async function setup(prefix: string, ddl: string): Promise<{ url: string; dataDir: string }> {
    const database = await createTestDatabase(acquired.server!.url, prefix);
    const { adminQuery } = await import('./postgres-harness.ts');
    await adminQuery(database.url, ddl);
    const dataDir = await mkdtemp(join(tmpdir(), `${prefix}-`));
    cleanups.push(async () => {
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    });
    return { url: database.url, dataDir };
  }

  function run(args: readonly string[]): { child: ChildProcess; output: () => string; exited: Promise<{ code: number | null; at: number }> } {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    cleanups.push(async () => void child.kill('SIGKILL'));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
    return { child, output: () => output, exited };
  }

  it('a program that used startPostgresRuntime ends as soon as it shut down', { timeout: 90_000 }, async () => {
    const { url, dataDir } = await setup('pg_program', 'CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 1);');
    const program = run(['--import', 'tsx', join(REPO_ROOT, 'test', 'integration', 'postgres-program.ts'), url, dataDir, 'public.t']);
    await waitFor('the program to shut down', () => program.output().includes('shut down') || program.child.exitCode !== null, 60_000);
    const shutDownAt = Date.now();
    const { code, at } = await program.exited;
    expect(code, program.output()).toBe(0);
    expect(at - shutDownAt, 'ms between shutdown() resolving and the process ending').toBeLessThan(PROMPT_EXIT_MS);
  });

  it('serve ends promptly after SIGTERM', { timeout: 90_000 }, async () => {
    const { url, dataDir } = await setup('pg_sigterm', 'CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 1);');
    expect((await cli('add', '--data-dir', dataDir, '--table', 't')).code).toBe(0);
    const serve = run([...CLI_ARGS, 'serve', '--data-dir', dataDir, '--database-url', url, '--log-level', 'info']);
    await waitFor('serve to follow the table', () => serve.output().includes('table synced'), 60_000);
    const signalledAt = Date.now();
    serve.child.kill('SIGTERM');
    const { code, at } = await serve.exited;
    expect(code, serve.output()).toBe(0);
    expect(at - signalledAt, 'ms between SIGTERM and the process ending').toBeLessThan(PROMPT_EXIT_MS);
  });

  it('serve says when it has caught up: a log line with the position and the time since start, and on /v1/health', { timeout: 120_000 }, async () => {
    const { url, dataDir } = await setup('pg_caught_up', 'CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, 0 FROM generate_series(1, 50) g;');
    expect((await cli('add', '--data-dir', dataDir, '--table', 't', '--where', 'id <= 10')).code).toBe(0);
    const first = run([...CLI_ARGS, 'serve', '--data-dir', dataDir, '--database-url', url, '--log-level', 'info']);
    await waitFor('the first serve to catch up', () => first.output().includes('"msg":"caught up"'), 60_000);
    first.child.kill('SIGTERM');
    expect((await first.exited).code, first.output()).toBe(0);
    // A backlog written while nothing serves: the next serve has it to apply before it is caught up.
    const { adminQuery } = await import('./postgres-harness.ts');
    for (let i = 1; i <= 30; i++) await adminQuery(url, `UPDATE t SET v = ${i}`);
    const serve = run([...CLI_ARGS, 'serve', '--data-dir', dataDir, '--database-url', url, '--http-port', '0', '--log-level', 'info']);
    await waitFor('serve to catch up', () => serve.output().includes('"msg":"caught up"') || serve.child.exitCode !== null, 60_000);
    const lines = serve.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const caughtUp = lines.find((l) => l.msg === 'caught up')!;
    const serving = lines.findIndex((l) => l.msg === 'serving: following the database');
    expect(serving, serve.output()).toBeGreaterThanOrEqual(0);
    expect(lines.indexOf(caughtUp), 'the caught-up line comes after the start line').toBeGreaterThan(serving);
    expect(caughtUp.position).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(caughtUp.sinceStartMs).toEqual(expect.any(Number));
    expect(caughtUp.sinceStartMs as number).toBeGreaterThanOrEqual(caughtUp.followingMs as number);
    const base = /serving shapes on (http:\/\/[^/\s]+)\/v1\/shape/.exec(serve.output())![1]!;
    const health = await fetch(`${base}/v1/health`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'active', source: { state: 'following', position: expect.any(String), backlog: 0, caughtUp: { position: caughtUp.position, sinceStartMs: caughtUp.sinceStartMs, followingMs: caughtUp.followingMs } } }]);
    // Caught up means the backlog is applied: the shape holds the last write.
    const rows = new Map<string, Record<string, string>>();
    for (let offset = '-1', handle = '', upToDate = false; !upToDate; ) {
      const response = await fetch(`${base}/v1/shape?table=t&where=${encodeURIComponent('id <= 10')}&offset=${offset}${handle ? `&handle=${handle}` : ''}`);
      for (const m of (await response.json()) as { key?: string; value?: Record<string, string> }[]) if (m.key && m.value) rows.set(m.key, { ...rows.get(m.key), ...m.value });
      [offset, handle, upToDate] = [response.headers.get('electric-offset')!, response.headers.get('electric-handle')!, response.headers.has('electric-up-to-date')];
    }
    expect(rows.size).toBe(10);
    expect(new Set([...rows.values()].map((r) => r.v))).toEqual(new Set(['30']));
    serve.child.kill('SIGTERM');
    expect((await serve.exited).code, serve.output()).toBe(0);
  });

  describe('shapes whose table cannot be followed', () => {
    const ddl = 'CREATE TABLE t (id int PRIMARY KEY, v int); CREATE TABLE nokey (v int); INSERT INTO t VALUES (1, 1);';

    /** Shapes on a missing table, on a table without a primary key, and on a good table, added while nothing serves. */
    async function addShapes(dataDir: string): Promise<{ missing: string; nokey: string; good: string }> {
      const add = async (table: string): Promise<string> => {
        const out = await cli('add', '--data-dir', dataDir, '--table', table, '--json');
        expect(out.code, out.stderr).toBe(0);
        return (JSON.parse(out.stdout) as { handle: string }).handle;
      };
      return { missing: await add('public.gone'), nokey: await add('public.nokey'), good: await add('public.t') };
    }

    async function listed(dataDir: string): Promise<string[]> {
      const out = await cli('list', '--data-dir', dataDir, '--json');
      expect(out.code, out.stderr).toBe(0);
      return (JSON.parse(out.stdout) as { shapes: { handle: string }[] }).shapes.map((s) => s.handle).sort();
    }

    async function serveUntil(url: string, dataDir: string, extra: readonly string[], until: (output: string) => boolean): Promise<string> {
      const serve = run([...CLI_ARGS, 'serve', '--data-dir', dataDir, '--database-url', url, '--log-level', 'info', ...extra]);
      await waitFor('serve to judge the tables', () => until(serve.output()) || serve.child.exitCode !== null, 60_000);
      serve.child.kill('SIGTERM');
      expect((await serve.exited).code, serve.output()).toBe(0);
      return serve.output();
    }

    it('serve reports them at start and keeps them (nothing is deleted unasked)', { timeout: 90_000 }, async () => {
      const { url, dataDir } = await setup('pg_unfollowable', ddl);
      const shapes = await addShapes(dataDir);
      const output = await serveUntil(url, dataDir, [], (o) => o.includes('table synced') && /cannot be followed[\s\S]*cannot be followed/.test(o));
      expect(output).toMatch(/public\.gone.*does not exist|does not exist.*public\.gone/);
      expect(output).toMatch(/public\.nokey.*no primary key|no primary key.*public\.nokey/);
      expect(output).not.toMatch(/removing the shapes of a table/);
      expect(await listed(dataDir)).toEqual([shapes.missing, shapes.nokey, shapes.good].sort());
    });

    it('--unfollowable-tables remove removes them, saying why', { timeout: 90_000 }, async () => {
      const { url, dataDir } = await setup('pg_unfollowable_rm', ddl);
      const shapes = await addShapes(dataDir);
      const output = await serveUntil(url, dataDir, ['--unfollowable-tables', 'remove'], (o) => o.includes('table synced') && (o.match(/"reason":"table-unfollowable"/g) ?? []).length >= 2);
      expect(output).toMatch(/does not exist/);
      expect(await listed(dataDir)).toEqual([shapes.good]);
    });
  });

  describe('definitions the database contradicts are refused while serving', () => {
    it('a where clause, a subquery or a column list naming a column the table lacks', { timeout: 60_000 }, async () => {
      const { url, dataDir } = await setup('pg_columns', 'CREATE TABLE todos (id int PRIMARY KEY, title text); CREATE TABLE owners (id int PRIMARY KEY, todo_id int);');
      const pr = await startPostgresRuntime({ dataDir, databaseUrl: url });
      try {
        await expect(pr.source.add({ table: 'todos', where: 'nosuchcol = 1' })).rejects.toThrow(/column nosuchcol .*public\.todos|public\.todos.*column nosuchcol/);
        await expect(pr.source.add({ table: 'todos', where: 'id IN (SELECT nosuch FROM owners)' })).rejects.toThrow(/nosuch.*public\.owners|public\.owners.*nosuch/);
        await expect(pr.source.add({ table: 'todos', where: 'id IN (SELECT todo_id FROM owners WHERE other > 1)' })).rejects.toThrow(/other.*public\.owners|public\.owners.*other/);
        await expect(pr.source.add({ table: 'todos', columns: ['title', 'due'] })).rejects.toThrow(/due.*public\.todos|public\.todos.*due/);
        expect(pr.runtime.list()).toEqual([]);
        // The same definitions, spelled right, are taken.
        await pr.source.add({ table: 'todos', where: 'id IN (SELECT todo_id FROM owners WHERE id > 1)', columns: ['title'] });
        expect(pr.runtime.list().length).toBe(2);
      } finally {
        await pr.shutdown();
      }
    });

  });
});

describe('add, before anything serves', () => {
  it('add --where "" is refused rather than taken for a whole-table shape', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pg-empty-where-'));
    try {
      expect((await cli('add', '--data-dir', dataDir, '--table', 'public.other')).code).toBe(0);
      for (const where of ['', '   ']) {
        const out = await cli('add', '--data-dir', dataDir, '--table', 'public.t', '--where', where);
        expect(out.code).toBe(2);
        expect(out.stderr).toMatch(/--where is empty/);
      }
      const listed = JSON.parse((await cli('list', '--data-dir', dataDir, '--json')).stdout) as { shapes: { definition: { table: string } }[] };
      expect(listed.shapes.map((s) => s.definition.table)).toEqual(['public.other']);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
