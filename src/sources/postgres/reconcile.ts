/**
 * Keeping the publication to exactly the live shapes' tables (reconcile), and
 * noticing what no relation message announces (the schema check): a dropped
 * table, a change while nothing was written, a table that can be followed now.
 */
import { unfollowableReason } from './catalog.ts';
import { catalogSchema, hasAddedColumns, schemaChange } from './schema.ts';
import type { SourceCore } from './source-core.ts';
import { failTable, forgetSynced, resync, unfollow } from './table-effects.ts';
import { failingCleared, needsSync, type TableFollow } from './table-follow.ts';

export interface ReconcilePlan {
  /** Followed (or published) but no live shape reads them. */
  readonly unfollow: readonly string[];
  /** Read by a live shape and not yet synced (or no longer published). */
  readonly sync: readonly string[];
}

/** What reconcile does, from the tables the live shapes read and what the source knows: pure. */
export function planReconcile(wanted: ReadonlySet<string>, known: readonly string[], stateOf: (table: string) => TableFollow, published: ReadonlySet<string>): ReconcilePlan {
  return {
    unfollow: known.filter((t) => !wanted.has(t)),
    sync: [...wanted].filter((t) => needsSync(stateOf(t), published.has(t))),
  };
}

/**
 * Unfollows what no shape reads and returns the tables to sync. Costs the
 * number of tables, not of shapes (the registry indexes shapes by table).
 */
export async function reconcile(core: SourceCore): Promise<string[]> {
  const shapes = core.runtime?.shapes;
  if (!shapes) return [];
  for (const table of core.tables.inState('failing')) core.tables.set(table, failingCleared(core.tables.get(table), (h) => shapes.has(h)));
  const plan = planReconcile(new Set(shapes.tables()), core.tables.known(), (t) => core.tables.get(t), core.tables.published);
  for (const table of plan.unfollow) await unfollow(core, table);
  return [...plan.sync];
}

/** Compares every synced table with the catalog, and looks again for tables that could not be followed. */
export async function checkSchema(core: SourceCore): Promise<void> {
  for (const table of core.tables.inState('unfollowable')) {
    const info = await core.catalog.refresh(table);
    if (info && !unfollowableReason(info) && core.tables.get(table).state === 'unfollowable') {
      core.logger.info({ table }, 'table can be followed now');
      core.tables.set(table, { state: 'unpublished' });
      core.tablesChanged();
    }
  }
  for (const table of core.tables.inState('synced')) {
    const info = await core.catalog.refresh(table);
    const now = core.tables.get(table);
    if (now.state !== 'synced') continue;
    if (!info) {
      failTable(core, table, 'table was dropped');
      continue;
    }
    const schema = catalogSchema(info);
    const change = schemaChange(now.baseline, schema);
    if (change) failTable(core, table, change);
    else if (hasAddedColumns(now.baseline, schema)) resync(core, table, 'column(s) added');
  }
}

/**
 * At start: the tables the data dir recorded as synced, as they are now. A
 * table gone (or unfollowable) while nothing followed it is treated like one
 * never followed: reconcile reports its shapes and keeps them.
 */
export async function restoreSynced(core: SourceCore): Promise<void> {
  for (const table of core.state.syncedTables()) {
    const synced = core.state.synced(table)!;
    const info = core.catalog.get(table);
    const problem = info ? unfollowableReason(info) : `table ${table} does not exist`;
    const baseline = { oid: synced.oid, keyColumns: synced.keyColumns, columns: synced.columns };
    const change = info && !problem ? schemaChange(baseline, catalogSchema(info)) : null;
    if (change) failTable(core, table, change);
    // Gone or unfollowable: reconcile looks at it again if a shape still reads it (and reports it
    // then). A column added while nothing followed: its shapes are read again at its sync.
    else if (problem || hasAddedColumns(baseline, catalogSchema(info!))) await forgetSynced(core, table);
    else core.tables.set(table, { state: 'synced', baseline, since: 0, applied: true });
  }
}
