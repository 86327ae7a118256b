import type { Removal } from '../graph/removal.ts';
import type { KeptShape } from '../registry/kept-shape.ts';
import { interpretStoredShape, recordFromMetadata, type ShapeRecord } from '../registry/shape-record.ts';
import { ShapeInterner } from '../registry/shape-interner.ts';
import { loadSqlParser } from '../shapes/where/sql-parser.ts';
import { StorageError, type ShapeListing, type ShapeStorage, type StoredShape } from '../storage/storage.ts';
import type { RestoreProblem } from './load-result.ts';
import { mapConcurrently } from './map-concurrently.ts';

/** How many definition files are read at once (for shapes the metadata log does not name). */
const READ_CONCURRENCY = 64;

/** Past this many records beyond the shapes it names, the metadata log is compacted when a restore commits. */
const GARBAGE_ALLOWANCE = 1024;

/** What storage holds, as restore reads it: one listing, one metadata log, and definition files only where the log falls short. */
export interface StorageIndex {
  readonly listing: ShapeListing;
  /** Every stored shape that could be read, in listing order. */
  readonly records: readonly ShapeRecord[];
  /** Stored shapes whose definition file (read because the log lacked them) is unreadable: `corrupt-definition`. */
  readonly removed: readonly Removal[];
  readonly problems: readonly RestoreProblem[];
  /** The log is not an exact index of the shape directories (or has much garbage, or an older layout): rewritten when the restore commits. */
  readonly rewriteMetadata: boolean;
  /** Shapes whose definition files were read (so whose definition is checked already). */
  readonly readFromFiles: readonly string[];
  /** The handles the metadata log names (its latest records: a shape deleted there is absent). */
  readonly inMetadata: ReadonlySet<string> | ReadonlyMap<string, unknown>;
  /** Shapes the metadata log names that have no directory (an interrupted delete, lost storage), with their tables. */
  readonly unlisted: readonly { readonly handle: string; readonly table: string }[];
}

/**
 * Reads storage the way restore does: the listing of shape directories and the metadata log,
 * nothing per shape, except for a shape the log does not name (created by a crashed process
 * after its directory was renamed into place, or the log was damaged, or it was written by an
 * older version without a log): that shape's definition file is read and parsed, and the log is
 * rewritten at commit. A record whose parsed where clause comes from another parser version is
 * parsed again from its SQL. A record without a directory is dropped (an interrupted delete, or
 * lost storage): like a shape that is not stored at all.
 */
export async function readStorageIndex(storage: ShapeStorage): Promise<StorageIndex> {
  const listing = await storage.listShapes();
  // Each record is made as its line is read (the interner shares what records of one restore can).
  const interner = new ShapeInterner();
  const metadata = await storage.readMetadata((entry): KeptShape | StoredShape => recordFromMetadata(entry, interner) ?? entry.shape);
  const problems: RestoreProblem[] = [];
  const known = metadata.status === 'ok' ? metadata.shapes : new Map<string, never>();
  if (metadata.status === 'missing' && listing.handles.length > 0) {
    problems.push({ handle: null, file: `${storage.description}: metadata.jsonl`, reason: 'no metadata log (a data dir of a version before it, or a crash before its first record): built from the shape directories', action: 'repaired' });
  }
  if (metadata.status === 'unusable') problems.push({ handle: null, file: metadata.file, reason: `metadata log unusable (${metadata.reason}): rebuilt from the shape directories`, action: 'repaired' });
  if (metadata.status === 'ok' && metadata.damage) {
    const what = metadata.damage.torn ? 'interrupted append' : 'damaged';
    problems.push({ handle: null, file: metadata.file, reason: `line ${metadata.damage.line}: ${metadata.damage.reason} (${what}): the shapes after it read from their directories, the log rewritten`, action: 'repaired' });
  }

  let listedKnown = 0;
  const slots: (ShapeRecord | StoredShape | string)[] = listing.handles.map((handle) => {
    const entry = known.get(handle);
    if (entry === undefined) return handle;
    listedKnown++;
    return entry;
  });
  const unread = slots.filter((s): s is string => typeof s === 'string');
  const fromFiles = new Map<string, StoredShape | StorageError>();
  await mapConcurrently(unread, READ_CONCURRENCY, async (handle) => {
    try {
      fromFiles.set(handle, await storage.readShape(handle));
    } catch (error) {
      if (!(error instanceof StorageError) || error.code !== 'corrupt') throw error;
      fromFiles.set(handle, error);
    }
  });

  const records: ShapeRecord[] = [];
  const removed: Removal[] = [];
  const corrupt = (handle: string, file: string, reason: string): void => {
    removed.push({ handle, reason: 'corrupt-definition', cause: null, detail: `${file}: ${reason}` });
    problems.push({ handle, file, reason, action: 'removed' });
  };
  let parsedAgain = 0;
  for (const slot of slots) {
    if (typeof slot !== 'string' && 'shape' in slot) {
      records.push(slot);
      continue;
    }
    const stored = typeof slot === 'string' ? fromFiles.get(slot)! : slot;
    if (stored instanceof StorageError) {
      corrupt(stored.handle ?? String(slot), stored.file, stored.reason);
      continue;
    }
    if (parsedAgain++ === 0) await loadSqlParser();
    const interpreted = interpretStoredShape(stored);
    if (interpreted.ok) records.push(interpreted.record);
    else corrupt(stored.handle, `${storage.description}: shapes/${stored.handle}/definition.json`, interpreted.reason);
  }

  // (The listing's handles are distinct: when every record the log names was listed, none lacks a directory.)
  const unlisted: { handle: string; table: string }[] = [];
  if (listedKnown < known.size) {
    const listed = new Set(listing.handles);
    for (const [handle, entry] of known) if (!listed.has(handle)) unlisted.push({ handle, table: entry.definition.table });
  }
  const orphans = unlisted.length;
  const records_ = metadata.status === 'ok' ? metadata.records : 0;
  const rewriteMetadata =
    listing.handles.length + orphans > 0 &&
    (metadata.status !== 'ok' || metadata.damage !== undefined || metadata.outdated === true || parsedAgain > 0 || orphans > 0 || records_ > known.size + GARBAGE_ALLOWANCE);
  return { listing, records, removed, problems, rewriteMetadata, readFromFiles: unread, inMetadata: known, unlisted };
}
