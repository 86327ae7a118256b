import { open, rename } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { dirname } from 'node:path';

/**
 * A rename or create is durable only once its directory is synced: without
 * this a crash can bring back the old name after the call returned.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write to a temp file, fsync, rename over the target (write-file-atomic), then fsync the directory. */
export async function writeFileDurably(file: string, data: string): Promise<void> {
  await writeFileAtomic(file, data, { fsync: true });
  await fsyncDirectory(dirname(file));
}

/** Creates a file with exactly `data`, synced, failing if it exists. */
export async function createFileDurably(file: string, data: string): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Appends and syncs the data (not the metadata: the size change is data for fdatasync). */
export async function appendDurably(file: string, data: string): Promise<void> {
  const handle = await open(file, 'a');
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Renames and syncs the directory that holds both names. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDirectory(dirname(to));
}
