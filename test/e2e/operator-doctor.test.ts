/**
 * `doctor` on damaged data dirs: its prediction (what restore would remove,
 * why, and what it would keep) must be what `restore` then does, and doctor
 * must not change one byte of the data dir (not even the lock file).
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStorage } from '../../src/storage/file-store.ts';
import { applyDamage, describeDamage, type Damage } from '../helpers/damage.ts';
import { buildGraphDataDir, type ShapeGraph } from '../helpers/shape-graph.ts';
import { cli } from '../helpers/run-cli.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();


/** Every file and directory under `dir`, with bytes and mode: the lock file included. */
async function fullSnapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const info = await stat(p);
      if (e.isDirectory()) {
        out.set(`${relative(dir, p)}/`, `dir ${info.mode}`);
        await walk(p);
      } else out.set(relative(dir, p), `${info.mode} ${(await readFile(p)).toString('base64')}`);
    }
  };
  await walk(dir);
  return out;
}

/** Nodes: 2 -> 1 -> 0 (a chain), 4 -> 0 and 4 -> 3 (two subqueries), 5 alone; every node has a log. */
const GRAPH: ShapeGraph = {
  nodes: [
    { deps: [], requested: false, logEntries: 2 },
    { deps: [0], requested: false, logEntries: 2 },
    { deps: [1], requested: true, logEntries: 3 },
    { deps: [], requested: false, logEntries: 2 },
    { deps: [0, 3], requested: true, logEntries: 1 },
    { deps: [], requested: true, logEntries: 2 },
  ],
};

/** The same, plus a second stored shape with node 3's definition (the fixed rule keeps one, removes the other). */
const WITH_DUPLICATE: ShapeGraph = { ...GRAPH, duplicates: [{ of: 3, usedBy: [4] }] };

/** Each scenario with the reasons restore gives for what it removes (doctor must predict the same shapes). */
const SCENARIOS: { name: string; reasons: string[]; damages: Damage[]; removedAfterBackup?: number[]; graph?: ShapeGraph }[] = [
  { name: 'clean', reasons: [], damages: [] },
  { name: 'two stored shapes with the same definition', reasons: ['duplicate', 'dependency-removed'], damages: [], graph: WITH_DUPLICATE },
  { name: 'the incident: a dependency shape lost, the backup still names it', reasons: ['no-storage'], damages: [{ kind: 'delete-dir', target: 0 }] },
  { name: 'a stale backup: removed after the backup was written', reasons: ['no-storage', 'no-storage'], damages: [], removedAfterBackup: [1] },
  { name: 'garbage definition', reasons: ['corrupt-definition'], damages: [{ kind: 'definition', target: 1, how: 'garbage', pick: 0 }] },
  { name: 'definition missing', reasons: ['corrupt-definition', 'dependency-removed'], damages: [{ kind: 'definition', target: 4, how: 'missing-file', pick: 0 }] },
  { name: 'bad SQL in a definition', reasons: ['corrupt-definition', 'dependency-removed'], damages: [{ kind: 'definition', target: 2, how: 'bad-sql', pick: 1 }] },
  { name: 'definition names another handle', reasons: ['corrupt-definition'], damages: [{ kind: 'definition', target: 3, how: 'other-handle', pick: 0 }] },
  { name: 'a dependency cycle', reasons: ['dependency-mismatch', 'dependency-removed'], damages: [{ kind: 'dependency', target: 2, how: 'cycle', pick: 0 }] },
  { name: 'a dangling dependency handle', reasons: ['missing-dependency'], damages: [{ kind: 'dependency', target: 3, how: 'missing', pick: 1 }] },
  { name: 'a dependency handle dropped', reasons: ['missing-dependency', 'dependency-removed'], damages: [{ kind: 'dependency', target: 2, how: 'drop', pick: 0 }] },
  { name: 'backup of another version (fallback to scan) and a lost shape', reasons: [], damages: [{ kind: 'backup', how: 'other-version', pick: 0 }, { kind: 'delete-dir', target: 1 }] },
  { name: 'truncated backup', reasons: [], damages: [{ kind: 'backup', how: 'truncate', pick: 3 }] },
  { name: 'backup with a flipped byte', reasons: [], damages: [{ kind: 'backup', how: 'flip-byte', pick: 7 }] },
  { name: 'a lying backup', reasons: ['no-storage'], damages: [{ kind: 'backup', how: 'lie', pick: 1 }] },
  { name: 'no backup, two damages', reasons: ['corrupt-definition', 'missing-dependency'], damages: [{ kind: 'backup', how: 'delete', pick: 0 }, { kind: 'definition', target: 0, how: 'wrong-json', pick: 2 }, { kind: 'dependency', target: 5, how: 'extra', pick: 0 }] },
];

type RemovalJson = { handle: string; reason: string; cause: string | null };
const key = (r: RemovalJson) => `${r.handle} ${r.reason} ${r.cause}`;

