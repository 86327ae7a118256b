/**
 * Nothing deleted unasked, nothing adopted (issue 14 items 3-6, 11, 13): a destructive policy only
 * where a change was asked for; a dry run leaves even a stale lock alone; only add and serve make
 * a data dir, in a missing or empty directory, and a directory holding anything else is refused;
 * a lock from another host says how to take it over, and is taken over only when asked and only
 * once it stopped being refreshed; doctor and the stores read one layout (serve's postgres/
 * included); and the small messages are one clear line each.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { DATA_DIR_ENTRIES } from '../../src/storage/data-dir-layout.ts';
import { readLockState } from '../../src/storage/data-dir-lock.ts';
import { CLI_ARGS, ROOT } from '../helpers/built-cli.ts';
import { cli, type CliRun } from '../helpers/run-cli.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const SUBQUERY = 'id IN (SELECT user_id FROM public.memberships WHERE org_id = 7)';

/** Every file under `dir` with its bytes, for "nothing changed". */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        out[`${relative(dir, path)}/`] = '';
        await walk(path);
      } else out[relative(dir, path)] = (await readFile(path)).toString('base64');
    }
  };
  await walk(dir);
  return out;
}

/** A data dir with a subquery shape (and its dependency) and a plain one; backup written. */
async function dataDir(): Promise<{ dir: string; outer: string; dependency: string; plain: string }> {
  const dir = join(await tempDir(), 'data');
  const runtime = await createShapeRuntime({ dataDir: dir });
  const outer = await runtime.add({ table: 'public.users', where: SUBQUERY });
  const plain = await runtime.add({ table: 'public.orgs' });
  await runtime.shutdown();
  return { dir, outer: outer.handle, dependency: outer.dependencyHandles[0]!, plain: plain.handle };
}

function expectOneLine(run: CliRun, code: number, pattern: RegExp): void {
  expect(run.code, run.stderr).toBe(code);
  expect(run.stderr).toMatch(/^shape-actors: [^\n]+\n$/);
  expect(run.stderr).toMatch(pattern);
}

function lockOf(host: string, pid = 4242): string {
  return `${JSON.stringify({ pid, hostname: host, acquiredAt: '2026-11-30T08:00:00.000Z' })}\n`;
}

describe('a destructive --policy only where a change was asked for (item 3)', () => {
  it('read commands and unrelated changes refuse dropDependent before touching anything; restore --dry-run and doctor plan it; restore applies it', async () => {
    const { dir, outer, dependency, plain } = await dataDir();
    const before = await snapshot(dir);
    for (const argv of [
      ['log', '--handle', plain],
      ['list'],
      ['values', '--handle', dependency],
      ['add', '--table', 'public.items'],
      ['remove', '--handle', plain],
    ]) {
      const run = await cli(argv[0]!, '--data-dir', dir, '--policy', 'dropDependent', ...argv.slice(1));
      expectOneLine(run, 2, new RegExp(`--policy dropDependent deletes every subquery shape: only restore and serve apply it \\(restore --dry-run and doctor show what it would remove\\), not ${argv[0]}`));
    }
    expect(await snapshot(dir)).toEqual(before);
    const plan = JSON.parse((await cli('restore', '--data-dir', dir, '--dry-run', '--policy', 'dropDependent', '--json')).stdout) as { removed: { handle: string; reason: string }[] };
    expect(plan.removed.map((r) => [r.handle, r.reason]).sort()).toEqual([
      [dependency, 'unused-dependency'],
      [outer, 'policy-drop-dependent'],
    ].sort());
    expect((await cli('doctor', '--data-dir', dir, '--policy', 'dropDependent')).code).toBe(3);
    expect(await snapshot(dir)).toEqual(before);
    const restore = await cli('restore', '--data-dir', dir, '--policy', 'dropDependent', '--json');
    expect(restore.code, restore.stderr).toBe(0);
    expect((await readdir(join(dir, 'shapes'))).filter((n) => !n.startsWith('.'))).toEqual([plain]);
  });
});

