/**
 * What follows from a table's new follow state, carried out: the shapes of a
 * table whose schema changed are removed, a table that cannot be followed is
 * reported (or its shapes removed, when the host chose so), a table to read
 * again waits for its sync, an unfollowed table leaves the publication.
 */
import { PostgresSourceError } from './errors.ts';
import { unpublishTable } from './slot-and-publication.ts';
import type { SourceCore } from './source-core.ts';
import { resyncWanted, schemaChanged } from './table-follow.ts';

/** Removes every shape of a table (with cascade): its schema changed (or, by the host's choice, it cannot be followed). */
export function failTable(core: SourceCore, table: string, detail: string, reason: 'schema-changed' | 'table-unfollowable' = 'schema-changed'): void {
  const handles = [...(core.runtime?.shapes.handlesForTable(table) ?? [])];
  core.tables.set(table, handles.length > 0 ? schemaChanged(handles) : { state: 'unpublished' });
  core.logger.warn({ table, shapes: handles.length, detail, reason }, `removing the shapes of a table: ${reason}`);
  for (const handle of handles) {
    core.runtime!.actor.send({ type: 'SHAPE.FAILED', requestId: `postgres:${reason}:${handle}`, handle, reason, detail: `${table}: ${detail}` });
  }
  core.tables.reject(table, new PostgresSourceError('protocol', `${table}: ${detail}`));
  void forgetSynced(core, table);
}

/**
 * A table the shapes read that does not exist or cannot be followed: its shapes are reported
 * and kept (looked at again with each schema check), or removed when the host chose so.
 */
export function cannotFollow(core: SourceCore, table: string, reason: string): void {
  if (core.options.unfollowableTables === 'remove') return failTable(core, table, reason, 'table-unfollowable');
  const handles = [...(core.runtime?.shapes.handlesForTable(table) ?? [])];
  core.tables.set(table, { state: 'unfollowable', reason });
  core.logger.warn({ table, reason, shapes: handles }, 'table cannot be followed: its shapes are kept but not followed (serve --unfollowable-tables remove removes them)');
  void forgetSynced(core, table);
}

/**
 * Reads a table again: an added column may have a default that every existing row now has
 * (Postgres logs no change for them), its identity is no longer FULL, a resync was refused.
 * Its changes are not applied until that sync, whose marker resyncs its shapes.
 */
export function resync(core: SourceCore, table: string, why: string): void {
  const before = core.tables.get(table);
  if (before.state !== 'synced' && before.state !== 'syncing') return;
  core.logger.info({ table, why }, 'table sync again');
  core.tables.set(table, resyncWanted(before));
  void forgetSynced(core, table);
  core.tablesChanged();
}

/** No live shape reads the table any more: it leaves the publication and is forgotten. */
export async function unfollow(core: SourceCore, table: string): Promise<void> {
  core.tables.set(table, { state: 'unpublished' });
  await forgetSynced(core, table);
  if (!core.tables.published.has(table)) return;
  await unpublishTable(core.replication, table);
  core.tables.published.delete(table);
  core.logger.info({ table, publication: core.replication.publication }, 'table left the publication');
}

/** The state file no longer says the table is synced (a restart reads it again). */
export async function forgetSynced(core: SourceCore, table: string): Promise<void> {
  if (!core.state.synced(table)) return;
  await core.state.update((s) => {
    const { [table]: _gone, ...tables } = s.tables;
    return { ...s, tables };
  });
}
