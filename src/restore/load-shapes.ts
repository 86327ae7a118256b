import type { Removal } from '../graph/removal.ts';
import { interpretStoredShape, type ShapeRecord } from '../registry/shape-record.ts';
import { StorageError, type LogReadResult, type ShapeStorage, type StoredShape } from '../storage/storage.ts';
import { loadSqlParser } from '../shapes/where/sql-parser.ts';
import { mapConcurrently } from './map-concurrently.ts';
import type { LoadResult, RestoreProblem } from './load-result.ts';

/** How many definition files are read at once. */
const READ_CONCURRENCY = 64;

export interface ReadStoredShapesResult {
  readonly records: ShapeRecord[];
  readonly removed: Removal[];
  readonly problems: RestoreProblem[];
  /** Logs whose last line was torn by an interrupted append: cut back when the restore commits. */
  readonly tornLogs: string[];
}

/**
 * Reads and validates each shape's definition and checks its log. An
 * unreadable or invalid definition removes the shape (`corrupt-definition`),
 * a missing log or one damaged before its last line removes it too
 * (`corrupt-log`); a torn last line is only noted for repair. Each names the
 * file and why. Other I/O failures (permissions, disk) propagate: they are
 * not bad data.
 */
export async function readStoredShapes(storage: ShapeStorage, handles: readonly string[]): Promise<ReadStoredShapesResult> {
  await loadSqlParser();
  const records: ShapeRecord[] = [];
  const removed: Removal[] = [];
  const problems: RestoreProblem[] = [];
  const tornLogs: string[] = [];
  // Only a log's damage is kept: holding every shape's whole log until all are read made restore's memory the size of the data.
  type ReadOutcome = { handle: string; stored: StoredShape; logDamage: LogReadResult['damage'] } | { handle: string; error: StorageError };
  const results = await mapConcurrently(handles, READ_CONCURRENCY, async (handle): Promise<ReadOutcome> => {
    try {
      const stored = await storage.readShape(handle);
      return { handle, stored, logDamage: (await storage.readLog(handle)).damage };
    } catch (error) {
      if (error instanceof StorageError && error.code === 'corrupt') return { handle, error };
      throw error;
    }
  });
  for (const result of results) {
    if ('error' in result) {
      remove(result.handle, 'corrupt-definition', result.error.file, result.error.reason);
      continue;
    }
    const logFile = `${storage.description}: shapes/${result.handle}/log.jsonl`;
    const damage = result.logDamage;
    if (damage?.kind === 'corrupt-entry') {
      remove(result.handle, 'corrupt-log', logFile, damage.line === 0 ? damage.reason : `line ${damage.line}: ${damage.reason}`);
      continue;
    }
    const interpreted = interpretStoredShape(result.stored);
    if (!interpreted.ok) {
      remove(result.handle, 'corrupt-definition', `${storage.description}: shapes/${result.handle}/definition.json`, interpreted.reason);
      continue;
    }
    records.push(interpreted.record);
    if (damage) {
      tornLogs.push(result.handle);
      problems.push({ handle: result.handle, file: logFile, reason: `line ${damage.line}: ${damage.reason}: cut back to the last whole entry`, action: 'repaired' });
    }
  }
  return { records, removed, problems, tornLogs };

  function remove(handle: string, reason: 'corrupt-definition' | 'corrupt-log', file: string, why: string): void {
    removed.push({ handle, reason, cause: null, detail: `${file}: ${why}` });
    problems.push({ handle, file, reason: why, action: 'removed' });
  }
}

/** `loadingShapes`: every stored shape's definition, read from storage. */
export async function loadFromStorage(storage: ShapeStorage, fallbackReason: string | null): Promise<LoadResult> {
  const listing = await storage.listShapes();
  const read = await readStoredShapes(storage, listing.handles);
  return {
    mode: 'storage',
    fallbackReason,
    records: read.records,
    tornLogs: read.tornLogs,
    removedWhileLoading: read.removed,
    problems: [...read.problems, ...strayProblems(listing.strays)],
    strays: listing.strays,
    position: null,
    tables: tablesOf(read.records.map((r) => r.stored)),
  };
}

export type BackupLoad = { readonly usable: true; readonly result: LoadResult } | { readonly usable: false; readonly reason: string };

/**
 * `loadingBackup`: the registry from the backup, reconciled with storage. A
 * stored shape the backup lacks is loaded from storage; a backup entry without
 * storage is removed (`no-storage`). Definitions on disk are still read and
 * validated: storage is the truth, so both load paths reach the same survivors.
 */
export async function loadFromBackup(storage: ShapeStorage): Promise<BackupLoad> {
  const backup = await storage.readBackup();
  if (backup.status === 'missing') return { usable: false, reason: 'no backup' };
  if (backup.status === 'unusable') return { usable: false, reason: `backup ${backup.file} unusable: ${backup.reason}` };

  const listing = await storage.listShapes();
  const stored = new Set(listing.handles);
  const inBackup = new Map<string, StoredShape>();
  for (const shape of backup.shapes) inBackup.set(shape.handle, shape);

  const read = await readStoredShapes(storage, listing.handles);
  const problems: RestoreProblem[] = [...read.problems];
  const removed: Removal[] = [];
  for (const shape of backup.shapes) {
    if (stored.has(shape.handle)) continue;
    removed.push({ handle: shape.handle, reason: 'no-storage', cause: null, detail: `named by ${backup.file}, not stored` });
    problems.push({ handle: shape.handle, file: backup.file, reason: 'named by the backup but has no storage', action: 'removed' });
  }
  for (const record of read.records) {
    const fromBackup = inBackup.get(record.stored.handle);
    if (!fromBackup) {
      problems.push({ handle: record.stored.handle, file: backup.file, reason: 'stored but not in the backup (created after it): loaded from storage', action: 'kept' });
    } else if (JSON.stringify(fromBackup) !== JSON.stringify(record.stored)) {
      problems.push({ handle: record.stored.handle, file: backup.file, reason: 'backup entry differs from the stored definition: storage wins', action: 'kept' });
    }
  }
  return {
    usable: true,
    result: {
      mode: 'backup',
      fallbackReason: null,
      records: read.records,
      tornLogs: read.tornLogs,
      removedWhileLoading: [...removed, ...read.removed],
      problems: [...problems, ...strayProblems(listing.strays)],
      strays: listing.strays,
      position: backup.position,
      tables: tablesOf([...backup.shapes, ...read.records.map((r) => r.stored)]),
    },
  };
}

/** handle -> table; a later entry wins (storage after the backup: storage is the truth). */
function tablesOf(shapes: readonly StoredShape[]): Record<string, string> {
  const tables: Record<string, string> = {};
  for (const shape of shapes) tables[shape.handle] = shape.definition.table;
  return tables;
}

function strayProblems(strays: LoadResult['strays']): RestoreProblem[] {
  return strays.map((stray) => {
    if (stray.kind === 'unknown') return { handle: null, file: stray.path, reason: 'not a shape directory: left alone', action: 'kept' as const };
    const what = stray.kind === 'trash' ? 'unfinished shape delete' : stray.name.startsWith('.tmp-') ? 'unfinished shape create' : 'temp file of an unfinished atomic write';
    return { handle: null, file: stray.path, reason: `${what} (crash): removed`, action: 'cleaned' as const };
  });
}
