/**
 * Whether a table the shapes read is followed: one state per table, and the
 * pure transitions between them. No I/O: the source's actors carry out what a
 * transition implies (publish, read, remove shapes) and record the new state.
 *
 *   unpublished --publish--> early --sync started--> syncing --marker--> synced
 *        ^                     ^  \__________________/  |                  |
 *        |                     |     sync failed        | schema change    | column added (read again)
 *        +---- unfollowed -----+------------------------+-> failing <------+
 *   unfollowable: does not exist or cannot be followed (looked at again by each schema check)
 *
 * `early` and `syncing` keep the table's changes that arrive before its sync
 * completes (`held`): the sync sorts them out by its snapshot's visibility.
 */
import type { PgSnapshot } from './snapshot.ts';
import type { TableBaseline } from './state.ts';
import type { StreamMessage } from './stream.ts';
import type { TableInfo } from './catalog.ts';
import type { Row } from '../../shapes/where/evaluate.ts';

/** A change to a table that arrived before its sync completed, with its transaction's Postgres xid. */
export interface HeldChange {
  readonly pgXid: number;
  readonly message: StreamMessage;
}

/** A sync in progress: started, then its rows read at `snapshot` (with the marker in the same transaction). */
export interface SyncAttempt {
  /** The marker's content: the apply loop finishes the sync when the stream delivers it. */
  readonly marker: string;
  readonly keyColumns: readonly string[];
  readonly held: HeldChange[];
  /** Set once the rows are read (the marker may arrive before the read's COMMIT is answered). */
  read: { readonly snapshot: PgSnapshot; readonly rows: Map<string, Row>; readonly info: TableInfo } | null;
  readonly ready: Promise<void>;
  /** Resolves `ready` (with the reason when the sync failed). */
  settle(error?: unknown): void;
  failed: unknown;
}

export type TableFollow =
  | { readonly state: 'unpublished' }
  | { readonly state: 'early'; readonly held: HeldChange[] }
  | { readonly state: 'syncing'; readonly sync: SyncAttempt }
  /** `applied`: the sync's transaction is durable in the runtime (until then, waiters wait). */
  | { readonly state: 'synced'; readonly baseline: TableBaseline; readonly applied: boolean }
  | { readonly state: 'failing'; readonly handles: ReadonlySet<string> }
  | { readonly state: 'unfollowable'; readonly reason: string };

export type TableFollowState = TableFollow['state'];

export const UNPUBLISHED: TableFollow = { state: 'unpublished' };

/** What to do with a change to the table: apply it, keep it for the sync, or drop it. */
export function changeArrived(table: TableFollow, change: HeldChange): { readonly next: TableFollow; readonly action: 'apply' | 'hold' | 'drop' } {
  switch (table.state) {
    case 'synced':
      return { next: table, action: 'apply' };
    case 'syncing':
      table.sync.held.push(change);
      return { next: table, action: 'hold' };
    case 'early':
      table.held.push(change);
      return { next: table, action: 'hold' };
    case 'unpublished':
      // A published table not (yet) known as such (published from an earlier run): kept for its sync.
      return { next: { state: 'early', held: [change] }, action: 'hold' };
    default:
      return { next: table, action: 'drop' };
  }
}

/** The changes held for a table's next sync (kept while it was published but not synced). */
export function heldFor(table: TableFollow): HeldChange[] {
  return table.state === 'early' ? table.held : [];
}

/** A sync that could not read the table: back to `early`, its held changes kept for the next attempt. */
export function syncFailed(table: TableFollow, sync: SyncAttempt): TableFollow {
  return table.state === 'syncing' && table.sync === sync ? { state: 'early', held: sync.held } : table;
}

/** The stream delivered the sync's marker: followed from here, with the schema it was read with. */
export function syncCompleted(table: TableFollow, sync: SyncAttempt): TableFollow {
  if (table.state !== 'syncing' || table.sync !== sync || !sync.read) return table;
  const { info } = sync.read;
  return { state: 'synced', baseline: { oid: info.oid, keyColumns: sync.keyColumns, columns: info.columns }, applied: false };
}

/** The runtime applied the sync's transaction: the table's shapes hold its rows. */
export function syncApplied(table: TableFollow): TableFollow {
  return table.state === 'synced' && !table.applied ? { ...table, applied: true } : table;
}

/** The table must be read again (a column was added: rows may have gained a default); changes wait for that sync. */
export function resyncWanted(table: TableFollow): TableFollow {
  return table.state === 'synced' ? { state: 'early', held: [] } : table;
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
