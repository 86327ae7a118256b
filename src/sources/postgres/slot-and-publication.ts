/**
 * The replication slot and the publication: created when missing, checked
 * when present, and the publication kept to the tables the shapes read. Every
 * refusal of the database (rights, a slot of another plugin) is a
 * PostgresSourceError that says what the role needs.
 */
import type pg from 'pg';
import type { ServerInfo } from './catalog.ts';
import { describeConnectError, PostgresSourceError } from './errors.ts';
import { parseLsn } from './lsn.ts';
import { quoteIdent } from './sql.ts';
import { relationName } from './pgoutput-changes.ts';

export interface Replication {
  readonly pool: pg.Pool;
  readonly server: ServerInfo;
  readonly databaseUrl: string;
  readonly slot: string;
  readonly publication: string;
}

/** Creates the publication when missing (publishing inserts, updates, deletes and truncates, partitions as their root). */
export async function ensurePublication(r: Replication): Promise<void> {
  const { rows } = await r.pool.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [r.publication]);
  if (rows.length > 0) return;
  try {
    await r.pool.query(`CREATE PUBLICATION ${quoteIdent(r.publication)} WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = true)`);
  } catch (error) {
    if ((error as { code?: string }).code === '42710') return; // created concurrently
    throw rightsError(r, error, `create publication ${r.publication}`);
  }
}

/** The tables the publication covers now. */
export async function publishedTables(r: Replication): Promise<Set<string>> {
  const { rows } = await r.pool.query<{ schemaname: string; tablename: string }>('SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [r.publication]);
  return new Set(rows.map((row) => relationName({ schema: row.schemaname, name: row.tablename })));
}

export type SlotState = { readonly created: true; readonly confirmed: number } | { readonly created: false; readonly confirmed: number };

/** Creates the slot when missing; returns its confirmed position (and whether it was just created). */
export async function ensureSlot(r: Replication): Promise<SlotState> {
  const { rows } = await r.pool.query<{ plugin: string; database: string; confirmed: string | null }>(
    'SELECT plugin, database, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1',
    [r.slot],
  );
  const slot = rows[0];
  if (slot) {
    if (slot.plugin !== 'pgoutput' || slot.database !== r.server.database) {
      throw new PostgresSourceError('protocol', `replication slot ${r.slot} exists but is for ${slot.plugin} on database ${slot.database}, not pgoutput on ${r.server.database}`);
    }
    return { created: false, confirmed: slot.confirmed ? parseLsn(slot.confirmed) : 0 };
  }
  try {
    await r.pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [r.slot]);
  } catch (error) {
    throw rightsError(r, error, `create replication slot ${r.slot}`);
  }
  const created = await r.pool.query<{ confirmed: string }>('SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1', [r.slot]);
  return { created: true, confirmed: parseLsn(created.rows[0]!.confirmed) };
}

export async function publishTable(r: Replication, table: string): Promise<void> {
  await r.pool.query(`ALTER PUBLICATION ${quoteIdent(r.publication)} ADD TABLE ${table}`).catch((error: { code?: string }) => {
    if (error.code !== '42710') throw rightsError(r, error, `add table ${table} to publication ${r.publication}`);
  });
}

export async function unpublishTable(r: Replication, table: string): Promise<void> {
  try {
    await r.pool.query(`ALTER PUBLICATION ${quoteIdent(r.publication)} DROP TABLE ${table}`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    // Not in the publication (42704), or the table itself is gone (42P01): either way it is out.
    if (code !== '42704' && code !== '42P01') throw error;
  }
}

/** A refusal for lack of rights, said with what the role needs; other errors as connection errors. */
export function rightsError(r: Replication, error: unknown, what: string): unknown {
  const e = error as { code?: string; message?: string };
  if (e.code === '42501') {
    const code = what.includes('slot') ? 'replication-right' : 'publication-right';
    const needs = code === 'publication-right' ? 'it needs CREATE on the database, and to own the published tables' : 'it needs the REPLICATION attribute';
    return new PostgresSourceError(code, `role ${r.server.role} may not ${what}: ${e.message} (${needs})`, { cause: error });
  }
  return describeConnectError(error, r.databaseUrl);
}
