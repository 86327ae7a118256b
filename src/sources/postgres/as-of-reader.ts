/**
 * Reads a table's rows as of the runtime's position (as-of.ts), from the
 * database, in batches: a new shape's snapshot, a move-in, a resync.
 *
 * 1. In a REPEATABLE READ transaction: take the snapshot S; every transaction
 *    the stream handed to the runtime must be visible in it (rarely, a commit
 *    is not yet visible to new snapshots: the read starts again).
 * 2. Write a marker (marker.ts, on another connection: it commits after S
 *    was taken) and wait until the stream delivers it: every transaction S
 *    sees committed before it, so it is in the stream's buffer by then.
 * 3. The rows those transactions touched after the position are taken as
 *    they were at it (their first change's old row), and the query runs at S
 *    through a cursor, a batch at a time: nothing here holds a table, only
 *    a batch and the rows the stream changed meanwhile.
 *
 * A lost connection before the first batch is retried with backoff; a query
 * Postgres refuses (a type mismatch in a prefilter) runs again as its
 * fallback, when it has one (a wider query: the caller judges every row).
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { RuntimeLogger } from '../../logging/runtime-logger.ts';
import type { Row } from '../../shapes/where/evaluate.ts';
import { rowKey } from '../../storage/rows/row-key.ts';
import type { KeyedRow } from '../../storage/rows/row-store.ts';
import { asOfOverrides } from './as-of.ts';
import { isConnectionError, PostgresSourceError } from './errors.ts';
import { pause } from './pause.ts';
import { PgSnapshot } from './snapshot.ts';
import { markersOf, writeMarker } from './marker.ts';
import type { ReplicationStream } from './stream.ts';

const BATCH = 1_000;

export interface ReadStats {
  queries: number;
  rows: number;
  /** Rows taken as of the position from the stream instead of the query. */
  reconciled: number;
  retries: number;
  /** Queries Postgres refused that ran again as their wider fallback. */
  fallbacks: number;
}

export interface ReaderHost {
  readonly pool: pg.Pool;
  readonly stream: ReplicationStream;
  readonly logger: RuntimeLogger;
  /** Aborted when the source stops: ends the waits between retries. */
  readonly signal: AbortSignal;
  /** Postgres xids of the transactions most recently handed to the runtime, through commit `lsn`. */
  recentXids(lsn: number): readonly number[];
}

export interface AsOfQuery {
  readonly table: string;
  readonly keyColumns: readonly string[];
  /** The runtime's position: rows are read as they were then. */
  readonly position: number;
  readonly sql: { readonly text: string; readonly values: readonly unknown[] };
  /** A wider query for when Postgres refuses `sql` (its prefilter's types); none: the refusal is an error. */
  readonly fallback?: { readonly text: string; readonly values: readonly unknown[] };
  /** Whether a row taken from the stream (as of the position) belongs to the answer (the query's filter, in JS). */
  readonly accept: (row: Row) => boolean;
  /** For logs: snapshot, move-in. */
  readonly purpose: string;
  /** Where the read is counted. */
  readonly stats: ReadStats;
}

export function newReadStats(): ReadStats {
  return { queries: 0, rows: 0, reconciled: 0, retries: 0, fallbacks: 0 };
}

/** The answer to `query`, as of its position, a batch at a time (see the module doc). */
export async function* readAsOf(host: ReaderHost, query: AsOfQuery): AsyncGenerator<KeyedRow[]> {
  let sql = query.sql;
  for (let attempt = 0; ; attempt++) {
    if (host.signal.aborted) throw new PostgresSourceError('stopped', `the Postgres source was stopped during a ${query.purpose}`);
    const client = await connectOrNull(host, query.stats, attempt);
    if (!client) continue;
    let yielded = false;
    let failure: unknown = null;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const snapshot = PgSnapshot.parse((await client.query<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot')).rows[0]!.snapshot);
      if (attempt < 20 && host.recentXids(query.position).some((xid) => !snapshot.sees(xid))) {
        // A commit the stream delivered is not yet visible to new snapshots: ask again.
        query.stats.retries++;
        await client.query('ROLLBACK');
        await pause(10, host.signal);
        continue;
      }
      const marker = `asof:${randomBytes(8).toString('hex')}`;
      await writeMarker(host.pool, marker);
      const between = await host.stream.receivedThrough(query.position, (t) => markersOf(t).includes(marker));
      const overrides = asOfOverrides(query.table, query.keyColumns, query.position, snapshot, between);
      query.stats.queries++;
      await client.query(`DECLARE as_of NO SCROLL CURSOR FOR ${sql.text}`, [...sql.values]);
      for (;;) {
        const { rows } = await client.query<Row>(`FETCH ${BATCH} FROM as_of`);
        const batch: KeyedRow[] = [];
        for (const row of rows) {
          const key = rowKey(row, query.keyColumns);
          if (key !== null && !overrides.rows.has(key)) batch.push({ key, row });
        }
        if (batch.length > 0) {
          query.stats.rows += batch.length;
          yielded = true;
          yield batch;
        }
        if (rows.length < BATCH) break;
      }
      const reconciled: KeyedRow[] = [];
      for (const [key, row] of overrides.rows) if (row !== null && query.accept(row)) reconciled.push({ key, row });
      query.stats.reconciled += overrides.rows.size;
      if (reconciled.length > 0) {
        query.stats.rows += reconciled.length;
        yielded = true;
        yield reconciled;
      }
      await client.query('COMMIT');
      return;
    } catch (error) {
      failure = error;
      await client.query('ROLLBACK').catch(() => undefined);
      if (yielded || host.signal.aborted) throw error;
      if (isConnectionError(error) && attempt < 1000) {
        query.stats.retries++;
        const delay = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6));
        host.logger.warn({ table: query.table, purpose: query.purpose, err: String((error as Error)?.message ?? error), retryInMs: delay }, 'read of the database lost its connection: retrying');
        await pause(delay, host.signal);
        continue;
      }
      if (query.fallback && sql !== query.fallback && isQueryRefused(error)) {
        query.stats.fallbacks++;
        host.logger.warn({ table: query.table, purpose: query.purpose, err: (error as Error).message }, 'Postgres refused the filtered query: reading with the wider one');
        sql = query.fallback;
        continue;
      }
      throw error;
    } finally {
      client.release(failure !== null && isConnectionError(failure) ? (failure as Error) : undefined);
    }
  }
}

/** Every row of the answer, in one array (for answers the caller holds anyway: move-ins). */
export async function readAllAsOf(host: ReaderHost, query: AsOfQuery): Promise<KeyedRow[]> {
  const out: KeyedRow[] = [];
  for await (const batch of readAsOf(host, query)) for (const row of batch) out.push(row);
  return out;
}

async function connectOrNull(host: ReaderHost, stats: ReadStats, attempt: number): Promise<pg.PoolClient | null> {
  try {
    return await host.pool.connect();
  } catch (error) {
    if (!isConnectionError(error) || attempt >= 1000 || host.signal.aborted) throw error;
    stats.retries++;
    await pause(Math.min(5_000, 100 * 2 ** Math.min(attempt, 6)), host.signal);
    return null;
  }
}

/** Postgres refused the query's text or types (an operator for these types does not exist, a value does not cast): not the connection. */
function isQueryRefused(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return code.startsWith('42') || code.startsWith('22');
}
