import type { Removal } from '../graph/removal.ts';
import type { ShapeDefinition } from '../shapes/definition.ts';
import { StorageError, type LogEntry, type ShapeStorage, type StoredShape } from '../storage/storage.ts';
import type { RestoreProblem } from './load-result.ts';
import { mapConcurrently } from './map-concurrently.ts';

/** How many shapes' files are read at once. */
const READ_CONCURRENCY = 64;

/** What reading a shape's own files found: nothing, a torn log tail (kept, cut back), or damage (the shape must go). */
export interface ShapeFileCheck {
  readonly handle: string;
  /** The shape must go, for the reason restore gives: `corrupt-definition`, `corrupt-log`, `no-storage`. */
  readonly removal?: Removal;
  /** Its log's last line is torn (an interrupted append): cut back to the last whole entry. */
  readonly tornLog?: true;
  readonly problem?: RestoreProblem;
}

export interface CheckOptions {
  /** Cut a torn log tail back on disk now (only where nothing appends meanwhile). */
  readonly repair: boolean;
}

/**
 * Reads what restore takes on trust from the metadata log: each shape's definition file (it
 * must be readable and say what the metadata says: same definition, same dependency handles)
 * and its log (missing, or damaged before its last line: the shape goes; a torn last line is
 * only cut back). Bad data is a finding, never an exception; other I/O failures propagate.
 */
export async function checkShapeFiles(storage: ShapeStorage, shapes: readonly StoredShape[], options: CheckOptions): Promise<ShapeFileCheck[]> {
  const checks = await mapConcurrently(shapes, READ_CONCURRENCY, async (shape) => (await readShapeFiles(storage, shape, options)).check);
  return checks.filter((c) => c.removal !== undefined || c.tornLog !== undefined);
}

/** One shape's files, read and checked; its log's entries when they could be read (a shape woken with a materializer is built from them). */
export async function readShapeFiles(storage: ShapeStorage, expected: StoredShape, options: CheckOptions): Promise<{ readonly check: ShapeFileCheck; readonly entries: readonly LogEntry[] | null }> {
  let entries: readonly LogEntry[] | null = null;
  const check = await checkOne(storage, expected, options, (read) => (entries = read));
  return { check, entries: check.removal ? null : entries };
}

async function checkOne(storage: ShapeStorage, expected: StoredShape, options: CheckOptions, onLog: (entries: readonly LogEntry[]) => void): Promise<ShapeFileCheck> {
  const { handle } = expected;
  const definitionFile = `${storage.description}: shapes/${handle}/definition.json`;
  const logFile = `${storage.description}: shapes/${handle}/log.jsonl`;
  try {
    const stored = await storage.readShape(handle);
    const differs = difference(expected, stored);
    if (differs) return remove(handle, 'corrupt-definition', definitionFile, `does not match the metadata log: ${differs}`);
    const log = await storage.readLog(handle, { repair: options.repair });
    onLog(log.entries);
    const damage = log.damage;
    if (damage?.kind === 'corrupt-entry') return remove(handle, 'corrupt-log', logFile, damage.line === 0 ? damage.reason : `line ${damage.line}: ${damage.reason}`);
    if (!damage) return { handle };
    const reason = `line ${damage.line}: ${damage.reason}: cut back to the last whole entry`;
    return { handle, tornLog: true, problem: { handle, file: logFile, reason, action: 'repaired' } };
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    if (error.code === 'corrupt') return remove(handle, 'corrupt-definition', error.file, error.reason);
    if (error.code === 'not-found') return remove(handle, 'no-storage', error.file, 'its storage is gone');
    throw error;
  }
}

function remove(handle: string, reason: 'corrupt-definition' | 'corrupt-log' | 'no-storage', file: string, why: string): ShapeFileCheck {
  return { handle, removal: { handle, reason, cause: null, detail: `${file}: ${why}` }, problem: { handle, file, reason: why, action: 'removed' } };
}

/** What differs between the metadata's record and the definition file (the `requested` flag may lag after a crash: ignored). */
function difference(expected: StoredShape, stored: StoredShape): string | null {
  if (!sameDefinition(expected.definition, stored.definition)) return `definition ${JSON.stringify(stored.definition)}, the log has ${JSON.stringify(expected.definition)}`;
  if (!sameList(expected.dependencyHandles, stored.dependencyHandles)) return `dependency handles [${stored.dependencyHandles.join(', ')}], the log has [${expected.dependencyHandles.join(', ')}]`;
  return null;
}

export function sameDefinition(a: ShapeDefinition, b: ShapeDefinition): boolean {
  return a.table === b.table && a.where === b.where && a.replica === b.replica && (a.columns === b.columns || (a.columns !== undefined && b.columns !== undefined && sameList(a.columns, b.columns)));
}

export function sameStoredShape(a: StoredShape, b: StoredShape): boolean {
  return a.handle === b.handle && a.requested === b.requested && sameDefinition(a.definition, b.definition) && sameList(a.dependencyHandles, b.dependencyHandles);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
