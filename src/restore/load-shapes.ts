import type { Removal } from '../graph/removal.ts';
import type { ShapeRecord } from '../registry/shape-record.ts';
import type { BackupReadResult, ShapeStorage, StoredShape } from '../storage/storage.ts';
import { checkShapeFiles, sameStoredShape, type ShapeFileCheck } from './check-shape-files.ts';
import type { LoadResult, RestoreProblem } from './load-result.ts';
import { readStorageIndex, type StorageIndex } from './storage-index.ts';

export interface LoadOptions {
  /** Also read every shape's definition file and log (what restore takes on trust): the dry run and doctor. */
  readonly readEverything?: boolean;
}

/** `loadingShapes`: the stored shapes, from the metadata log and the listing of shape directories. */
export async function loadFromStorage(storage: ShapeStorage, fallbackReason: string | null, options: LoadOptions = {}): Promise<LoadResult> {
  const index = await readStorageIndex(storage);
  return loadResult(storage, index, { mode: 'storage', fallbackReason, position: null, removed: [], problems: [], tables: {} }, options);
}

export type BackupLoad = { readonly usable: true; readonly result: LoadResult } | { readonly usable: false; readonly reason: string };

/**
 * `loadingBackup`: the registry from the backup, reconciled with storage. A stored shape the
 * backup lacks is loaded from storage; a backup entry without storage is removed (`no-storage`);
 * an entry that differs from storage's record yields to it: storage is the truth, so both load
 * paths reach the same survivors.
 *
 * The metadata log is read first. A backup written beside exactly that log (its digest) that
 * names exactly the shapes the log holds (see reconcileSameAsMetadata) is not reconciled record
 * by record: its records are the log's, so the log's shapes without a directory are its
 * `no-storage` ones and the shapes read from their files (the log lacks them) the ones it lacks.
 * Any other backup is read whole and reconciled shape by shape. Validation is the same either
 * way (the plan checks every record storage gave). (An unusable backup: the scan that follows
 * reads the log again.)
 */
export async function loadFromBackup(storage: ShapeStorage, options: LoadOptions = {}): Promise<BackupLoad> {
  let index: StorageIndex;
  try {
    index = await readStorageIndex(storage);
  } catch (error) {
    // As when the backup was read first: an unusable one falls back to the scan (which meets this error).
    const unusable = unusableBackup(await storage.readBackup());
    if (unusable) return unusable;
    throw error;
  }
  const digest = storage.metadataDigest();
  let backup = await storage.readBackup(digest ? { unlessMetadataIs: digest } : {});
  if (backup.status === 'same-as-metadata') {
    const part = reconcileSameAsMetadata(index, backup.file, backup.handles);
    if (part) return { usable: true, result: await loadResult(storage, index, { ...part, position: backup.position }, options) };
    backup = await storage.readBackup();
  }
  // (Read without a digest, a backup is never `same-as-metadata`.)
  if (backup.status !== 'ok') return unusableBackup(backup) ?? { usable: false, reason: 'backup changed while it was read' };

  const stored = new Set(index.listing.handles);
  const inBackup = new Map<string, StoredShape>();
  for (const shape of backup.shapes) inBackup.set(shape.handle, shape);
  const problems: RestoreProblem[] = [];
  const removed: Removal[] = [];
  const tables: Record<string, string> = {};
  for (const shape of backup.shapes) {
    if (stored.has(shape.handle)) continue;
    noStorage(backup.file, shape.handle, shape.definition.table, { removed, problems, tables });
  }
  for (const record of index.records) {
    const fromBackup = inBackup.get(record.stored.handle);
    if (!fromBackup) {
      problems.push(notInBackup(backup.file, record.stored.handle));
    } else if (!sameStoredShape(fromBackup, record.stored)) {
      problems.push({ handle: record.stored.handle, file: backup.file, reason: 'backup entry differs from the stored definition: storage wins', action: 'kept' });
    }
  }
  const result = await loadResult(storage, index, { mode: 'backup', fallbackReason: null, position: backup.position, removed, problems, tables }, options);
  return { usable: true, result };
}

/**
 * The reconciliation of a backup written beside the metadata log as it is now, without its
 * records: when it names exactly the log's shapes (same handles; then the same records, as the
 * runtime wrote both from its registry), what the shape-by-shape reconciliation would find is
 * the log's own: its shapes without a directory, and the stored shapes it lacks (read from their
 * files). Null when the handles differ (a shape stored but never registered, say): the backup is
 * then read whole.
 */
function reconcileSameAsMetadata(index: StorageIndex, file: string, handles: readonly string[]): Omit<PathPart, 'position'> | null {
  if (handles.length !== index.inMetadata.size) return null;
  for (const handle of handles) if (!index.inMetadata.has(handle)) return null;
  const found = { removed: [] as Removal[], problems: [] as RestoreProblem[], tables: {} as Record<string, string> };
  for (const { handle, table } of index.unlisted) noStorage(file, handle, table, found);
  if (index.readFromFiles.length > 0) {
    const fromFiles = new Set(index.readFromFiles);
    for (const record of index.records) if (fromFiles.has(record.stored.handle)) found.problems.push(notInBackup(file, record.stored.handle));
  }
  return { mode: 'backup', fallbackReason: null, ...found };
}

function unusableBackup(backup: BackupReadResult): { readonly usable: false; readonly reason: string } | null {
  if (backup.status === 'missing') return { usable: false, reason: 'no backup' };
  if (backup.status === 'unusable') return { usable: false, reason: `backup ${backup.file} unusable: ${backup.reason}` };
  return null;
}

