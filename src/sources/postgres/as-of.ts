/**
 * Rows as of a position of the stream, from a query at a later snapshot: the
 * pure part (no I/O) of every read of a table without a copy of it.
 *
 * The runtime is at position P (every transaction through P applied). A
 * query at snapshot S sees every transaction through P (the reader checks)
 * and some after it: B, the transactions after P that S sees. Rows no
 * transaction of B touched are as of P already. For a row B touched, the
 * first change to it after P carries the row as it was at P: the old row of an
 * update or a delete (`REPLICA IDENTITY FULL` puts it in the stream), nothing
 * for an insert (the row did not exist). That first change belongs to B: a
 * transaction changing a row waits for the one that changed it before to end,
 * so the changes S sees to a row come before those it does not.
 *
 * The stream delivers every transaction S sees before a marker written just
 * after S was taken (their commits precede S, which precedes the marker):
 * the transactions after P up to the marker are all the reader needs.
 */
import type { Row } from '../../shapes/where/evaluate.ts';
import { rowKey } from '../../storage/rows/row-key.ts';
import { PostgresSourceError } from './errors.ts';
import { defined, relationName } from './pgoutput-changes.ts';
import type { PgSnapshot } from './snapshot.ts';
import type { StreamTransaction } from './stream.ts';

export interface AsOfOverrides {
  /** Rows B touched, as they were at P (null: the row did not exist at P). */
  readonly rows: ReadonlyMap<string, Row | null>;
  /** B truncated the table: rows as of P cannot be known (the table's shapes are removed when the truncate is applied). */
  readonly truncated: boolean;
  /** How many transactions of B touched the table. */
  readonly transactions: number;
}

/**
 * The rows of `table` that transactions after `position` seen by `snapshot`
 * touched, as they were at `position` (see the module doc). `between` is
 * what the stream delivered after `position` up to the reader's marker.
 */
export function asOfOverrides(table: string, keyColumns: readonly string[], position: number, snapshot: PgSnapshot, between: readonly StreamTransaction[]): AsOfOverrides {
  const rows = new Map<string, Row | null>();
  let truncated = false;
  let transactions = 0;
  const first = (key: string | null, row: Row | null): void => {
    if (key !== null && !rows.has(key)) rows.set(key, row);
  };
  for (const t of between) {
    if (t.commitLsn <= position || !snapshot.sees(t.pgXid)) continue;
    let touched = false;
    for (const m of t.messages) {
      if (m.tag === 'truncate') {
        if (m.relations.some((r) => relationName(r) === table)) truncated = touched = true;
        continue;
      }
      if (m.tag !== 'insert' && m.tag !== 'update' && m.tag !== 'delete') continue;
      if (relationName(m.relation) !== table) continue;
      touched = true;
      if (m.tag === 'insert') {
        first(rowKey(m.new, keyColumns), null);
        continue;
      }
      if (!m.old) {
        throw new PostgresSourceError('protocol', `table ${table}: a ${m.tag} after ${position} carries no old row (the table's REPLICA IDENTITY is not FULL)`);
      }
      const old = defined(m.old);
      first(rowKey(old, keyColumns), old);
      if (m.tag === 'update') first(rowKey(m.new, keyColumns), null);
    }
    if (touched) transactions++;
  }
  return { rows, truncated, transactions };
}
