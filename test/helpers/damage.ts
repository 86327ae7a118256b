/**
 * Damage to a data dir, as crashes, operators and old versions leave it:
 * deleted shape dirs, corrupt definition files, dependency handles rewritten
 * into cycles or to point nowhere, deleted / truncated / bit-flipped /
 * other-version / lying backups. Written with plain fs (and FileStorage's
 * own writers where the damage is "valid format, wrong content").
 */
import { readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileStorage } from '../../src/storage/file-store.ts';
import type { StoredShape } from '../../src/storage/storage.ts';

export type DefinitionDamage = 'garbage' | 'wrong-json' | 'empty' | 'bad-sql' | 'missing-file' | 'other-definition' | 'other-handle';
export type DependencyDamage = 'cycle' | 'missing' | 'drop' | 'extra';
export type BackupDamage = 'delete' | 'truncate' | 'flip-byte' | 'other-version' | 'lie';

export type Damage =
  | { readonly kind: 'delete-dir'; readonly target: number }
  | { readonly kind: 'definition'; readonly target: number; readonly how: DefinitionDamage; readonly pick: number }
  | { readonly kind: 'dependency'; readonly target: number; readonly how: DependencyDamage; readonly pick: number }
  | { readonly kind: 'backup'; readonly how: BackupDamage; readonly pick: number };

export function describeDamage(d: Damage): string {
  return d.kind === 'delete-dir' ? `delete-dir` : d.kind === 'backup' ? `backup:${d.how}` : `${d.kind}:${d.how}`;
}

const HANDLE = /^\d{1,20}-\d{1,20}$/;

