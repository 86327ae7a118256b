/**
 * Markers: logical messages the source writes into the WAL to find a moment
 * in the replication stream. Each is committed on its own (autocommit): every
 * transaction committed before it is delivered before it, and its commit
 * flushes the WAL, so the stream delivers it at once (a message outside a
 * transaction would wait for the WAL writer).
 */
import type pg from 'pg';
import type { StreamTransaction } from './stream.ts';

export const MARKER_PREFIX = 'shape-actors';

export async function writeMarker(pool: Pick<pg.Pool, 'query'>, id: string): Promise<void> {
  await pool.query('SELECT pg_logical_emit_message(true, $1, $2)', [MARKER_PREFIX, id]);
}

/** The markers a transaction carries (ids), in order. */
export function markersOf(t: StreamTransaction): string[] {
  const ids: string[] = [];
  for (const m of t.messages) if (m.tag === 'message' && m.prefix === MARKER_PREFIX) ids.push(Buffer.from(m.content).toString('utf8'));
  return ids;
}
