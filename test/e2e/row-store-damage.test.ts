/**
 * Issue 14, item 1, as a new user met it: apply three rows, replace line 2 of
 * tables/public.users.jsonl with garbage. `doctor --json` said healthy with no
 * notes, `list` cut the file back to line 1 without a word, and a later `add`
 * snapshotted from the surviving rows only. Now: doctor predicts the damage and
 * what restore does about it; every command says it; nothing valid is cut
 * away; new shapes on the table are refused until the loss is accepted.
 */
import { spawn } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_ARGS } from '../helpers/built-cli.ts';
import { cli } from '../helpers/run-cli.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();

/** A shape on public.users, three rows applied, then line 2 of the table's log replaced by garbage. */
async function damagedDataDir(): Promise<{ dir: string; file: string; damaged: string; handle: string }> {
  const dir = join(await tempDir(), 'data');
  const added = JSON.parse((await cli('add', '--data-dir', dir, '--table', 'public.users', '--where', 'status = 1', '--json')).stdout) as { handle: string };
  const txs = join(dir, '..', 'tx.jsonl');
  await writeFile(txs, [1, 2, 3].map((id) => JSON.stringify({ xid: id, changes: [{ op: 'insert', table: 'public.users', row: { id, status: 1 } }] })).join('\n'));
  expect((await cli('apply', '--data-dir', dir, '--file', txs)).code).toBe(0);
  const file = join(dir, 'tables', 'public.users.jsonl');
  const lines = (await readFile(file, 'utf8')).split('\n');
  expect(lines).toHaveLength(4);
  lines[1] = 'garbage';
  const damaged = lines.join('\n');
  await writeFile(file, damaged);
  return { dir, file, damaged, handle: added.handle };
}

interface DamagedTableJson {
  table: string;
  lostLines: number[];
  kept: number;
  shapes: string[];
  snapshots: string;
}

