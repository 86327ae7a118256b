/**
 * A table's sync, without reading it: the table gets `REPLICA IDENTITY FULL`
 * (every update and delete then carries its whole old row in the stream),
 * joins the publication, and a marker is written (marker.ts).
 * Every change committed after the marker is published with its old row; the
 * apply loop applies them from the marker on and, at the marker, asks the
 * runtime to resync the table's shapes: each reads its own rows from the
 * database as of the marker (its where clause, through the table's indexes).
 */
import { randomBytes } from 'node:crypto';
import { unfollowableReason, type TableInfo } from './catalog.ts';
import { PostgresSourceError } from './errors.ts';
import { writeMarker } from './marker.ts';
import { publishTable, rightsError } from './slot-and-publication.ts';
import { requireRuntime, type SourceCore } from './source-core.ts';
import { cannotFollow } from './table-effects.ts';

/** Starts a sync (see the module doc); the apply loop finishes it at the marker. */
export async function startSync(core: SourceCore, table: string): Promise<void> {
  let info = await core.catalog.refresh(table);
  const problem = !info ? `table ${table} does not exist` : unfollowableReason(info);
  if (problem || !info) return cannotFollow(core, table, problem ?? `table ${table} does not exist`);
  requireRuntime(core).rowStore()!.declareKeyColumns(table, info.keyColumns);
  try {
    if (info.replicaIdentity !== 'f') info = await setFullIdentity(core, info);
    if (!core.tables.published.has(table)) {
      await publishTable(core.replication, table);
      core.tables.published.add(table);
    }
  } catch (error) {
    if (error instanceof PostgresSourceError && (error.code === 'publication-right' || error.code === 'identity-right')) return cannotFollow(core, table, error.message);
    throw error;
  }
  // The state first: the marker may come back before the call that wrote it returns.
  const marker = `sync:${table}:${randomBytes(8).toString('hex')}`;
  core.tables.set(table, { state: 'syncing', marker, info });
  await writeMarker(core.replication.pool, marker);
  core.logger.info({ table, publication: core.replication.publication }, 'table sync: published, waiting for the marker');
}

/** `ALTER TABLE ... REPLICA IDENTITY FULL`, refused with what the role needs when it may not. */
async function setFullIdentity(core: SourceCore, info: TableInfo): Promise<TableInfo> {
  try {
    await core.replication.pool.query(`ALTER TABLE ${info.table} REPLICA IDENTITY FULL`);
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code === '42501') {
      throw new PostgresSourceError(
        'identity-right',
        `role ${core.server.role} may not set REPLICA IDENTITY FULL on table ${info.table} (${e.message}): the source needs every update and delete to carry the old row; set it as the table's owner (ALTER TABLE ${info.table} REPLICA IDENTITY FULL) or let the role own the table`,
        { cause: error },
      );
    }
    throw rightsError(core.replication, error, `set REPLICA IDENTITY FULL on ${info.table}`);
  }
  core.logger.info({ table: info.table }, 'table set to REPLICA IDENTITY FULL (updates and deletes carry the old row)');
  return (await core.catalog.refresh(info.table)) ?? info;
}
