/**
 * scripts/postgres-test-server.sh deletes only what it created: `start` takes a missing or empty
 * --dir (and marks it), refuses one holding anything else before installing or creating
 * anything, and `stop` removes only the files `start` creates, in a marked dir only. As root, a
 * --dir the server user cannot reach is refused with the reason, before initdb.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/built-cli.ts';

const SCRIPT = join(ROOT, 'scripts', 'postgres-test-server.sh');

function script(...args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(SCRIPT, args, { timeout: 60_000 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shape-actors-pgscript-'));
  dirs.push(dir);
  return dir;
}

describe('scripts/postgres-test-server.sh only deletes what it created', () => {
  it('stop refuses a directory it did not create, and deletes nothing there', async () => {
    const dir = join(await tempDir(), 'project');
    await mkdir(join(dir, 'data'), { recursive: true });
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await writeFile(join(dir, 'data', 'PG_VERSION'), '15');
    const stop = await script('stop', '--dir', dir);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(/holds files this script did not create \(no \.shape-actors-pg marker\): not touching it/);
    expect((await readdir(dir)).sort()).toEqual(['data', 'notes.txt']);
    expect(await readFile(join(dir, 'data', 'PG_VERSION'), 'utf8')).toBe('15');
  });

  it('start refuses a directory holding anything without its marker, before creating or deleting anything', async () => {
    const dir = join(await tempDir(), 'project');
    await mkdir(join(dir, 'data'), { recursive: true });
    await writeFile(join(dir, 'data', 'mine.txt'), 'mine');
    const start = await script('start', '--dir', dir);
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/--dir needs a missing or empty directory, or one this script started/);
    expect(await readdir(dir)).toEqual(['data']);
    expect(await readdir(join(dir, 'data'))).toEqual(['mine.txt']);
  });

  it('stop in a dir start marked removes the files start creates and leaves the rest; a missing dir is nothing to stop', async () => {
    const parent = await tempDir();
    const dir = join(parent, 'pg');
    await mkdir(dir);
    await writeFile(join(dir, '.shape-actors-pg'), 'created-dir=yes\n');
    await writeFile(join(dir, 'url'), 'postgres://postgres@127.0.0.1:1/postgres\n');
    await writeFile(join(dir, 'port'), '1\n');
    await writeFile(join(dir, 'later.txt'), 'someone put this here afterwards');
    const stop = await script('stop', '--dir', dir);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await readdir(dir)).toEqual(['later.txt']);
    await rm(join(dir, 'later.txt'));
    await writeFile(join(dir, '.shape-actors-pg'), 'created-dir=yes\n');
    expect((await script('stop', '--dir', dir)).code).toBe(0);
    expect(existsSync(dir)).toBe(false); // it created the dir: it goes too
    const again = await script('stop', '--dir', dir);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/nothing to stop/);
  });

  it.runIf(process.getuid?.() === 0)('as root: a --dir the server user cannot reach is refused with the reason, before initdb', async () => {
    const hidden = await tempDir(); // mkdtemp makes it 0700, owned by root
    const dir = join(hidden, 'pg');
    const start = await script('start', '--dir', dir);
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/which cannot reach .*pg: every parent directory must let it through \(o\+x\)/);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});
