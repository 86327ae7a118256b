import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoText } from './fs-errors.ts';
import { StorageError } from './storage.ts';

/**
 * The data dir's layout, in one place: every path in it, what its top level may hold (each
 * entry with the part that writes it), and how a directory is judged (a data dir, empty, or
 * something else). The stores, the lock, the Postgres source's state and `doctor` all read it
 * from here; the README's on-disk layout describes the same entries.
 */
export const DEFINITION_FILE = 'definition.json';
export const LOG_FILE = 'log.jsonl';
export const BACKUP_FILE = 'registry.jsonl';
export const RETIRED_BACKUP_FILE = 'registry.retired.jsonl';
export const JOURNAL_FILE = 'journal.jsonl';
export const METADATA_FILE = 'metadata.jsonl';
export const LOCK_FILE = 'lock';

/** The top level of a data dir: any of these (with its kind) makes a directory a data dir. */
export const DATA_DIR_ENTRIES: readonly { readonly name: string; readonly kind: 'directory' | 'file'; readonly holds: string }[] = [
  { name: 'shapes', kind: 'directory', holds: 'one directory per shape: its definition and its log' },
  { name: 'backup', kind: 'directory', holds: 'the registry backup, written at checkpoint and clean shutdown' },
  { name: JOURNAL_FILE, kind: 'file', holds: 'transaction batches, prepared and committed' },
  { name: METADATA_FILE, kind: 'file', holds: 'the metadata log: one record per shape, what restore reads' },
  { name: 'tables', kind: 'directory', holds: 'the embedded row store' },
  { name: LOCK_FILE, kind: 'file', holds: 'the process using the data dir' },
  { name: 'postgres', kind: 'directory', holds: "serve's Postgres source state: slot, publication, synced tables, the position" },
];

/**
 * Names a data dir holds for a moment: a lock being taken (`.lock-<pid>-<hex>`) or set aside
 * (`.lock-stale-<hex>`), and the temp file of an atomic replace of the journal (`journal.jsonl.<n>`).
 */
const TRANSIENT = [/^\.lock-\d+-[0-9a-f]+$/, /^\.lock-stale-[0-9a-f]+$/, /^(journal|metadata)\.jsonl\.\d+$/];

/** An entry of a data dir's top level that belongs to the layout (lasting or transient). */
export function isLayoutEntry(name: string): boolean {
  return DATA_DIR_ENTRIES.some((e) => e.name === name) || TRANSIENT.some((pattern) => pattern.test(name));
}

/** Paths of the on-disk layout (README: On-disk layout). */
export function dataDirLayout(dataDir: string) {
  const shapes = join(dataDir, 'shapes');
  const backup = join(dataDir, 'backup');
  return {
    shapes,
    backupDir: backup,
    backup: join(backup, BACKUP_FILE),
    retiredBackup: join(backup, RETIRED_BACKUP_FILE),
    journal: join(dataDir, JOURNAL_FILE),
    lock: join(dataDir, LOCK_FILE),
    tables: join(dataDir, 'tables'),
    metadata: join(dataDir, METADATA_FILE),
    /** The Postgres source's own state (`serve`). */
    postgres: join(dataDir, 'postgres'),
    shapeDir: (handle: string) => join(shapes, handle),
    definition: (handle: string) => join(shapes, handle, DEFINITION_FILE),
    log: (handle: string) => join(shapes, handle, LOG_FILE),
  };
}

/** What is at a path that should be a data dir. */
export type DirectoryState =
  | { readonly kind: 'data-dir' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'missing' }
  /** A file, or a path through a file. */
  | { readonly kind: 'not-a-directory'; readonly reason: string }
  /** A directory that holds other things and nothing of a data dir's layout. */
  | { readonly kind: 'foreign'; readonly entries: readonly string[] }
  | { readonly kind: 'unreadable'; readonly reason: string };

/**
 * Judges a path: a data dir holds at least one entry of the layout (of its kind), or nothing but
 * layout names. Only a missing
 * or an empty directory may become one; anything else (a project folder, `/proc/self`) is
 * `foreign` and is never adopted.
 */
export async function inspectDirectory(path: string): Promise<DirectoryState> {
  let names: string[];
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return { kind: 'not-a-directory', reason: 'it is a file' };
    names = await readdir(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ENOTDIR') return { kind: 'not-a-directory', reason: 'a part of its path is a file' };
    return { kind: 'unreadable', reason: errnoText(error) };
  }
  if (names.length === 0) return { kind: 'empty' };
  // Nothing but layout names: a data dir, however damaged (a `backup` that became a file).
  if (names.every(isLayoutEntry)) return { kind: 'data-dir' };
  for (const entry of DATA_DIR_ENTRIES) {
    if (!names.includes(entry.name)) continue;
    const info = await stat(join(path, entry.name)).catch(() => null);
    if (info && (entry.kind === 'directory' ? info.isDirectory() : info.isFile())) return { kind: 'data-dir' };
  }
  return { kind: 'foreign', entries: names.sort() };
}

/** `a, b, c and 4 more`: a few names of a directory's entries, for one-line messages. */
export function someEntries(entries: readonly string[], shown = 3): string {
  if (entries.length <= shown) return entries.join(', ');
  return `${entries.slice(0, shown).join(', ')} and ${entries.length - shown} more`;
}

/**
 * Whether `dataDir` may be opened as a data dir, checked without writing anything: `exists` (a
 * data dir, or an empty directory), `missing` (allowed with `create`), else a StorageError.
 * Whatever writes into a data dir before the store opens it (the Postgres source's state) asks first.
 */
export async function checkDataDir(dataDir: string, options: { readonly create?: boolean } = {}): Promise<'exists' | 'missing'> {
  const state = await inspectDirectory(dataDir);
  switch (state.kind) {
    case 'missing':
      if (!options.create) throw new StorageError('not-found', dataDir, 'data dir does not exist');
      return 'missing';
    case 'not-a-directory':
      throw new StorageError('io', dataDir, `data dir is not a directory (${state.reason})`);
    case 'unreadable':
      throw new StorageError('io', dataDir, `cannot read data dir: ${state.reason}`);
    case 'foreign':
      throw new StorageError(
        'not-a-data-dir',
        dataDir,
        `not a shape-actors data dir (it holds ${someEntries(state.entries)}, none of the data dir layout; a data dir is created in an empty or missing directory)`,
      );
    case 'empty':
    case 'data-dir':
      return 'exists';
  }
}
