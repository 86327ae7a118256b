import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { StorageError } from './storage.ts';
import { fsyncDirectory } from './fs-durable.ts';

export const LOCK_FILE = 'lock';

interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly acquiredAt: string;
}

export interface DataDirLock {
  readonly file: string;
  release(): Promise<void>;
}

/**
 * One process per data dir. The lock file names its owner (pid, host); a lock
 * whose owner on this host is no longer alive was left by a crash and is
 * taken over, so a crash never needs a person to delete a file. A second live
 * process gets a StorageError `locked` naming the owner.
 *
 * The lock file is created with link(2) from a private temp file, which is
 * atomic and fails if the lock exists; a stale lock is first renamed to a
 * private name and checked there, so of two processes recovering at once the
 * one that moved a live lock aside puts it back and gives way.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const file = join(dataDir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, hostname: hostname(), acquiredAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    const temp = join(dataDir, `.lock-${process.pid}-${randomBytes(4).toString('hex')}`);
    await writeFile(temp, `${JSON.stringify(me)}\n`);
    try {
      await link(temp, file);
      await fsyncDirectory(dataDir);
      return { file, release: () => release(file, me) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(temp).catch(() => {});
    }
    const owner = await readOwner(file);
    if (owner && isAlive(owner)) {
      throw new StorageError('locked', file, `data dir is in use by process ${owner.pid} on ${owner.hostname} (since ${owner.acquiredAt})`);
    }
    // Stale (or unreadable, i.e. torn by a crash while being written): move it aside, then retry.
    const aside = join(dataDir, `.lock-stale-${randomBytes(4).toString('hex')}`);
    try {
      await rename(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      continue;
    }
    // Another process may have taken the stale lock over between our read and our rename: then
    // what we moved aside is its live lock. Put it back and give way.
    const moved = await readOwner(aside);
    if (moved && isAlive(moved) && !(moved.pid === process.pid && moved.acquiredAt === me.acquiredAt)) {
      await link(aside, file).catch(() => {});
      await unlink(aside).catch(() => {});
      throw new StorageError('locked', file, `data dir is in use by process ${moved.pid} on ${moved.hostname} (since ${moved.acquiredAt})`);
    }
    await unlink(aside).catch(() => {});
  }
  throw new StorageError('locked', file, 'could not take the data dir lock (it keeps changing hands)');
}

async function release(file: string, me: LockOwner): Promise<void> {
  const owner = await readOwner(file);
  if (owner && owner.pid === me.pid && owner.acquiredAt === me.acquiredAt) await unlink(file).catch(() => {});
}

async function readOwner(file: string): Promise<LockOwner | null> {
  try {
    return parseOwner(await readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const value = JSON.parse(text) as Partial<LockOwner> | null;
    if (value && typeof value.pid === 'number' && typeof value.hostname === 'string' && typeof value.acquiredAt === 'string') return value as LockOwner;
    return null;
  } catch {
    return null;
  }
}

export type LockState =
  | { readonly kind: 'none' }
  /** Torn by a crash while being written: `lockDataDir` takes it over. */
  | { readonly kind: 'unreadable' }
  /** `live`: `lockDataDir` refuses; `stale` (its process is gone): it takes the lock over. */
  | { readonly kind: 'live' | 'stale'; readonly owner: LockOwner };

/** The data dir's lock as `lockDataDir` would judge it, read without taking it (doctor). */
export async function readLockState(dataDir: string): Promise<LockState> {
  let text: string;
  try {
    text = await readFile(join(dataDir, LOCK_FILE), 'utf8');
  } catch {
    return { kind: 'none' };
  }
  const owner = parseOwner(text);
  if (!owner) return { kind: 'unreadable' };
  return { kind: isAlive(owner) ? 'live' : 'stale', owner };
}

/** Alive = on this host and the pid exists. A lock from another host is trusted as live. */
function isAlive(owner: LockOwner): boolean {
  if (owner.hostname !== hostname()) return true;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
