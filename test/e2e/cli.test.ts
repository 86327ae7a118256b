/**
 * The CLI end to end: every case runs the real CLI in a child process (the
 * built `node dist/cli.js ...`, or the sources through tsx when dist/ is not
 * current: test/helpers/built-cli.ts) against a temp data dir. Fixtures are
 * built in-process with the runtime (fast), then copied per case.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { CLI_ARGS } from '../helpers/built-cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NESTED_WHERE = "id IN (SELECT user_id FROM public.memberships WHERE org_id IN (SELECT id FROM public.orgs WHERE name = 'acme'))";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], bin: readonly string[] = CLI_ARGS): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...bin, ...args], { cwd: ROOT, timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** `--json` output: exactly one JSON document on stdout. */
function json(run: Run): Record<string, unknown> {
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** A failure: the exit code, and exactly one line on stderr, no stack trace. */
function expectOneLineError(run: Run, exitCode: number, pattern: RegExp): void {
  expect(run.code, run.stderr).toBe(exitCode);
  expect(run.stderr).toMatch(/^shape-actors: [^\n]+\n$/);
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

/** A success: exit 0; stderr holds nothing but pino JSON lines (none at the default level `warn` unless something is wrong). */
function expectSuccess(run: Run): void {
  expect(run.code, run.stderr).toBe(0);
  for (const line of run.stderr.split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
}

/** Every file under `dir` with its bytes (directories as entries too), for byte-identical comparisons. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  async function walk(current: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        files.set(`${relative(dir, path)}/`, '');
        await walk(path);
      } else {
        files.set(relative(dir, path), (await readFile(path)).toString('base64'));
      }
    }
  }
  await walk(dir);
  return files;
}

async function shapeDirs(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, 'shapes'))).sort();
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

let scratch: string;
/** A data dir with a nested subquery shape (orgs <- memberships <- users) and an unrelated shape, backup written. */
let template: string;
const h = { orgs: '', memberships: '', users: '', items: '' };

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'shape-actors-cli-'));
  template = join(scratch, 'template');
  const runtime = await createShapeRuntime({ dataDir: template });
  const users = await runtime.add({ table: 'public.users', where: NESTED_WHERE });
  const items = await runtime.add({ table: 'public.items' });
  await runtime.shutdown();
  const [orgs, memberships] = users.created;
  Object.assign(h, { orgs, memberships, users: users.handle, items: items.handle });
  expect(users.dependencyHandles).toEqual([memberships]);
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let copies = 0;
async function copyOfTemplate(): Promise<string> {
  const dir = join(scratch, `case-${++copies}`);
  await cp(template, dir, { recursive: true });
  return dir;
}

// Independent cases run concurrently. Each spawn costs about a second of CPU (tsx, the SQL
// parser's WASM); the timeout leaves room for `npm test` running every other file alongside.
describe.concurrent('shape-actors CLI', { timeout: 180_000 }, () => {
  it('round trip with --json: add (nested subqueries) / list / restore --dry-run / remove (cascade) / restore', async () => {
    const dir = join(scratch, 'round-trip', 'data'); // missing: `add` creates it

    const added = await cli(['add', '--data-dir', dir, '--table', 'users', '--where', NESTED_WHERE, '--json']);
    expectSuccess(added);
    const { handle, dependencyHandles, created } = json(added) as { handle: string; dependencyHandles: string[]; created: string[] };
    expect(dependencyHandles).toHaveLength(1);
    expect(created).toHaveLength(3);
    expect(created.at(-1)).toBe(handle);
    const [orgs, memberships] = created as [string, string];
    expect(dependencyHandles).toEqual([memberships]);

    const other = await cli(['add', '--data-dir', dir, '--table', 'public.items', '--columns', 'id,name', '--replica', 'full', '--json']);
    expectSuccess(other);
    const items = (json(other) as { handle: string }).handle;
    expect(json(other)).toMatchObject({ dependencyHandles: [], restore: { mode: 'backup', removed: [] } });

    const listed = await cli(['list', '--data-dir', dir, '--json']);
    expectSuccess(listed);
    const shapes = (json(listed) as { shapes: { handle: string; definition: Record<string, unknown>; dependencyHandles: string[] }[] }).shapes;
    expect(shapes.map((s) => s.handle).sort()).toEqual([orgs, memberships, handle, items].sort());
    const order = shapes.map((s) => s.handle);
    expect(order.indexOf(orgs)).toBeLessThan(order.indexOf(memberships)); // dependencies first
    expect(order.indexOf(memberships)).toBeLessThan(order.indexOf(handle));
    expect(shapes.find((s) => s.handle === handle)).toEqual(
      expect.objectContaining({ definition: expect.objectContaining({ table: 'public.users', replica: 'default' }), dependencyHandles: [memberships] }),
    );
    expect(shapes.find((s) => s.handle === items)?.definition).toEqual({ table: 'public.items', columns: ['id', 'name'], replica: 'full' });

    const before = await snapshot(dir);
    const planned = await cli(['restore', '--data-dir', dir, '--dry-run', '--json']);
    expectSuccess(planned);
    expect(json(planned)).toMatchObject({ mode: 'backup', fallbackReason: null, dryRun: true, removed: [] });
    expect((json(planned) as { loaded: string[] }).loaded).toHaveLength(4);
    expect(await snapshot(dir)).toEqual(before);

    const removed = await cli(['remove', '--data-dir', dir, '--handle', memberships, '--json']);
    expectSuccess(removed);
    expect((json(removed) as { removed: unknown[] }).removed).toEqual([
      { handle: memberships, reason: 'removed', cause: null },
      { handle, reason: 'dependency-removed', cause: memberships },
    ]);
    expect(await shapeDirs(dir)).toEqual([orgs, items].sort());

    const restored = await cli(['restore', '--data-dir', dir, '--json']);
    expectSuccess(restored);
    const report = json(restored) as { mode: string; fallbackReason: unknown; loaded: string[]; removed: unknown[]; spawnOrder: string[] };
    expect(report).toMatchObject({ mode: 'backup', fallbackReason: null, removed: [] });
    expect([...report.loaded].sort()).toEqual([orgs, items].sort());
    expect(report.spawnOrder).toEqual(expect.arrayContaining([`shape:${orgs}`, `shape:${items}`]));
    expect(await shapeDirs(dir)).toEqual([orgs, items].sort());
  });

  it('replays the incident: inner dependency gone, restore from the backup removes both outer levels, naming reason and cause', async () => {
    const dir = await copyOfTemplate();
    await rm(join(dir, 'shapes', h.orgs), { recursive: true });
    const before = await snapshot(dir);

    const planned = await cli(['restore', '--data-dir', dir, '--dry-run', '--json']);
    expectSuccess(planned);
    expect(await snapshot(dir)).toEqual(before); // byte-identical: a dry run changes nothing
    const expectedRemovals = [
      { handle: h.orgs, reason: 'no-storage', cause: null },
      { handle: h.memberships, reason: 'dependency-removed', cause: h.orgs },
      { handle: h.users, reason: 'dependency-removed', cause: h.memberships },
    ];
    expect(json(planned)).toMatchObject({ mode: 'backup', fallbackReason: null, loaded: [h.items], removed: expectedRemovals });
    expect(await shapeDirs(dir)).toEqual([h.items, h.memberships, h.users].sort());

    const restored = await cli(['restore', '--data-dir', dir]);
    expectSuccess(restored);
    expect(restored.stdout).toContain('Restore from backup, policy validate: 1 shape loaded, 3 removed.');
    // handle, table, reason, then the cause chain back to the first cause, which says why it went
    expect(restored.stdout).toMatch(new RegExp(`${h.memberships} +public\\.memberships +dependency-removed +<- ${h.orgs} \\(public\\.orgs\\): no-storage`));
    expect(restored.stdout).toMatch(new RegExp(`${h.users} +public\\.users +dependency-removed +<- ${h.memberships} \\(public\\.memberships\\) <- ${h.orgs} \\(public\\.orgs\\): no-storage`));
    expect(await shapeDirs(dir)).toEqual([h.items]);
  });

  it('restore --policy dropDependent drops the subquery shape and the dependencies only it used', async () => {
    const dir = await copyOfTemplate();
    // --log-level info: pino lines on stderr, still exactly one JSON document on stdout.
    const run = await cli(['restore', '--data-dir', dir, '--policy', 'dropDependent', '--json', '--log-level', 'info']);
    expectSuccess(run);
    expect(run.stderr).toContain('"restore completed"');
    const report = json(run) as { policy: string; loaded: string[]; removed: { handle: string }[] };
    expect(report.policy).toBe('dropDependent');
    expect(report.loaded).toEqual([h.items]);
    expect(report.removed.map((r) => r.handle).sort()).toEqual([h.orgs, h.memberships, h.users].sort());
    expect(await shapeDirs(dir)).toEqual([h.items]);
  });

  it('remove of a shape the restore already removed succeeds and says so; an unknown handle is refused', async () => {
    const dir = await copyOfTemplate();
    await rm(join(dir, 'shapes', h.memberships), { recursive: true });
    const run = await cli(['remove', '--data-dir', dir, '--handle', h.users, '--json']);
    expectSuccess(run);
    expect((json(run) as { removed: unknown[] }).removed).toEqual([{ handle: h.users, reason: 'dependency-removed', cause: h.memberships }]);
    const again = await cli(['remove', '--data-dir', dir, '--handle', h.users]);
    expectOneLineError(again, 1, new RegExp(`no shape has handle ${h.users}`));
    expect(again.stdout).toBe('');
    expect(await shapeDirs(dir)).toEqual([h.items, h.orgs].sort());
  });

  describe('refused requests: exit 1, one line, nothing changed', () => {
    it.each([
      ['an invalid where', ['--table', 'users', '--where', 'id = 1 1'], /invalid-where: .*"id = 1 1"/],
      ['a subquery without a column', ['--table', 'users', '--where', 'id IN (SELECT FROM public.x)'], /subquery-without-column/],
    ])('add with %s', async (_name, args, pattern) => {
      const dir = await copyOfTemplate();
      const run = await cli(['add', '--data-dir', dir, ...args, '--json']);
      expectOneLineError(run, 1, pattern);
      expect(json(run)).toMatchObject({ error: { code: expect.any(String), message: expect.stringMatching(pattern) } });
      expect(await shapeDirs(dir)).toEqual(await shapeDirs(template));
    });
  });

  describe('unusable arguments: exit 2, one line, before touching the data dir', () => {
    it.each([
      ['no command', [], /no command given/],
      ['an unknown command', ['lsit', '--data-dir', 'x'], /unknown command 'lsit'/],
      ['a missing --data-dir', ['list'], /--data-dir <dir>' not specified/],
      ['a bad --log-level', ['list', '--data-dir', 'x', '--log-level', 'loud'], /Allowed choices are debug, info, warn, error, silent/],
      ['a malformed handle', ['remove', '--data-dir', 'x', '--handle', '../etc'], /not a shape handle: "\.\.\/etc"/],
      ['an empty column name', ['add', '--data-dir', 'x', '--table', 't', '--columns', 'a,,b'], /empty column name/],
    ])('%s', async (_name, args, pattern) => {
      const run = await cli(args);
      expectOneLineError(run, 2, pattern);
      expect(await exists(join(ROOT, 'x'))).toBe(false);
    });
  });

  describe('bad data dirs, every command', () => {
    const commands: { name: string; args: (dir: string) => string[] }[] = [
      { name: 'add', args: (dir) => ['add', '--data-dir', dir, '--table', 'public.extra'] },
      { name: 'remove', args: (dir) => ['remove', '--data-dir', dir, '--handle', h.items] },
      { name: 'list', args: (dir) => ['list', '--data-dir', dir] },
      { name: 'restore', args: (dir) => ['restore', '--data-dir', dir] },
      { name: 'restore --dry-run', args: (dir) => ['restore', '--data-dir', dir, '--dry-run'] },
    ];

    it.each(commands.filter((c) => c.name !== 'add' && c.name !== 'restore --dry-run'))('$name: a missing data dir is exit 1 and is not created', async ({ args }) => {
      const dir = join(scratch, 'missing', 'data');
      const run = await cli([...args(dir), '--json']);
      expectOneLineError(run, 1, new RegExp(`data dir does not exist: ${dir}`));
      expect(json(run)).toEqual({ error: { code: 'data-dir-not-found', message: `data dir does not exist: ${dir}` } });
      expect(await exists(dir)).toBe(false);
    });

    it.each(commands.filter((c) => c.name !== 'restore --dry-run'))('$name: a file instead of a dir is exit 1 and the file is untouched', async ({ args }) => {
      const file = join(await copyOfTemplate(), 'a-file');
      await writeFile(file, 'not a data dir\n');
      const run = await cli(args(file));
      expectOneLineError(run, 1, new RegExp(`data dir is not a directory \\(it is a file\\): ${file}`));
      expect(run.stdout).toBe('');
      expect(await readFile(file, 'utf8')).toBe('not a data dir\n');
    });

    it.each(commands)('$name: garbage JSON in a definition removes that shape and its dependents, named in the report, and nothing else', async ({ name, args }) => {
      const dir = await copyOfTemplate();
      await writeFile(join(dir, 'shapes', h.orgs, 'definition.json'), '{"format": "shape-actors/definition@1", "shape": {oops');
      const before = await snapshot(dir);
      const run = await cli([...args(dir), '--json']);
      expectSuccess(run);
      const out = json(run) as { removed?: { handle: string; reason: string; cause: string | null }[]; restore?: { removed: { handle: string; reason: string; cause: string | null }[] }; problems?: { file: string; reason: string }[] };
      const restoreRemovals = out.restore?.removed ?? out.removed ?? [];
      // `restore --json` adds each removal's table and cause chain: match the fields every command gives
      expect(restoreRemovals.slice(0, 3)).toMatchObject([
        { handle: h.orgs, reason: 'corrupt-definition', cause: null, detail: expect.stringContaining('definition.json') },
        { handle: h.memberships, reason: 'dependency-removed', cause: h.orgs },
        { handle: h.users, reason: 'dependency-removed', cause: h.memberships },
      ]);
      if (name.startsWith('restore')) expect(out.problems).toEqual([expect.objectContaining({ file: join(dir, 'shapes', h.orgs, 'definition.json'), reason: 'definition file is not JSON' })]);
      const remaining = await shapeDirs(dir);
      if (name === 'restore --dry-run') expect(await snapshot(dir)).toEqual(before);
      else if (name === 'remove') expect(remaining).toEqual([]); // items removed as asked; the others by restore, as reported
      else if (name === 'add') expect(remaining).toEqual([h.items, (out as { handle?: string }).handle ?? ''].sort());
      else expect(remaining).toEqual([h.items]);
    });

    it.each(commands)('$name: a backup of another version falls back to the storage scan, says why, loses nothing', async ({ name, args }) => {
      const dir = await copyOfTemplate();
      const backupFile = join(dir, 'backup', 'registry.jsonl');
      const backup = await readFile(backupFile, 'utf8');
      expect(backup.split('\n')[0]).toContain('"version":1');
      const stale = backup.replace('"version":1', '"version":7');
      await writeFile(backupFile, stale);
      const before = await snapshot(dir);
      const run = await cli([...args(dir), '--json']);
      expectSuccess(run);
      const out = json(run) as { mode?: string; fallbackReason?: string; restore?: { mode: string; fallbackReason: string; removed: unknown[] }; removed?: unknown[] };
      const restore = out.restore ?? { mode: out.mode, fallbackReason: out.fallbackReason, removed: out.removed };
      expect(restore.mode).toBe('storage');
      expect(restore.fallbackReason).toMatch(/backup version 7, this runtime reads version 1/);
      expect(restore.removed).toEqual([]);
      const all = [h.orgs, h.memberships, h.users, h.items].sort();
      if (name === 'restore --dry-run') {
        expect(await snapshot(dir)).toEqual(before);
        return;
      }
      if (name === 'remove') expect(await shapeDirs(dir)).toEqual(all.filter((x) => x !== h.items));
      else if (name === 'add') expect((await shapeDirs(dir)).filter((x) => !all.includes(x))).toHaveLength(1);
      else expect(await shapeDirs(dir)).toEqual(all);
      // The unreadable backup is set aside, not silently destroyed; a fresh one replaces it.
      const setAside = (await readdir(join(dir, 'backup'))).filter((n) => n.startsWith('registry.unusable-'));
      expect(setAside).toHaveLength(1);
      expect(await readFile(join(dir, 'backup', setAside[0]!), 'utf8')).toBe(stale);
      expect((await readFile(backupFile, 'utf8')).split('\n')[0]).toContain('"version":1');
    });

    it('restore (text): the table names removed shapes with reason and cause, the problem file, and why the backup was not used', async () => {
      const dir = await copyOfTemplate();
      await writeFile(join(dir, 'shapes', h.orgs, 'definition.json'), 'garbage');
      await writeFile(join(dir, 'backup', 'registry.jsonl'), (await readFile(join(dir, 'backup', 'registry.jsonl'), 'utf8')).replace('"version":1', '"version":7'));
      const run = await cli(['restore', '--data-dir', dir, '--dry-run']);
      expectSuccess(run);
      expect(run.stdout).toContain('Restore plan (dry run) from storage scan, policy validate: 1 shape loaded, 3 removed.');
      expect(run.stdout).toMatch(/Backup not used: backup .*registry\.jsonl unusable: backup version 7, this runtime reads version 1\./);
      // Its definition file is unreadable, but the metadata log names its table.
      expect(run.stdout).toMatch(new RegExp(`${h.orgs} +public\\.orgs +corrupt-definition +- +${join(dir, 'shapes', h.orgs)}`));
      expect(run.stdout).toMatch(new RegExp(`${h.users} +public\\.users +dependency-removed +<- ${h.memberships} \\(public\\.memberships\\) <- ${h.orgs} \\(public\\.orgs\\): corrupt-definition`));
      expect(run.stdout).toContain(`${join(dir, 'shapes', h.orgs, 'definition.json')}  definition file is not JSON  removed`);
    });
  });

  it("package.json's bin runs the built CLI (dist/cli.js) with plain node", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin).toEqual({ 'shape-actors': 'bin/shape-actors.js' });
    const shim = await readFile(join(ROOT, pkg.bin['shape-actors']!), 'utf8');
    expect(shim).toMatch(/^#!\/usr\/bin\/env node\n/);
    expect(shim).toContain("new URL('../dist/cli.js', import.meta.url)");
    const run = await cli(['--help'], [pkg.bin['shape-actors']!]);
    expectSuccess(run);
    expect(run.stdout).toMatch(/^Usage: shape-actors \[options\] \[command\]/);
    for (const command of ['add', 'remove', 'list', 'restore']) expect(run.stdout).toContain(`  ${command} [options]`);
  });
});
