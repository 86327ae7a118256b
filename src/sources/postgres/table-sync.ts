/**
 * A table's sync: from here on its changes are held aside; it is added to the
 * publication; then, in one REPEATABLE READ transaction, its rows are read at
 * snapshot S and a marker is written. When the stream delivers the marker the
 * apply loop hands the runtime the sync's changes (syncChanges) as one
 * transaction with the marker's commit LSN; every later transaction committed
 * after S (the marker's commit follows it), so it simply applies.
 */
import { randomBytes } from 'node:crypto';
import type { Change } from '../../shapes/transaction.ts';
import type { Row } from '../../shapes/where/evaluate.ts';
import { rowKey } from '../../storage/rows/row-key.ts';
import type { KeyedRow } from '../../storage/rows/row-store.ts';
import { tableInfo, unfollowableReason } from './catalog.ts';
import { PostgresSourceError } from './errors.ts';
import { MARKER_PREFIX } from './move-ins.ts';
import { defined, keysOf } from './pgoutput-changes.ts';
import { publishTable } from './slot-and-publication.ts';
import { PgSnapshot } from './snapshot.ts';
import { requireRuntime, type SourceCore } from './source-core.ts';
import { cannotFollow, failTable } from './table-effects.ts';
import { heldFor, syncFailed, type SyncAttempt } from './table-follow.ts';

/** Starts a sync (see the module doc); the apply loop finishes it at the marker. */
export async function startSync(core: SourceCore, table: string): Promise<void> {
  const info = await core.catalog.refresh(table);
  const problem = !info ? `table ${table} does not exist` : unfollowableReason(info);
  if (problem || !info) return cannotFollow(core, table, problem ?? `table ${table} does not exist`);
  try {
    requireRuntime(core).rowStore()!.declareKeyColumns(table, info.keyColumns);
  } catch (error) {
    return failTable(core, table, `primary key changed: ${(error as Error).message}`);
  }
  let settle!: () => void;
  const ready = new Promise<void>((resolve) => (settle = resolve));
  // From here on, the table's changes are held aside until the marker (those held while it was
  // published but not synced come along: their visibility is sorted out like the others').
  const sync: SyncAttempt = {
    marker: `sync:${table}:${randomBytes(8).toString('hex')}`,
    keyColumns: info.keyColumns,
    held: heldFor(core.tables.get(table)),
    read: null,
    failed: null,
    ready,
    settle: (error?: unknown) => {
      if (error !== undefined) sync.failed ??= error;
      settle();
    },
  };
  core.tables.set(table, { state: 'syncing', sync });
  try {
    if (!core.tables.published.has(table)) {
      await publishTable(core.replication, table);
      core.tables.published.add(table);
    }
    const client = await core.replication.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const snap = await client.query<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot');
      const result = await client.query<Row>(`SELECT * FROM ${table}`);
      const now = await tableInfo(client, table);
      await client.query('SELECT pg_logical_emit_message(true, $1, $2)', [MARKER_PREFIX, sync.marker]);
      await client.query('COMMIT');
      const rows = new Map<string, Row>();
      for (const row of result.rows) {
        const key = rowKey(row, info.keyColumns);
        if (key !== null) rows.set(key, row);
      }
      sync.read = { snapshot: PgSnapshot.parse(snap.rows[0]!.snapshot), rows, info: now ?? info };
      core.logger.info({ table, rows: rows.size, publication: core.replication.publication }, 'table sync: rows read, waiting for the marker');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    sync.settle();
  } catch (error) {
    core.tables.set(table, syncFailed(core.tables.get(table), sync));
    sync.settle(error);
    if (error instanceof PostgresSourceError && error.code === 'publication-right') return cannotFollow(core, table, error.message);
    throw error;
  }
}

/**
 * The sync transaction's changes: the table as of the marker (the rows read,
 * plus the held changes of transactions the snapshot did not see, in order),
 * against what the row store holds (a row it holds that the table no longer
 * does is deleted).
 */
export function syncChanges(table: string, sync: SyncAttempt, stored: Iterable<KeyedRow>): Change[] {
  const { snapshot } = sync.read!;
  const rows = new Map(sync.read!.rows);
  for (const { pgXid, message } of sync.held) {
    if (snapshot.sees(pgXid)) continue; // the query saw it already
    if (message.tag === 'truncate') {
      rows.clear();
      continue;
    }
    if (message.tag !== 'insert' && message.tag !== 'update' && message.tag !== 'delete') continue;
    const keys = keysOf(message, sync.keyColumns);
    if (message.tag === 'delete') {
      for (const key of keys) rows.delete(key);
      continue;
    }
    const row = defined(message.new);
    const newKey = rowKey(row, sync.keyColumns);
    if (newKey === null) continue;
    const previous = keys.map((k) => rows.get(k)).find((r) => r !== undefined);
    for (const key of keys) if (key !== newKey) rows.delete(key);
    rows.set(newKey, message.tag === 'update' ? { ...previous, ...row } : row);
  }
  const changes: Change[] = [];
  for (const row of rows.values()) changes.push({ op: 'insert', table, row });
  for (const { key, row } of stored) if (!rows.has(key)) changes.push({ op: 'delete', table, row });
  return changes;
}
