/**
 * `shape-actors serve --http-port` without a database: the embedded store's shapes over HTTP,
 * a real process, stopped by SIGTERM; the other commands are refused while it holds the data dir.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { cli } from '../helpers/run-cli.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { REPO_ROOT, waitFor } from '../integration/postgres-harness.ts';
import { CLI_ARGS } from '../helpers/built-cli.ts';

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
    expect(stdout).toMatch(/stopped \(SIGTERM\) after serving 1 shape\(s\) of the embedded store/);
    expect((await cli('list', '--data-dir', dir)).code).toBe(0);
  });

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