describe('a bad line in the middle of a row-store table log', () => {
  it('doctor predicts it: not healthy, the table, the lost line, what restore keeps and does; nothing changes', async () => {
    const { dir, file, damaged, handle } = await damagedDataDir();
    const run = await cli('doctor', '--data-dir', dir, '--json');
    expect(run.code, 'doctor exits 4: records were lost, though restore removes no shape').toBe(4);
    const doctor = JSON.parse(run.stdout) as { healthy: boolean; exitCode: number; restore: { damagedTables: DamagedTableJson[]; problems: { handle: string | null; file: string; reason: string; action: string }[] } };
    expect(doctor.healthy).toBe(false);
    expect(doctor.exitCode).toBe(4);
    expect(doctor.restore.damagedTables).toEqual([expect.objectContaining({ table: 'public.users', lostLines: [2], kept: 2, shapes: [handle], snapshots: 'refused' })]);
    expect(doctor.restore.problems).toContainEqual(expect.objectContaining({ handle, action: 'kept', reason: expect.stringMatching(/its table public\.users lost records/) }));
    expect(doctor.restore.problems).toContainEqual(expect.objectContaining({ file, action: 'kept', reason: expect.stringMatching(/line 2 unreadable/) }));
    expect(await readFile(file, 'utf8')).toBe(damaged);
    const text = await cli('doctor', '--data-dir', dir);
    expect(text.stdout).toMatch(/public\.users: line 2 of .* unreadable, 2 records kept/);
    expect(text.stdout).toMatch(/restore --accept-table-damage public\.users/);
    expect(text.stdout).toMatch(/^Not healthy \(exit 4\): 1 row-store table lost records \(public\.users\)/m);
    expect(text.code).toBe(4);
    // What restore then does is what doctor said.
    const restored = JSON.parse((await cli('restore', '--data-dir', dir, '--json')).stdout) as { damagedTables: DamagedTableJson[]; problems: unknown[] };
    expect(restored.damagedTables).toEqual(doctor.restore.damagedTables);
    expect(restored.problems.filter((p) => (p as { file: string }).file === file)).toEqual(doctor.restore.problems.filter((p) => p.file === file));
  });

  it('list keeps the file whole and says what was lost, in text and JSON', async () => {
    const { dir, file, damaged } = await damagedDataDir();
    const text = await cli('list', '--data-dir', dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/The row store lost records of 1 table/);
    expect(text.stdout).toMatch(/public\.users: line 2 of .* unreadable, 2 records kept/);
    const json = JSON.parse((await cli('list', '--data-dir', dir, '--json')).stdout) as { restore: { damagedTables: DamagedTableJson[] } };
    expect(json.restore.damagedTables).toEqual([expect.objectContaining({ table: 'public.users', lostLines: [2], kept: 2 })]);
    expect(await readFile(file, 'utf8')).toBe(damaged);
  });

  it('add on the damaged table is refused (its snapshot could miss rows), other tables are not; every command says it', async () => {
    const { dir, handle } = await damagedDataDir();
    const refused = await cli('add', '--data-dir', dir, '--table', 'public.users', '--where', 'status = 0', '--json');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toMatch(/public\.users lost records.*--accept-table-damage public\.users/s);
    const other = await cli('add', '--data-dir', dir, '--table', 'public.memberships', '--where', 'org_id = 1');
    expect(other.code).toBe(0);
    expect(other.stdout).toMatch(/The row store lost records/);
    const log = JSON.parse((await cli('log', '--handle', handle, '--data-dir', dir, '--json')).stdout) as { restore: { damagedTables: DamagedTableJson[] } };
    expect(log.restore.damagedTables.map((t) => t.table)).toEqual(['public.users']);
  });

  it('serve (the embedded store over HTTP) says it when it starts, before serving, and keeps the file whole', async () => {
    const { dir, file, damaged } = await damagedDataDir();
    const child = spawn(process.execPath, [...CLI_ARGS, 'serve', '--data-dir', dir, '--http-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', () => stderr.includes('serving shapes on') && resolve());
        void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      });
      const [before] = stderr.split('serving shapes on');
      expect(before).toMatch(/The row store lost records of 1 table/);
      expect(before).toMatch(/public\.users: line 2 of .* unreadable, 2 records kept/);
      expect(before).toMatch(/restore --accept-table-damage public\.users/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(damaged);
  });

  it('restore --accept-table-damage: the kept rows are trusted again, the damaged log kept aside; a new shape snapshots rows 1 and 3', async () => {
    const { dir, damaged } = await damagedDataDir();
    const accepted = JSON.parse((await cli('restore', '--data-dir', dir, '--accept-table-damage', 'users', '--json')).stdout) as { damagedTables: unknown[]; problems: { reason: string; action: string }[] };
    expect(accepted.damagedTables).toEqual([]);
    expect(accepted.problems).toContainEqual(expect.objectContaining({ action: 'repaired', reason: expect.stringMatching(/damage acknowledged: public\.users's 2 kept record/) }));
    const aside = (await readdir(join(dir, 'tables'))).filter((n) => n.startsWith('public.users.jsonl.damaged-acknowledged-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(dir, 'tables', aside[0]!), 'utf8')).toBe(damaged);
    const healed = await cli('doctor', '--data-dir', dir, '--json');
    expect(healed.code).toBe(0);
    const doctor = JSON.parse(healed.stdout) as { healthy: boolean };
    expect(doctor.healthy).toBe(true);
    const added = JSON.parse((await cli('add', '--data-dir', dir, '--table', 'public.users', '--where', 'id > 0', '--json')).stdout) as { handle: string };
    const log = JSON.parse((await cli('log', '--data-dir', dir, '--handle', added.handle, '--json')).stdout) as { entries: { key: string }[] };
    expect(log.entries.map((e) => e.key)).toEqual(['[1]', '[3]']);
  });
});