async function storedHandles(dir: string): Promise<string[]> {
  try {
    return (await readdir(join(dir, 'shapes'), { withFileTypes: true }))
      .filter((e) => e.isDirectory() && HANDLE.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

async function readStoredRaw(dir: string, handle: string): Promise<StoredShape | null> {
  try {
    const value = JSON.parse(await readFile(join(dir, 'shapes', handle, 'definition.json'), 'utf8')) as { shape?: StoredShape };
    return value.shape && Array.isArray(value.shape.dependencyHandles) ? value.shape : null;
  } catch {
    return null;
  }
}

const WRONG_JSON = [
  '{"hello":"world"}',
  '[1,2,3]',
  'null',
  '{"format":"shape-actors/definition@1","shape":[]}',
  '{"format":"shape-actors/definition@1","shape":{"handle":"HANDLE","definition":{"table":"public.t0"},"dependencyHandles":[],"requested":true}}',
  '{"format":"shape-actors/definition@2","shape":{"handle":"HANDLE","definition":{"table":"public.t0","replica":"default"},"dependencyHandles":[],"requested":true}}',
];
const BAD_SQL = ['k = (', 'c IN (SELECT FROM public.t0)', 'k = 1 AND', "c IN (SELECT c FROM public.t0 WHERE k = 'x' AND)"];

export interface DamageOutcome {
  /** What was actually done (a damage with no target, e.g. no shape left, does nothing). */
  readonly applied: string | null;
}

/**
 * Applies one damage to `dir`. Targets are indexes into the shapes stored at
 * that moment (modulo their count), so any generated damage lands somewhere.
 */
export async function applyDamage(dir: string, damage: Damage): Promise<DamageOutcome> {
  const storage = new FileStorage(dir);
  const handles = await storedHandles(dir);
  if (damage.kind === 'backup') return { applied: await damageBackup(dir, storage, damage.how, damage.pick) };
  if (handles.length === 0) return { applied: null };
  const handle = handles[damage.target % handles.length]!;
  const defFile = join(dir, 'shapes', handle, 'definition.json');

  if (damage.kind === 'delete-dir') {
    await rm(join(dir, 'shapes', handle), { recursive: true, force: true });
    return { applied: `delete-dir ${handle}` };
  }

  if (damage.kind === 'definition') {
    const current = await readStoredRaw(dir, handle);
    switch (damage.how) {
      case 'garbage':
        await writeFile(defFile, Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x22, 0x0a, 0x13, damage.pick & 0xff]));
        break;
      case 'wrong-json':
        await writeFile(defFile, WRONG_JSON[damage.pick % WRONG_JSON.length]!.replace('HANDLE', handle));
        break;
      case 'empty':
        await writeFile(defFile, '');
        break;
      case 'missing-file':
        await unlink(defFile).catch(() => undefined);
        break;
      case 'bad-sql':
        if (!current) return { applied: null };
        await storage.updateShape({ ...current, definition: { ...current.definition, where: BAD_SQL[damage.pick % BAD_SQL.length]! } });
        break;
      case 'other-handle':
        if (!current) return { applied: null };
        await writeFile(defFile, JSON.stringify({ format: 'shape-actors/definition@1', shape: { ...current, handle: `${handle.split('-')[0]}-7` } }));
        break;
      case 'other-definition': {
        // Valid, but another shape's definition (and that shape's dependency handles):
        // it becomes a rival of that shape, and its own dependents now name a mismatch.
        const others = handles.filter((h) => h !== handle);
        if (!current || others.length === 0) return { applied: null };
        const donor = await readStoredRaw(dir, others[damage.pick % others.length]!);
        if (!donor) return { applied: null };
        await storage.updateShape({ ...current, definition: donor.definition, dependencyHandles: donor.dependencyHandles });
        break;
      }
    }
    return { applied: `definition:${damage.how} ${handle}` };
  }

  // Dependency handles rewritten (valid format, wrong graph).
  const all = new Map<string, StoredShape>();
  for (const h of handles) {
    const s = await readStoredRaw(dir, h);
    if (s) all.set(h, s);
  }
  const withDeps = [...all.values()].filter((s) => s.dependencyHandles.length > 0);
  const pool = damage.how === 'extra' ? [...all.values()] : withDeps;
  if (pool.length === 0) return { applied: null };
  const target = pool[damage.target % pool.length]!;
  const deps = [...target.dependencyHandles];
  const at = deps.length === 0 ? 0 : damage.pick % deps.length;
  switch (damage.how) {
    case 'cycle': {
      // Point a dependency at a shape that (transitively) depends on the target, or at itself.
      const dependents = [target.handle];
      for (let k = 0; k < dependents.length; k++) {
        for (const s of all.values()) if (s.dependencyHandles.includes(dependents[k]!) && !dependents.includes(s.handle)) dependents.push(s.handle);
      }
      deps[at] = dependents[damage.pick % dependents.length]!;
      break;
    }
    case 'missing': {
      // The incident's stale handle: same definition hash, a creation time no shape has.
      const old = deps[at]!;
      deps[at] = `${old.split('-')[0]}-${BigInt(old.split('-')[1]!) + 1n}`;
      break;
    }
    case 'drop':
      deps.splice(at, 1);
      break;
    case 'extra':
      deps.push(handles[damage.pick % handles.length]!);
      break;
  }
  await storage.updateShape({ ...target, dependencyHandles: deps });
  return { applied: `dependency:${damage.how} ${target.handle}` };
}

async function damageBackup(dir: string, storage: FileStorage, how: BackupDamage, pick: number): Promise<string | null> {
  const file = storage.layout.backup;
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch {
    return null;
  }
  switch (how) {
    case 'delete':
      await unlink(file);
      break;
    case 'truncate':
      await truncate(file, pick % text.length);
      break;
    case 'flip-byte': {
      // A flipped bit in the checksummed body (or, with no body, in the header line).
      const bodyStart = text.indexOf(0x0a) + 1;
      const pos = bodyStart > 0 && bodyStart < text.length ? bodyStart + (pick % (text.length - bodyStart)) : 0;
      const copy = Buffer.from(text);
      copy[pos] = copy[pos]! ^ (pos === 0 ? 0x40 : 0x01);
      await writeFile(file, copy);
      break;
    }
    case 'other-version': {
      const nl = text.indexOf(0x0a);
      if (nl < 0) return null;
      const header = JSON.parse(text.subarray(0, nl).toString('utf8')) as Record<string, unknown>;
      await writeFile(file, Buffer.concat([Buffer.from(JSON.stringify({ ...header, version: 2 + (pick % 3) })), text.subarray(nl)]));
      break;
    }
    case 'lie': {
      // A well-formed backup whose entries disagree with storage: storage must win.
      const read = await storage.readBackup();
      if (read.status !== 'ok') return null;
      const shapes = read.shapes.map((s, k) =>
        k % 2 === pick % 2 && s.dependencyHandles.length > 0 ? { ...s, dependencyHandles: s.dependencyHandles.map((d) => `${d.split('-')[0]}-1`) } : s,
      );
      const phantom = read.shapes[pick % Math.max(1, read.shapes.length)];
      if (phantom) shapes.push({ ...phantom, handle: `${phantom.handle.split('-')[0]}-2` });
      await storage.writeBackup({ shapes, position: read.position });
      break;
    }
  }
  void dir;
  return `backup:${how}`;
}

/** Whether the backup file is there and decodes (what restore will find). */
export async function backupUsable(dir: string): Promise<boolean> {
  const read = await new FileStorage(dir).readBackup();
  return read.status === 'ok';
}

/** Handles the (usable) backup names; empty when there is none or it cannot be used. */
export async function backupHandles(dir: string): Promise<Set<string>> {
  const read = await new FileStorage(dir).readBackup();
  return read.status === 'ok' ? new Set(read.shapes.map((s) => s.handle)) : new Set();
}