describe('restore --dry-run changes nothing, not even a stale lock (item 4)', () => {
  it('leaves the lock a dead process left where it is, byte for byte; the real restore takes it over', async () => {
    const { dir } = await dataDir();
    await writeFile(join(dir, 'lock'), lockOf(hostname(), 2 ** 22 + 4321));
    const before = await snapshot(dir);
    const run = await cli('restore', '--data-dir', dir, '--dry-run', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(await snapshot(dir)).toEqual(before);
    expect((await cli('restore', '--data-dir', dir)).code).toBe(0);
    expect((await readLockState(dir)).kind).toBe('none'); // taken over, then released
  });
});

describe('only add and serve make a data dir, in a missing or empty directory (item 5)', () => {
  it('a directory holding other things is refused by every command, in one line naming it, and nothing is written there', async () => {
    const project = await tempDir();
    await writeFile(join(project, 'package.json'), '{}');
    await mkdir(join(project, 'src'));
    const before = await snapshot(project);
    // serve too, before it reaches for the database (nothing listens on port 1).
    const serve = ['serve', '--database-url', 'postgres://app@127.0.0.1:1/app'];
    for (const argv of [['list'], ['doctor'], ['restore', '--dry-run'], ['add', '--table', 'public.users'], ['apply', '--file', join(project, 'package.json')], serve]) {
      const run = await cli(argv[0]!, '--data-dir', project, ...argv.slice(1));
      expectOneLine(run, 1, /not a shape-actors data dir \(it holds package\.json, src, none of the data dir layout; a data dir is created in an empty or missing directory\)/);
      expect(run.stderr).toContain(project);
    }
    expect(await snapshot(project)).toEqual(before);
    await expect(createShapeRuntime({ dataDir: project })).rejects.toMatchObject({ name: 'StorageError', code: 'not-a-data-dir' });
    expect(await snapshot(project)).toEqual(before);
  });

  it('an empty directory: add makes a data dir there, every other command refuses it and leaves it empty', async () => {
    const empty = await tempDir();
    for (const argv of [['list'], ['doctor'], ['restore'], ['restore', '--dry-run'], ['log', '--handle', '1-2']]) {
      const run = await cli(argv[0]!, '--data-dir', empty, ...argv.slice(1));
      expectOneLine(run, 1, new RegExp(`no data dir at ${empty}: the directory is empty \\(add or serve creates one there\\)`));
    }
    expect(await readdir(empty)).toEqual([]);
    expect((await cli('add', '--data-dir', empty, '--table', 'public.users')).code).toBe(0);
    expect((await cli('add', '--data-dir', join(empty, 'missing', 'dir'), '--table', 'public.users')).code).toBe(0);
    const list = await cli('list', '--data-dir', empty, '--json');
    expect((JSON.parse(list.stdout) as { shapes: unknown[] }).shapes).toHaveLength(1);
  });
});

describe('a lock from another host (item 6)', () => {
  it('is refused with how to recover; --force-unlock takes it over once it went a minute without a refresh, never while it is refreshed', async () => {
    const { dir } = await dataDir();
    const lock = join(dir, 'lock');
    await writeFile(lock, lockOf('old-container-7f3a'));
    const tenMinutesAgo = new Date(Date.now() - 600_000);
    await utimes(lock, tenMinutesAgo, tenMinutesAgo);
    const refused = await cli('list', '--data-dir', dir);
    expectOneLine(refused, 1, /data dir is locked by process 4242 on host old-container-7f3a \(since 2026-11-30T08:00:00.000Z, last refreshed 600 s ago\), which cannot be checked from .*: if nothing on old-container-7f3a uses this data dir any more \(a replaced container, a moved volume\), run again with --force-unlock/);
    expect(await readFile(lock, 'utf8')).toBe(lockOf('old-container-7f3a'));
    const doctor = await cli('doctor', '--data-dir', dir);
    expect(doctor.stdout).toMatch(/held by process 4242 on another host, old-container-7f3a .*refreshed 600 s ago/);
    expect(doctor.stdout).toMatch(/with --force-unlock takes the lock over/);

    const taken = await cli('list', '--data-dir', dir, '--force-unlock', '--json');
    expect(taken.code, taken.stderr).toBe(0);
    expect((JSON.parse(taken.stdout) as { shapes: unknown[] }).shapes).toHaveLength(3);
    expect((await readLockState(dir)).kind).toBe('none'); // taken over, then released at the end

    await writeFile(lock, lockOf('busy-host')); // just written: its process refreshes it
    const busy = await cli('list', '--data-dir', dir, '--force-unlock');
    expectOneLine(busy, 1, /on host busy-host .*: its process is running; --force-unlock takes over a lock from another host only after 60 s without a refresh/);
    expect(await readFile(lock, 'utf8')).toBe(lockOf('busy-host'));
  });
});

describe('one layout for every reader (item 11)', () => {
  it("doctor takes serve's postgres/ (and every other layout entry) as part of the data dir; the README's layout names each", async () => {
    const { dir } = await dataDir();
    await mkdir(join(dir, 'postgres'));
    await writeFile(join(dir, 'postgres', 'source.json'), '{}');
    await writeFile(join(dir, 'notes.txt'), 'mine');
    const doctor = JSON.parse((await cli('doctor', '--data-dir', dir, '--json')).stdout) as { notes: { file: string; finding: string }[] };
    expect(doctor.notes.map((n) => [relative(dir, n.file), n.finding])).toEqual([['notes.txt', 'not part of the data dir layout']]);
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const layout = /## On-disk layout\n\n```\n([\s\S]*?)```/.exec(readme)![1]!;
    for (const entry of DATA_DIR_ENTRIES) expect(layout, entry.name).toMatch(new RegExp(`^  ${entry.name.replace('.', '\\.')}${entry.kind === 'directory' ? '/' : ''}\\s`, 'm'));
  });
});

describe('small messages, one clear line each (item 13)', () => {
  it('a directory as --file, a data dir under a file, /proc/self, an unwritable --trace, a changed --key', async () => {
    const { dir } = await dataDir();
    const root = await tempDir();
    await writeFile(join(root, 'a-file'), 'x');
    expectOneLine(await cli('apply', '--data-dir', dir, '--file', root), 1, new RegExp(`^shape-actors: transaction file is a directory: ${root}\\n$`));
    const under = await cli('list', '--data-dir', join(root, 'a-file', 'sub'));
    expectOneLine(under, 1, /^shape-actors: data dir is not a directory \(a part of its path is a file\): .*a-file\/sub\n$/);
    expect(under.stderr.split('a-file/sub').length).toBe(2); // the path once
    const proc = await cli('list', '--data-dir', '/proc/self');
    expectOneLine(proc, 1, /not a shape-actors data dir \(it holds .* and \d+ more, none of the data dir layout/);
    expect(proc.stderr).not.toMatch(/\.lock-/);
    const before = await snapshot(dir);
    expectOneLine(await cli('list', '--data-dir', dir, '--trace', join(root, 'no', 'such', 'dir', 't.json')), 2, /--trace: cannot write .*t\.json: no such file or directory \(ENOENT\)/);
    expect(await snapshot(dir)).toEqual(before); // refused before the command ran
    const tx = join(root, 'tx.jsonl');
    await writeFile(tx, `${JSON.stringify({ xid: 1, changes: [{ op: 'insert', table: 'public.t', row: { id: 1, name: 'a' } }] })}\n`);
    expect((await cli('apply', '--data-dir', dir, '--file', tx)).code).toBe(0);
    const key = await cli('apply', '--data-dir', dir, '--file', tx, '--key', 'public.t=name');
    expectOneLine(key, 1, /^shape-actors: --key public\.t=name: the data dir records public\.t with key column\(s\) id, and a table's key cannot change/); // no pino line, no "restore failed"
  });

  it('key columns declared unlike the recorded ones: a typed refusal naming the table and both keys, through the API and serve, nothing changed', async () => {
    const { dir } = await dataDir();
    const tx = join(await tempDir(), 'tx.jsonl');
    await writeFile(tx, `${JSON.stringify({ xid: 1, changes: [{ op: 'insert', table: 'public.t', row: { id: 1, name: 'a' } }] })}\n`);
    expect((await cli('apply', '--data-dir', dir, '--file', tx)).code).toBe(0);
    const before = await snapshot(dir);
    const refused = createShapeRuntime({ dataDir: dir, keyColumns: { 'public.t': ['name'] } });
    await expect(refused).rejects.toMatchObject({ name: 'ShapeRuntimeError', code: 'key-columns-changed' });
    await expect(refused).rejects.toThrow(/^restore failed: table public\.t was recorded with key columns \(id\), not \(name\)/);
    const serve = await cli('serve', '--data-dir', dir, '--http-port', '0', '--key', 'public.t=name');
    expectOneLine(serve, 1, /^shape-actors: restore failed: table public\.t was recorded with key columns \(id\), not \(name\): a table's key cannot change/);
    expect(await snapshot(dir)).toEqual(before);
    const runtime = await createShapeRuntime({ dataDir: dir, keyColumns: { 'public.t': ['id'] } }); // the recorded key, declared: restores
    await runtime.shutdown();
  });

  it('a port where something else than Postgres listens: a one-line error naming it, not an internal error', async () => {
    const server = createServer((_req, res) => res.end('not postgres'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const run = await cli('serve', '--data-dir', join(await tempDir(), 'data'), '--database-url', `postgres://app@127.0.0.1:${port}/app`);
      expectOneLine(run, 1, new RegExp(`the server at 127\\.0\\.0\\.1:${port}/app did not answer as Postgres \\(.*\\): is the URL's port a Postgres server's\\?`));
    } finally {
      server.close();
    }
  });

  it('an empty path (--data-dir "", an unset variable) is refused as unusable arguments, not an internal error', async () => {
    const { dir } = await dataDir();
    const before = await snapshot(dir);
    for (const argv of [['list', '--data-dir', ''], ['doctor', '--data-dir', ' '], ['apply', '--data-dir', dir, '--file', ''], ['list', '--data-dir', dir, '--trace', ''], ['demo', '--data-dir', '']]) {
      const run = await cli(...argv);
      expectOneLine(run, 2, /argument '\s*' is invalid\. empty path \(expected a file or directory\)/);
      expect(run.stderr).not.toMatch(/internal error|not found/);
    }
    expect(await snapshot(dir)).toEqual(before);
  });

  it('apply --file - reads the transactions from stdin, and says "1 transaction"', async () => {
    const { dir } = await dataDir();
    const line = `${JSON.stringify({ xid: 1, changes: [{ op: 'insert', table: 'public.orgs', row: { id: 1 } }] })}\n`;
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [...CLI_ARGS, 'apply', '--data-dir', dir, '--file', '-'], { timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(line);
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('Applied 1 transaction; position 1.\nShapes: 3 shapes kept, 1 woke.\n');
  });
});