function noStorage(file: string, handle: string, table: string, into: { removed: Removal[]; problems: RestoreProblem[]; tables: Record<string, string> }): void {
  into.tables[handle] = table;
  into.removed.push({ handle, reason: 'no-storage', cause: null, detail: `named by ${file}, not stored` });
  into.problems.push({ handle, file, reason: 'named by the backup but has no storage', action: 'removed' });
}

function notInBackup(file: string, handle: string): RestoreProblem {
  return { handle, file, reason: 'stored but not in the backup (created after it): loaded from storage', action: 'kept' };
}

interface PathPart {
  readonly mode: LoadResult['mode'];
  readonly fallbackReason: string | null;
  readonly position: string | null;
  readonly removed: readonly Removal[];
  readonly problems: readonly RestoreProblem[];
  readonly tables: Record<string, string>;
}

/**
 * What both paths hand to `validatingDependencies`. Before the plan, restore reads the own files
 * of only the shapes a decision to delete data rests on: shapes that share a definition (the
 * fixed rule deletes all but one, so the one kept must be sound, and so its dependencies).
 * Every other shape's files are
 * read when it wakes, or by the check after restore (see checkShapeFiles), whichever comes first.
 */
async function loadResult(storage: ShapeStorage, index: StorageIndex, part: PathPart, options: LoadOptions): Promise<LoadResult> {
  const { early, definitionsShared } = shapesToCheckEarly(index.records);
  const earlySet = new Set(early);
  const found = await checkShapeFiles(storage, early.map((r) => r.stored), { repair: false });
  const removedEarly = new Set(found.flatMap((c) => (c.removal ? [c.handle] : [])));
  const later = options.readEverything
    ? await checkShapeFiles(storage, index.records.filter((r) => !earlySet.has(r)).map((r) => r.stored), { repair: false })
    : [];
  const checked = options.readEverything ? index.records.map((r) => r.stored.handle) : [...early.map((r) => r.stored.handle), ...index.readFromFiles];
  return {
    mode: part.mode,
    fallbackReason: part.fallbackReason,
    records: removedEarly.size === 0 ? index.records : index.records.filter((r) => !removedEarly.has(r.stored.handle)),
    tornLogs: found.filter((c) => c.tornLog).map((c) => c.handle),
    removedWhileLoading: [...part.removed, ...index.removed, ...found.flatMap((c) => (c.removal ? [c.removal] : []))],
    problems: [...part.problems, ...index.problems, ...problemsOf(found), ...problemsOf(later), ...strayProblems(index.listing.strays)],
    strays: index.listing.strays,
    position: part.position,
    tables: removedEarly.size === 0 ? part.tables : withTables(part.tables, index.records.filter((r) => removedEarly.has(r.stored.handle))),
    definitionsShared,
    checked,
    rewriteMetadata: index.rewriteMetadata,
    laterFindings: later,
  };
}

/** Shapes that share a definition with another, and what they depend on, transitively (the one kept must be sound with its closure). */
function shapesToCheckEarly(records: readonly ShapeRecord[]): { early: ShapeRecord[]; definitionsShared: boolean } {
  // Equal definitions have equal tables and where texts: shapes are grouped by those (no key
  // string built per shape), and only the rare pair that shares both compares whole keys.
  // (A group's first record is counted by key once a second joins it: then its slot holds null.)
  const firstOf = new Map<string, Map<string, ShapeRecord | null>>();
  const keyCounts = new Map<string, number>();
  const shared = new Set<string>();
  const count = (r: ShapeRecord): void => {
    const key = r.shape.key;
    const n = (keyCounts.get(key) ?? 0) + 1;
    keyCounts.set(key, n);
    if (n > 1) shared.add(key);
  };
  for (const r of records) {
    const { table, where = '' } = r.shape.definition;
    let byWhere = firstOf.get(table);
    if (!byWhere) firstOf.set(table, (byWhere = new Map()));
    const first = byWhere.get(where);
    if (first === undefined) {
      byWhere.set(where, r);
      continue;
    }
    if (first !== null) {
      count(first);
      byWhere.set(where, null);
    }
    count(r);
  }
  if (shared.size === 0) return { early: [], definitionsShared: false };
  const byHandle = new Map(records.map((r) => [r.stored.handle, r]));
  const early = new Set<string>();
  const visit = (handle: string): void => {
    if (early.has(handle) || !byHandle.has(handle)) return;
    early.add(handle);
    for (const dependency of byHandle.get(handle)!.stored.dependencyHandles) visit(dependency);
  };
  for (const r of records) if (shared.has(r.shape.key)) visit(r.stored.handle);
  return { early: records.filter((r) => early.has(r.stored.handle)), definitionsShared: true };
}

function problemsOf(checks: readonly ShapeFileCheck[]): RestoreProblem[] {
  return checks.flatMap((c) => (c.problem ? [c.problem] : []));
}

/** The tables of the records a load no longer holds (removed early), beside the backup's. */
function withTables(tables: Readonly<Record<string, string>>, records: readonly ShapeRecord[]): Record<string, string> {
  const out = { ...tables };
  for (const r of records) out[r.stored.handle] = r.shape.definition.table;
  return out;
}

function strayProblems(strays: LoadResult['strays']): RestoreProblem[] {
  return strays.map((stray) => {
    if (stray.kind === 'unknown') return { handle: null, file: stray.path, reason: 'not a shape directory: left alone', action: 'kept' as const };
    const what = stray.kind === 'trash' ? 'unfinished shape delete' : stray.name.startsWith('.tmp-') ? 'unfinished shape create' : 'temp file of an unfinished atomic write';
    return { handle: null, file: stray.path, reason: `${what} (crash): removed`, action: 'cleaned' as const };
  });
}
