import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { link, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { StorageError } from './storage.ts';
import { fsyncDirectory } from './fs-durable.ts';
import { dataDirLayout } from './data-dir-layout.ts';
import { errnoText } from './fs-errors.ts';

interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly acquiredAt: string;
}

export interface DataDirLock {
  readonly file: string;
  release(): Promise<void>;
}

/** The holder touches its lock file this often: the file's mtime says it is still there. */
export const LOCK_REFRESH_MS = 10_000;
/** A lock from another host not refreshed for this long may be taken over, with `forceUnlock` only. */
export const FOREIGN_LOCK_STALE_MS = 60_000;

export interface LockOptions {
  /** Take over a lock written on another host that has not been refreshed for FOREIGN_LOCK_STALE_MS. */
  readonly forceUnlock?: boolean;
  /** How often the holder refreshes the lock (tests shorten it). */
  readonly refreshMs?: number;
}

/**
 * One process per data dir. The lock file names its owner (pid, host), and its holder touches it
 * every LOCK_REFRESH_MS. A lock whose owner on this host is no longer alive was left by a crash
 * and is taken over, so a crash never needs a person to delete a file. A lock from another host
 * (a container restarted under a new hostname, a volume moved) cannot be checked from here: it
 * is refused, with a message saying how to take it over (`forceUnlock`, the CLI's
 * `--force-unlock`), which is allowed only once the lock has gone FOREIGN_LOCK_STALE_MS without a
 * refresh, so a process still running on the other host keeps it. A second live process gets a
 * StorageError `locked` naming the owner.
 *
 * The lock file is created with link(2) from a private temp file, which is atomic and fails if
 * the lock exists; a lock being taken over is first renamed to a private name and checked there,
 * so of two processes recovering at once the one that moved a live lock aside puts it back and
 * gives way.
 */
export async function lockDataDir(dataDir: string, options: LockOptions = {}): Promise<DataDirLock> {
  const file = dataDirLayout(dataDir).lock;
  const me: LockOwner = { pid: process.pid, hostname: hostname(), acquiredAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    const temp = join(dataDir, `.lock-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await writeFile(temp, `${JSON.stringify(me)}\n`);
    } catch (error) {
      throw new StorageError('io', dataDir, `cannot take the data dir lock: ${errnoText(error)}`);
    }
    try {
      await link(temp, file);
      await fsyncDirectory(dataDir);
      return held(file, me, options.refreshMs ?? LOCK_REFRESH_MS);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new StorageError('io', dataDir, `cannot take the data dir lock: ${errnoText(error)}`);
    } finally {
      await unlink(temp).catch(() => {});
    }
    const state = await judge(file);
    const refusal = refusalOf(state, options);
    if (refusal) throw new StorageError('locked', file, refusal);
    // Stale, unreadable (torn by a crash while being written), or foreign and forced: move it aside, then retry.
    const aside = join(dataDir, `.lock-stale-${randomBytes(4).toString('hex')}`);
    try {
      await rename(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      continue;
    }
    // Another process may have taken the lock over between our read and our rename: then what we
    // moved aside is its live lock. Put it back and give way.
    const moved = await judge(aside);
    const movedRefusal = moved.owner && moved.owner.acquiredAt !== state.owner?.acquiredAt ? refusalOf(moved, {}) : null;
    if (movedRefusal) {
      await link(aside, file).catch(() => {});
      await unlink(aside).catch(() => {});
      throw new StorageError('locked', file, movedRefusal);
    }
    await unlink(aside).catch(() => {});
  }
  throw new StorageError('locked', file, 'could not take the data dir lock (it keeps changing hands)');
}

/** Why a lock in this state may not be taken over (null: it may). */
function refusalOf(state: LockState, options: LockOptions): string | null {
  if (state.kind === 'live') return `data dir is in use by process ${state.owner.pid} on ${state.owner.hostname} (since ${state.owner.acquiredAt})`;
  if (state.kind !== 'foreign') return null;
  const { owner, refreshedMsAgo } = state;
  const held = `data dir is locked by process ${owner.pid} on host ${owner.hostname} (since ${owner.acquiredAt}, last refreshed ${seconds(refreshedMsAgo)} ago)`;
  if (!options.forceUnlock) {
    return `${held}, which cannot be checked from ${hostname()}: if nothing on ${owner.hostname} uses this data dir any more (a replaced container, a moved volume), run again with --force-unlock (forceUnlock: true in code)`;
  }
  if (refreshedMsAgo < FOREIGN_LOCK_STALE_MS) {
    return `${held}: its process is running; --force-unlock takes over a lock from another host only after ${seconds(FOREIGN_LOCK_STALE_MS)} without a refresh`;
  }
  return null;
}

function seconds(ms: number): string {
  return `${Math.max(0, Math.round(ms / 1000))} s`;
}

function held(file: string, me: LockOwner, refreshMs: number): DataDirLock {
  // The heartbeat: while the lock file still names us, its mtime says we are there.
  const refresh = setInterval(() => {
    void readOwner(file).then(async (owner) => {
      if (owner && isMe(owner, me)) await utimes(file, new Date(), new Date());
      else clearInterval(refresh);
    }).catch(() => {});
  }, refreshMs);
  refresh.unref();
  return {
    file,
    async release() {
      clearInterval(refresh);
      const owner = await readOwner(file);
      if (owner && isMe(owner, me)) await unlink(file).catch(() => {});
    },
  };
}

function isMe(owner: LockOwner, me: LockOwner): boolean {
  return owner.pid === me.pid && owner.hostname === me.hostname && owner.acquiredAt === me.acquiredAt;
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
  | { readonly kind: 'none'; readonly owner?: undefined }
  /** Torn by a crash while being written: `lockDataDir` takes it over. */
  | { readonly kind: 'unreadable'; readonly owner?: undefined }
  /** On this host. `live`: `lockDataDir` refuses; `stale` (its process is gone): it takes the lock over. */
  | { readonly kind: 'live' | 'stale'; readonly owner: LockOwner }
  /** Written on another host, whose processes this one cannot see: taken over only with `forceUnlock`, once not refreshed for FOREIGN_LOCK_STALE_MS. */
  | { readonly kind: 'foreign'; readonly owner: LockOwner; readonly refreshedMsAgo: number };

/** The data dir's lock as `lockDataDir` would judge it, read without taking it (doctor). */
export function readLockState(dataDir: string): Promise<LockState> {
  return judge(dataDirLayout(dataDir).lock);
}

async function judge(file: string): Promise<LockState> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, mtimeMs] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.mtimeMs)]);
  } catch {
    return { kind: 'none' };
  }
  const owner = parseOwner(text);
  if (!owner) return { kind: 'unreadable' };
  if (owner.hostname !== hostname()) return { kind: 'foreign', owner, refreshedMsAgo: Date.now() - mtimeMs };
  return { kind: isAlive(owner) ? 'live' : 'stale', owner };
}

/** Alive = the pid exists on this host (EPERM: it exists, as another user's). */
function isAlive(owner: LockOwner): boolean {
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
