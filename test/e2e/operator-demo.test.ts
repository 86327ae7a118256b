/**
 * `shape-actors demo` (the README's `npm run demo`), run in-process: it exits
 * 0, names the removed shapes and their causes, spawns nothing for them, and
 * shows a transaction after the restart reaching the surviving shapes.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/run-cli.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();


interface DemoJson {
  dataDir: string;
  shapes: { handle: string; name: string; table: string }[];
  lost: string;
  restore: { mode: string; removed: { handle: string; table: string; reason: string; cause: string | null; causeChain: string[] }[]; loaded: string[]; spawnOrder: string[] };
  actorsSpawned: string[];
  actorsSpawnedForRemovedShapes: string[];
  afterRestart: { xid: number; received: { name: string; entries: { op: string; row: Record<string, unknown> }[] }[]; adminValues: unknown[] };
  clients: Record<'served' | 'afterRestart' | 'afterIncident', { name: string; handle: string; refetches: number; rows: Record<string, unknown>[] }[]>;
}

const ids = (rows: Record<string, unknown>[]) => rows.map((r) => r.id);

describe('demo', () => {
  it('replays the incident: removed shapes named with their causes, nothing spawned for them, survivors serving (--json)', async () => {
    const dir = join(await tempDir(), 'demo');
    const run = await cli('demo', '--data-dir', dir, '--json');
    expect(run.code).toBe(0);
    const demo = JSON.parse(run.stdout) as DemoJson;
    const name = new Map(demo.shapes.map((s) => [s.handle, s.name]));
    const byName = new Map(demo.shapes.map((s) => [s.name, s.handle]));
    expect(demo.restore.mode).toBe('backup');
    // The lost dependency, and everything depending on it, transitively, each with its cause.
    expect(name.get(demo.lost)).toBe("orgs[name = 'acme']");
    const removed = new Map(demo.restore.removed.map((r) => [name.get(r.handle), r]));
    expect([...removed.keys()].sort()).toEqual(["orgs[name = 'acme']", 'acme-members', 'acme-projects', 'memberships of acme-members'].sort());
    expect(removed.get("orgs[name = 'acme']")).toMatchObject({ reason: 'no-storage', cause: null, table: 'public.orgs' });
    expect(removed.get('acme-projects')).toMatchObject({ reason: 'dependency-removed', cause: demo.lost });
    expect(removed.get('acme-members')!.causeChain).toEqual([byName.get('acme-members'), byName.get('memberships of acme-members'), demo.lost]);
    // Nothing was ever spawned for them; every other shape was.
    expect(demo.actorsSpawnedForRemovedShapes).toEqual([]);
    expect(demo.actorsSpawned.slice(0, demo.restore.spawnOrder.length)).toEqual(demo.restore.spawnOrder);
    expect(demo.restore.loaded.map((h) => name.get(h)).sort()).toEqual(['active-users', 'admins', 'eu-orgs', "memberships[role = 'admin']"]);
    // The transaction after the restart reached the survivors it concerns.
    const received = new Map(demo.afterRestart.received.map((r) => [r.name, r.entries]));
    expect(received.get('admins')).toEqual([expect.objectContaining({ op: 'insert', row: { id: 5, name: 'eve', active: true } })]);
    expect([...received.keys()].sort()).toEqual(['active-users', 'admins', "memberships[role = 'admin']"]);
    expect(demo.afterRestart.adminValues).toEqual([1, 3, 5]);
    // The real @electric-sql/client followed four shapes over HTTP. Across the clean restart: same handles, no refetch.
    const clients = (phase: keyof DemoJson['clients']) => new Map(demo.clients[phase].map((c) => [c.name, c]));
    const served = clients('served');
    const restarted = clients('afterRestart');
    const afterIncident = clients('afterIncident');
    expect([...served.keys()]).toEqual(['acme-members', 'acme-projects', 'admins', 'eu-orgs']);
    for (const [name, client] of restarted) expect([name, client.handle, client.refetches]).toEqual([name, served.get(name)!.handle, 0]);
    expect(ids(served.get('acme-members')!.rows)).toEqual([1]);
    expect(ids(restarted.get('acme-members')!.rows)).toEqual([1, 4]); // dee joined acme while it was served again
    // After the incident: only the clients of the lost closure refetched (once), under new handles, and hold the right rows.
    for (const name of ['acme-members', 'acme-projects']) {
      expect(afterIncident.get(name)!.refetches, name).toBe(1);
      expect(afterIncident.get(name)!.handle, name).not.toBe(served.get(name)!.handle);
    }
    for (const name of ['admins', 'eu-orgs']) expect([afterIncident.get(name)!.handle, afterIncident.get(name)!.refetches], name).toEqual([served.get(name)!.handle, 0]);
    expect(ids(afterIncident.get('acme-members')!.rows)).toEqual([1, 4]);
    expect(ids(afterIncident.get('acme-projects')!.rows)).toEqual([100]);
    expect(ids(afterIncident.get('admins')!.rows)).toEqual([1, 3, 5]);
    expect(ids(afterIncident.get('eu-orgs')!.rows)).toEqual([1, 3]);
    // The removed shapes' storage is gone; the survivors' is there, and the refetching clients' shapes were created again.
    const dirs = await readdir(join(dir, 'shapes'));
    expect(dirs).toEqual(expect.arrayContaining([...demo.restore.loaded, afterIncident.get('acme-members')!.handle, afterIncident.get('acme-projects')!.handle]));
    expect(dirs.filter((d) => demo.restore.removed.some((r) => r.handle === d))).toEqual([]);
    expect(dirs).toHaveLength(demo.restore.loaded.length + 4); // acme-members, acme-projects and their two dependencies
  });

  it('prints the report for people: removed shapes, their reasons and cause chains, and the survivors receiving a transaction', async () => {
    const run = await cli('demo');
    expect(run.code).toBe(0);
    const dataDir = /replayed on (\S+)/.exec(run.stdout)![1]!;
    try {
      expect(run.stdout).toMatch(/Restore from backup, policy validate: 4 shapes loaded, 4 removed\./);
      expect(run.stdout).toMatch(/Removed \(4\), before anything was spawned:/);
      expect(run.stdout).toMatch(/\d+-\d+\s+public\.orgs\s+no-storage\s+-\s+named by .*registry\.jsonl, not stored/);
      expect(run.stdout).toMatch(/\d+-\d+\s+public\.users\s+dependency-removed\s+<- \d+-\d+ \(public\.memberships\) <- \d+-\d+ \(public\.orgs\): no-storage/);
      expect(run.stdout).toMatch(/\d+-\d+\s+public\.projects\s+dependency-removed\s+<- \d+-\d+ \(public\.orgs\): no-storage/);
      expect(run.stdout).toContain('Actors ever created for the 4 removed shapes: none');
      expect(run.stdout).toMatch(/admins\s+\d+-\d+\s+insert \{"id":5,"name":"eve","active":true\}/);
      expect(run.stdout).toMatch(/Every client goes on from its offset under the same handle, with no refetch/);
      expect(run.stdout).toMatch(/acme-members\s+\d+-\d+ \(new\)\s+1\s+\{"id":1,"name":"ada","active":true\} \{"id":4,"name":"dee","active":true\}/);
      expect(run.stdout).toMatch(/eu-orgs\s+\d+-\d+\s+0\s+\{"id":1,"name":"acme","region":"eu"\}/);
      expect(run.stdout).toContain(`Data dir kept: ${dataDir}`);
    } finally {
      await import('node:fs/promises').then((fs) => fs.rm(dataDir, { recursive: true, force: true }));
    }
  });

  it('refuses a data dir that holds anything (it deletes a shape on purpose)', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'precious'), 'data');
    const run = await cli('demo', '--data-dir', dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the demo builds its own data dir: .* is not empty/);
    expect(await readdir(dir)).toEqual(['precious']);
  });
});
