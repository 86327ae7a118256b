import { mkdir, open, rename, rm, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/**
 * Every change the file store and the row store make on disk goes through
 * one of these, each durable when it resolves. Keeping them in one object
 * lets the crash tests record the sequence and rebuild the data dir as a
 * crash after any prefix of it would leave it.
 */
export interface DurableFs {
  mkdir(dir: string): Promise<void>;
  /** Creates a file with exactly `data`, synced, failing if it exists. */
  createFile(file: string, data: string | Uint8Array): Promise<void>;
  /** Appends and syncs the data (fdatasync: the size change is data). */
  append(file: string, data: string): Promise<void>;
  /** Replaces a file atomically (temp file, fsync, rename: write-file-atomic), then syncs its directory. */
  replaceFile(file: string, data: string): Promise<void>;
  /** Renames and syncs the directory that holds the new name. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file or directory tree (force: a missing path is fine). */
  remove(path: string): Promise<void>;
  /** Cuts a file to `length` bytes and syncs it. */
  truncate(file: string, length: number): Promise<void>;
  /** Syncs a directory, making the creates and renames in it durable. */
  syncDirectory(dir: string): Promise<void>;
}

/**
 * A rename or create is durable only once its directory is synced: without
 * this a crash can bring back the old name after the call returned.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  await syncPath(dir);
}

async function syncPath(path: string, data = false): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await (data ? handle.datasync() : handle.sync());
  } finally {
    await handle.close();
  }
}

export const nodeDurableFs: DurableFs = {
  async mkdir(dir) {
    await mkdir(dir, { recursive: true });
  },
  async createFile(file, data) {
    const handle = await open(file, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  async append(file, data) {
    const handle = await open(file, 'a');
    try {
      await handle.writeFile(data);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  },
  async replaceFile(file, data) {
    await writeFileAtomic(file, data, { fsync: true });
    await fsyncDirectory(dirname(file));
  },
  async rename(from, to) {
    await rename(from, to);
    await fsyncDirectory(dirname(to));
  },
  async remove(path) {
    await rm(path, { recursive: true, force: true });
  },
  async truncate(file, length) {
    await truncate(file, length);
    await syncPath(file);
  },
  syncDirectory: fsyncDirectory,
};
