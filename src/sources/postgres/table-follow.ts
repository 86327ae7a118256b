/**
 * Whether a table the shapes read is followed: one state per table, and the
 * pure transitions between them. No I/O: the source's actors carry out what a
 * transition implies (publish, mark, resync, remove shapes) and record the new state.
 *
 *   unpublished --sync started--> syncing --marker--> synced --(resync applied)--> synced, applied
 *        ^   \                      |  ^                 |
 *        |    +----> early <--------+  +--- sync again --+  (a column added, the identity changed)
 *        |           (published, not in step: its changes are dropped until its sync)
 *        +-- unfollowed      failing (its schema changed: its shapes are being removed)
 *   unfollowable: does not exist or cannot be followed (looked at again by each schema check)
 *
 * No copy of the table is kept: a table is in step from its sync's marker on
 * (every change after it carries its old row); the changes before it are
 * dropped, and at the marker the runtime resyncs the table's shapes from the
 * database, as of the marker.
 */
import type { TableInfo } from './catalog.ts';
import type { TableBaseline } from './state.ts';

export type TableFollow =
  | { readonly state: 'unpublished' }
  /** Published (by an earlier run, or its sync must start again): changes to it are not applied. */
  | { readonly state: 'early' }
  /** Published with REPLICA IDENTITY FULL, its marker written: followed from the marker on. */
  | { readonly state: 'syncing'; readonly marker: string; readonly info: TableInfo }
  /**
   * Followed from position `since` (its marker; 0: from before this run). `applied`: its shapes
   * were resynced at the marker (until then, waiters wait).
   */
  | { readonly state: 'synced'; readonly baseline: TableBaseline; readonly since: number; readonly applied: boolean }
  | { readonly state: 'failing'; readonly handles: ReadonlySet<string> }
  | { readonly state: 'unfollowable'; readonly reason: string };

export type TableFollowState = TableFollow['state'];

export const UNPUBLISHED: TableFollow = { state: 'unpublished' };

/** A change to the table is applied only once it is synced (from its marker on); before, its shapes are resynced anyway. */
export function appliesChanges(table: TableFollow): boolean {
  return table.state === 'synced';
}

/** The stream delivered the sync's marker (at `lsn`): followed from here, with the schema it was marked with. */
export function markerReached(table: TableFollow, marker: string, lsn: number): TableFollow {
  if (table.state !== 'syncing' || table.marker !== marker) return table;
  const { info } = table;
  return { state: 'synced', baseline: { oid: info.oid, keyColumns: info.keyColumns, columns: info.columns }, since: lsn, applied: false };
}

/** Whether the table's rows can be read as of `position` (it is followed, and was from before it). */
export function readableAt(table: TableFollow, position: number): boolean {
  return table.state === 'synced' && position >= table.since;
}

/** The runtime resynced the table's shapes at the marker: they hold its rows. */
export function syncApplied(table: TableFollow): TableFollow {
  return table.state === 'synced' && !table.applied ? { ...table, applied: true } : table;
}

/** The table must be read again (a column added, the identity changed, a resync refused): its changes wait for that sync. */
export function resyncWanted(table: TableFollow): TableFollow {
  return table.state === 'synced' || table.state === 'syncing' ? { state: 'early' } : table;
}

/** Its schema changed: its shapes are being removed. */
export function schemaChanged(handles: Iterable<string>): TableFollow {
  return { state: 'failing', handles: new Set(handles) };
}

/** A failing table whose shapes are all gone is just not followed. */
export function failingCleared(table: TableFollow, isLive: (handle: string) => boolean): TableFollow {
  return table.state === 'failing' && ![...table.handles].some(isLive) ? UNPUBLISHED : table;
}

/** Whether the table's shapes are in step with the stream (a waitForSync resolves). */
export function isSynced(table: TableFollow | undefined): boolean {
  return table?.state === 'synced' && table.applied;
}

/** Whether reconcile should start a sync for a wanted table in this state. */
export function needsSync(table: TableFollow | undefined, published: boolean): boolean {
  if (!table) return true;
  switch (table.state) {
    case 'unpublished':
    case 'early':
      return true;
    case 'synced':
      return !published;
    default:
      return false;
  }
}
