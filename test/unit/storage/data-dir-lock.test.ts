import { hostname } from 'node:os';
import { stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FOREIGN_LOCK_STALE_MS, lockDataDir, readLockState } from '../../../src/storage/data-dir-lock.ts';
import { useTempDirs } from '../../helpers/temp-dir.ts';

const tempDir = useTempDirs();

describe('the data dir lock', () => {
  it('is refreshed while held (its mtime moves), and the refresh ends with the release', async () => {
    const dir = await tempDir();
    const lock = await lockDataDir(dir, { refreshMs: 40 });
    const past = new Date(Date.now() - 3_600_000);
    await utimes(lock.file, past, past);
    // Wait for a refresh (every 40 ms) rather than a fixed time: a loaded machine may delay the timer.
    const deadline = Date.now() + 10_000;
    while ((await stat(lock.file)).mtimeMs < Date.now() - 600_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect((await stat(lock.file)).mtimeMs).toBeGreaterThan(Date.now() - 600_000);
    const state = await readLockState(dir);
    expect(state).toMatchObject({ kind: 'live', owner: { pid: process.pid, hostname: hostname() } });
    await lock.release();
    expect((await readLockState(dir)).kind).toBe('none');
  });

  it('one from another host: refused unless forced, and forced only once it went FOREIGN_LOCK_STALE_MS without a refresh', async () => {
    const dir = await tempDir();
    const file = join(dir, 'lock');
    await writeFile(file, JSON.stringify({ pid: 7, hostname: 'elsewhere', acquiredAt: '2026-01-01T00:00:00.000Z' }));
    await expect(lockDataDir(dir)).rejects.toMatchObject({ code: 'locked', reason: expect.stringMatching(/run again with --force-unlock/) });
    await expect(lockDataDir(dir, { forceUnlock: true })).rejects.toMatchObject({ code: 'locked', reason: expect.stringMatching(/its process is running/) });
    const stale = new Date(Date.now() - FOREIGN_LOCK_STALE_MS - 5_000);
    await utimes(file, stale, stale);
    expect(await readLockState(dir)).toMatchObject({ kind: 'foreign', owner: { hostname: 'elsewhere' } });
    await expect(lockDataDir(dir)).rejects.toMatchObject({ code: 'locked' });
    const lock = await lockDataDir(dir, { forceUnlock: true });
    expect(await readLockState(dir)).toMatchObject({ kind: 'live', owner: { pid: process.pid } });
    await lock.release();
  });
});
