/**
 * `shape-actors serve --http-port` without a database: the embedded store's shapes over HTTP,
 * a real process, stopped by SIGTERM; the other commands are refused while it holds the data dir;
 * SIGKILLed while the real `@electric-sql/client` follows a subquery shape, then restarted, the
 * client goes on under its handle with no 409 and receives what was applied while it was down;
 * a DELETE (--allow-deletion) then costs it exactly one 409. A service of 10k shapes started with
 * less than a 64 MiB semi-space is told so at start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { canonicalRows, follow } from '../helpers/electric-client.ts';
import { cli } from '../helpers/run-cli.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { REPO_ROOT, waitFor } from '../integration/postgres-harness.ts';
import { CLI_ARGS } from '../helpers/built-cli.ts';
import { buildDataset, writeDataDir } from '../../bench/lib/shape-dataset.ts';
import { LARGE_SERVICE_SHAPES, SERVICE_SEMI_SPACE_MIB } from '../../src/cli/young-generation.ts';

const tempDir = useTempDirs();

describe('serve --http-port on the embedded store', () => {
  it('serves the data dir over HTTP until SIGTERM; the CLI reaches it through HTTP meanwhile', async () => {
    const dir = await tempDir();
    const tx = join(dir, '..', `${dir.split('/').at(-1)}-tx.jsonl`);
    await writeFile(tx, `${JSON.stringify({ xid: 1, changes: [{ op: 'insert', table: 'public.users', row: { id: 1, name: 'ann' } }] })}\n`);
    expect((await cli('add', '--data-dir', dir, '--table', 'users')).code).toBe(0);
    expect((await cli('apply', '--data-dir', dir, '--file', tx)).code).toBe(0);

    const child = spawn(process.execPath, [...CLI_ARGS, 'serve', '--data-dir', dir, '--http-port', '0', '--secret', 'k'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: withoutDatabase() });
    let stderr = '';
    let stdout = '';
    onTestFinished(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'))); // never left running, even when an expectation fails
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const url = await waitFor('serve to listen', () => /serving shapes on (http:\/\/127\.0\.0\.1:\d+)\/v1\/shape \(secret required\)/.exec(stderr)?.[1], 30_000);
    const response = await fetch(`${url}/v1/shape?table=users&offset=-1&secret=k`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([{ headers: { control: 'snapshot-end', xmin: '1', xmax: '1', xip_list: [] } }]); // added before the row came
    const handle = response.headers.get('electric-handle')!;
    const log = await fetch(`${url}/v1/shape?table=users&offset=0_inf&handle=${handle}&secret=k`);
    expect(((await log.json()) as { value?: unknown }[])[0]?.value).toEqual({ id: '1', name: 'ann' });
    expect((await fetch(`${url}/v1/shape?table=users&offset=-1`)).status).toBe(401);
    const refused = await cli('list', '--data-dir', dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/in use by process/);

    const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.kill('SIGTERM');
    expect(await exit).toEqual({ code: 0, signal: null });
    // The one shape was kept and woke once (its first read), and the stop says so.
    expect(stdout).toMatch(/stopped \(SIGTERM\) after serving 1 shape\(s\) of the embedded store at \S+ \(1 shape kept, 1 woke\)/);
    expect((await cli('list', '--data-dir', dir)).code).toBe(0);
  }, 120_000);

  it('a client of a subquery shape keeps its handle across SIGKILL of serve, with no 409, and receives what was applied meanwhile; a DELETE then costs it one 409 (--http-host, the secret from $SHAPE_ACTORS_SECRET, --allow-deletion)', async () => {
    const dir = await tempDir();
    const txFile = async (name: string, transactions: object[]) => {
      const file = join(dir, '..', `${dir.split('/').at(-1)}-${name}.jsonl`);
      await writeFile(file, transactions.map((t) => `${JSON.stringify(t)}\n`).join(''));
      return file;
    };
    const ins = (table: string, row: object) => ({ op: 'insert', table, row });
    const first = await txFile('tx1', [
      { xid: 1, changes: [ins('public.users', { id: 1, name: 'ann' }), ins('public.users', { id: 2, name: 'bob' }), ins('public.memberships', { id: 10, user_id: 1, org_id: 7 })] },
    ]);
    const where = 'id IN (SELECT user_id FROM public.memberships WHERE org_id = 7)';
    expect((await cli('add', '--data-dir', dir, '--table', 'users', '--where', where)).code).toBe(0);
    expect((await cli('apply', '--data-dir', dir, '--file', first)).code).toBe(0);

    let child: ChildProcess | null = null;
    onTestFinished(() => void (child && child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
    const start = async (port: number): Promise<string> => {
      // Another loopback address (--http-host), the secret from the environment, DELETE allowed.
      const args = ['serve', '--data-dir', dir, '--http-port', String(port), '--http-host', '127.0.0.2', '--long-poll', '500', '--allow-deletion'];
      const c = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...withoutDatabase(), SHAPE_ACTORS_SECRET: 'from-env' } });
      child = c;
      let stderr = '';
      c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      return waitFor('serve to listen', () => /serving shapes on (http:\/\/127\.0\.0\.2:\d+)\/v1\/shape \(secret required\)/.exec(stderr)?.[1], 30_000);
    };
    const url = await start(0);
    expect((await fetch(`${url}/v1/shape?table=users&offset=-1`)).status).toBe(401);
    const client = follow(url, 'members of 7', { table: 'public.users', where }, { secret: 'from-env' });
    onTestFinished(() => client.stop());
    const rowsAre = (want: Record<string, unknown>[], what: string) =>
      waitFor(what, () => {
        if (client.errors.length > 0) throw new Error(String(client.errors[0]));
        return canonicalRows(client.rows()) === canonicalRows(new Map(want.map((r) => [JSON.stringify([r.id]), r])));
      }, 30_000);
    await rowsAre([{ id: 1, name: 'ann' }], 'the client to hold ann');
    const handle = client.stream.shapeHandle;
    // The client holds a live request now; serve dies under it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const killed = child!;
    const exit = new Promise((resolve) => killed.once('exit', (code, signal) => resolve({ code, signal })));
    killed.kill('SIGKILL');
    expect(await exit).toEqual({ code: null, signal: 'SIGKILL' });
    // While nothing serves: bob joins org 7 (a move-in), ann leaves it (a move-out), a new user joins.
    const second = await txFile('tx2', [
      { xid: 2, changes: [ins('public.memberships', { id: 11, user_id: 2, org_id: 7 }), { op: 'delete', table: 'public.memberships', row: { id: 10, user_id: 1, org_id: 7 } }] },
      { xid: 3, changes: [ins('public.users', { id: 3, name: 'cyd' }), ins('public.memberships', { id: 12, user_id: 3, org_id: 7 })] },
    ]);
    const applied = await cli('apply', '--data-dir', dir, '--file', second);
    expect(applied.code, applied.stderr).toBe(0);
    await start(Number(new URL(url).port));
    await rowsAre([{ id: 2, name: 'bob' }, { id: 3, name: 'cyd' }], 'the client to hold bob and cyd');
    expect(client.stream.shapeHandle).toBe(handle);
    expect(client.refetches()).toBe(0);
    expect(client.handles()).toEqual([handle]);
    // DELETE (--allow-deletion) while the client waits: one 409, then the same rows under a new handle.
    const deleted = await fetch(`${url}/v1/shape?handle=${handle}&secret=from-env`, { method: 'DELETE' });
    expect(deleted.status).toBe(202);
    await waitFor('the client to refetch', () => client.refetches() === 1 && client.handles().length === 2, 30_000);
    await rowsAre([{ id: 2, name: 'bob' }, { id: 3, name: 'cyd' }], 'the client to hold bob and cyd again');
    expect(client.stream.shapeHandle).not.toBe(handle);
  }, 120_000);

  it('a service of 10k shapes is told at start to run node with a 64 MiB semi-space, and is not told when it does (NODE_OPTIONS)', async () => {
    const dir = await tempDir();
    await writeDataDir(dir, await buildDataset({ size: LARGE_SERVICE_SHAPES }));
    const serveOnce = async (nodeOptions: string | undefined): Promise<string> => {
      const env = withoutDatabase();
      if (nodeOptions === undefined) delete env.NODE_OPTIONS;
      else env.NODE_OPTIONS = nodeOptions;
      const child = spawn(process.execPath, [...CLI_ARGS, 'serve', '--data-dir', dir, '--http-port', '0', '--log-level', 'warn'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
      onTestFinished(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      await waitFor('serve to listen', () => /serving shapes on http/.test(stderr), 60_000);
      const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      child.kill('SIGTERM');
      expect(await exit).toEqual({ code: 0, signal: null });
      return stderr;
    };
    const advised = (stderr: string) => stderr.split('\n').filter((line) => line.includes('"recommendedSemiSpaceMiB"')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const withDefault = advised(await serveOnce(undefined));
    expect(withDefault).toHaveLength(1);
    expect(withDefault[0]).toMatchObject({ level: 40, shapes: LARGE_SERVICE_SHAPES, semiSpaceMiB: null, recommendedSemiSpaceMiB: SERVICE_SEMI_SPACE_MIB });
    expect(withDefault[0]!.msg).toContain(`NODE_OPTIONS=--max-semi-space-size=${SERVICE_SEMI_SPACE_MIB}`);
    expect(advised(await serveOnce('--max-semi-space-size=32'))[0]).toMatchObject({ semiSpaceMiB: 32 });
    expect(advised(await serveOnce(`--max-semi-space-size=${SERVICE_SEMI_SPACE_MIB}`))).toEqual([]);
  }, 180_000);

  it('says what it needs when given neither a database nor a port', async () => {
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    const run = await cli('serve', '--data-dir', await tempDir()).finally(() => {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/serve needs --database-url .* or --http-port/);
  });
});

function withoutDatabase(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  return env;
}