describe('doctor predicts what restore does, changing nothing', () => {
  it('a clean data dir: exit 0', async () => {
    const dir = join(await tempDir(), 'data');
    await buildGraphDataDir(dir, GRAPH, { backupAfter: 'end' });
    const run = await cli('doctor', '--data-dir', dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Restore would load from the backup (policy validate): keep 6 shapes, remove 0.');
  });

  for (const scenario of SCENARIOS) {
    it(`${scenario.name}${scenario.damages.length ? ` (${scenario.damages.map(describeDamage).join(', ')})` : ''}`, async () => {
      const dir = join(await tempDir(), 'data');
      await buildGraphDataDir(dir, scenario.graph ?? GRAPH, { backupAfter: 'end', ...(scenario.removedAfterBackup ? { removedAfterBackup: scenario.removedAfterBackup } : {}) });
      for (const damage of scenario.damages) await applyDamage(dir, damage);
      // leftovers of a crash: an unfinished create, and a file nobody knows
      await mkdir(join(dir, 'shapes', '.tmp-1-2-abcd'), { recursive: true });
      await writeFile(join(dir, 'notes.txt'), 'left by an operator\n');

      const before = await fullSnapshot(dir);
      const doctor = await cli('doctor', '--data-dir', dir, '--json');
      expect(await fullSnapshot(dir)).toEqual(before); // not one byte, not even a lock file
      const diagnosis = JSON.parse(doctor.stdout) as {
        readOnly: boolean;
        wouldRemove: number;
        restore: { mode: string; fallbackReason: string | null; loaded: string[]; removed: RemovalJson[]; spawnOrder: string[]; dryRun: boolean };
        notes: { file: string }[];
      };
      expect(diagnosis.restore.dryRun).toBe(true);
      expect(doctor.code).toBe(diagnosis.wouldRemove > 0 ? 3 : 0);
      expect(diagnosis.restore.removed.map((r) => r.reason).sort()).toEqual([...scenario.reasons].sort());
      expect(diagnosis.notes.map((n) => relative(dir, n.file))).toEqual(['notes.txt']);

      const restore = await cli('restore', '--data-dir', dir, '--json');
      expect(restore.code).toBe(0);
      const report = JSON.parse(restore.stdout) as typeof diagnosis.restore;
      expect(diagnosis.restore.removed.map(key).sort()).toEqual(report.removed.map(key).sort());
      expect(diagnosis.restore.loaded).toEqual(report.loaded);
      expect(diagnosis.restore.spawnOrder).toEqual(report.spawnOrder);
      expect(diagnosis.restore.mode).toBe(report.mode);
      expect(diagnosis.restore.fallbackReason).toBe(report.fallbackReason);

      // After the restore, doctor finds nothing more to remove.
      const after = await cli('doctor', '--data-dir', dir);
      expect(after.code).toBe(0);
      expect(after.stdout).toContain('Verdict: restore would remove nothing');
    });
  }

  it('exits 3 and names each shape restore would remove, its reason and cause chain (text)', async () => {
    const dir = join(await tempDir(), 'data');
    const built = await buildGraphDataDir(dir, GRAPH, { backupAfter: 'end' });
    const [n0, n1, n2] = built.handleOf as [string, string, string];
    await rm(join(dir, 'shapes', n0), { recursive: true });
    const run = await cli('doctor', '--data-dir', dir);
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('read only: nothing was changed');
    expect(run.stdout).toMatch(new RegExp(`${n0}\\s+public\\.t0\\s+no-storage`));
    expect(run.stdout).toMatch(new RegExp(`${n2}\\s+public\\.t2\\s+dependency-removed\\s+<- ${n1} \\(public\\.t1\\) <- ${n0} \\(public\\.t0\\): no-storage`));
    expect(run.stdout).toMatch(/Verdict: restore would remove 4 shapes \(exit 3\)/);
  });

  it('reports a transaction batch left in doubt in the journal, which restore then undoes and redoes', async () => {
    const dir = join(await tempDir(), 'data');
    const built = await buildGraphDataDir(dir, GRAPH, { backupAfter: 'end' });
    const storage = new FileStorage(dir);
    await storage.prepareBatch({ position: 0, transactions: [{ xid: 1, changes: [] }], handles: [built.handleOf[5]!] });
    const before = await fullSnapshot(dir);
    const doctor = await cli('doctor', '--data-dir', dir, '--json');
    expect(await fullSnapshot(dir)).toEqual(before);
    expect(doctor.code).toBe(0);
    expect(JSON.parse(doctor.stdout).inDoubtBatch).toEqual({ position: 0, transactions: 1, handles: [built.handleOf[5]] });
    const text = await cli('doctor', '--data-dir', dir);
    expect(text.stdout).toMatch(/Journal: 1 transaction after position 0 was interrupted mid-write on 1 shape/);
    const restore = JSON.parse((await cli('restore', '--data-dir', dir, '--json')).stdout) as { problems: { file: string; action: string }[] };
    expect(restore.problems.some((p) => /journal/.test(p.file) && p.action === 'repaired')).toBe(true);
    expect(JSON.parse((await cli('doctor', '--data-dir', dir, '--json')).stdout).inDoubtBatch).toBeNull();
  });

  it('refuses a missing data dir (exit 1) and notes a lock left by a process that is gone', async () => {
    const missing = await cli('doctor', '--data-dir', join(await tempDir(), 'nope'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/data dir does not exist/);
    const dir = join(await tempDir(), 'data');
    await buildGraphDataDir(dir, GRAPH, { backupAfter: 'end' });
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: (await import('node:os')).hostname(), acquiredAt: '2026-01-01T00:00:00Z' }));
    const run = await cli('doctor', '--data-dir', dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/left by process \d+, which is gone \(a crash\)\s+takes the lock over/);
  });
});
