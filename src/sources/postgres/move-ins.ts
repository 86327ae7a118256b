/**
 * Move-ins answered by Postgres, ordered against the replication stream.
 *
 * The runtime asks for rows while it applies transaction X (its commit LSN is
 * the row store's position at that moment): the rows of a table whose link
 * columns hold values that just moved in or out. The database is usually
 * ahead of X: transactions after X may have committed already, and a plain
 * query would see their effects (a row logged twice, or a row its later
 * delete never finds). So:
 *
 * 1. In one REPEATABLE READ transaction: take the snapshot S
 *    (`pg_current_snapshot()`), run the parameterised query (link values as
 *    `= ANY($n::type[])`, the shapes' where clauses as a prefilter, see
 *    sql.ts), and write a transactional logical message, the marker M.
 *    Every transaction S sees committed before M (its commit record precedes
 *    S, which precedes M's commit), so the stream delivers all of them before M.
 * 2. Wait until the stream has delivered M. The transactions between X and M
 *    that S sees (their xid is visible in S) are the ones whose effects the
 *    query saw but the runtime has not applied yet.
 * 3. Every row they touched is answered from the row store instead (it holds
 *    exactly the state as of X; or left out when the store holds no such row
 *    or it no longer has the values); every other row is as of X already.
 *
 * The answer is then exactly the rows as of X: nothing logged twice, nothing
 * lost. (A transaction the stream already handed to the runtime, X included,
 * must be visible in S; in the rare race where its commit is not yet visible
 * to new snapshots, the query is run again.)
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { RuntimeLogger } from '../../logging/runtime-logger.ts';
import type { RuntimeShapesView } from '../../runtime/index.ts';
import { rowKey } from '../../storage/rows/row-key.ts';
import type { KeyedRow, MoveInSource } from '../../storage/rows/row-store.ts';
import type { TableStore } from '../../storage/rows/table-store.ts';
import { sublinkTestColumns } from '../../shapes/where/columns.ts';
import type { Row } from '../../shapes/where/evaluate.ts';
import { decodeLinkKey, linkKey } from '../../shapes/where/link-key.ts';
import type { TableInfo } from './catalog.ts';
import { isConnectionError, PostgresSourceError } from './errors.ts';
import { pause } from './pause.ts';
import { PgSnapshot } from './snapshot.ts';
import { quoteIdent, SqlParams, whereToSql } from './sql.ts';
import { keysOf, relationName } from './pgoutput-changes.ts';
import type { ReplicationStream, StreamTransaction } from './stream.ts';
import { encodeParam } from './values.ts';

export const MARKER_PREFIX = 'shape-actors';

/** What the move-in source needs from the source that owns it. */
export interface MoveInHost {
  readonly pool: pg.Pool;
  readonly stream: ReplicationStream;
  readonly logger: RuntimeLogger;
  /** Aborted when the source stops: ends the waits between retries. */
  readonly signal: AbortSignal;
  /** The row store (null before the runtime is restored). */
  mirror(): TableStore | null;
  registry(): RuntimeShapesView | null;
  /** Whether the row store mirrors the table (synced and followed since). */
  isSynced(table: string): boolean;
  tableInfo(table: string): Promise<TableInfo | null>;
  /** Postgres xids of the transactions most recently handed to the runtime, up to commit `through`. */
  recentXids(through: number): readonly number[];
  readonly stopped: boolean;
}

export interface MoveInStats {
  queries: number;
  rows: number;
  reconciled: number;
  retries: number;
}

export class PostgresMoveInSource implements MoveInSource {
  readonly stats: MoveInStats = { queries: 0, rows: 0, reconciled: 0, retries: 0 };

  constructor(private readonly host: MoveInHost) {}

  get(table: string, key: string): Row | undefined {
    return this.host.mirror()?.get(table, key);
  }

  rows(table: string): Iterable<KeyedRow> {
    return this.host.mirror()?.rows(table) ?? [];
  }

  async rowsWithLinkValues(table: string, columns: readonly string[], values: ReadonlySet<string>): Promise<readonly KeyedRow[]> {
    const mirror = this.host.mirror();
    if (!mirror || values.size === 0) return [];
    // A table not synced (yet, or again after a restart): its shapes hold what the row store holds
    // for it, so the row store answers (empty for a table never synced); the sync brings the
    // table's current rows as changes against exactly those rows.
    if (!this.host.isSynced(table)) return mirror.rowsWithLinkValues(table, columns, values);
    const position = mirror.position;
    const info = await this.host.tableInfo(table);
    if (!info || columns.some((c) => !(c in info.columnTypes))) {
      // The table or a link column is gone: its shapes are being removed; the row store answers meanwhile.
      return mirror.rowsWithLinkValues(table, columns, values);
    }
    const keyColumns = mirror.keyColumnsOf(table);
    const query = this.#query(table, info, columns, values);
    const marker = `movein:${randomBytes(8).toString('hex')}`;

    let answer: { snapshot: PgSnapshot; rows: Row[] };
    try {
      answer = await this.#run(query, marker, position);
    } catch (error) {
      if (error instanceof PostgresSourceError) throw error;
      this.host.logger.warn({ table, err: String((error as Error)?.message ?? error) }, 'move-in query failed: answering from the row store');
      return mirror.rowsWithLinkValues(table, columns, values);
    }
    this.stats.queries++;

    const between = await this.host.stream.receivedThrough(position, (t) => hasMarker(t, marker));
    const touched = new Set<string>();
    let truncated = false;
    for (const t of between) {
      if (!answer.snapshot.sees(t.xid)) continue;
      for (const m of t.messages) {
        if (m.tag === 'truncate') {
          if (m.relations.some((r) => relationName(r) === table)) truncated = true;
        } else if (m.tag !== 'relation' && m.tag !== 'message' && relationName(m.relation) === table) {
          for (const key of keysOf(m, keyColumns)) touched.add(key);
        }
      }
    }

    const out: KeyedRow[] = [];
    if (!truncated) {
      for (const row of answer.rows) {
        const key = rowKey(row, keyColumns);
        if (key === null || touched.has(key)) continue;
        out.push({ key, row });
      }
    }
    // Rows that later transactions (already seen by the query) touched: as of X, from the row store.
    {
      const candidates = truncated ? (await mirror.rowsWithLinkValues(table, columns, values)).map((r) => r.key) : touched;
      for (const key of candidates) {
        const row = mirror.get(table, key);
        if (!row) continue;
        const value = linkKey(columns.map((c) => row[c]));
        if (value !== null && values.has(value)) out.push({ key, row });
      }
    }
    this.stats.rows += out.length;
    this.stats.reconciled += truncated ? answer.rows.length : touched.size;
    return out;
  }

  /** `SELECT * FROM t WHERE <link columns> = ANY(values) AND (<prefilter>)`, parameterised. */
  #query(table: string, info: TableInfo, columns: readonly string[], values: ReadonlySet<string>): { text: string; values: unknown[] } {
    const params = new SqlParams();
    const tuples = [...values].map(decodeLinkKey);
    let linkTest: string;
    if (columns.length === 1) {
      const c = columns[0]!;
      linkTest = `${quoteIdent(c)} = ANY(${params.add(tuples.map((t) => encodeParam(t[0])))}::${info.columnTypes[c]}[])`;
    } else {
      const arrays = columns.map((c, i) => `${params.add(tuples.map((t) => encodeParam(t[i])))}::${info.columnTypes[c]}[]`);
      linkTest = `(${columns.map(quoteIdent).join(', ')}) IN (SELECT * FROM unnest(${arrays.join(', ')}))`;
    }
    const prefilters: string[] = [];
    const registry = this.host.registry();
    let unfiltered = false;
    for (const handle of registry?.handlesForTable(table) ?? []) {
      const where = registry!.get(handle)?.shape.where;
      if (!where) continue;
      const linked = [...sublinkTestColumns(where).values()].some((lists) => lists.some((l) => l.length === columns.length && l.every((c, i) => c === columns[i])));
      if (!linked) continue;
      try {
        prefilters.push(`(${whereToSql(where, { params, sublinks: 'unknown' })}) IS NOT FALSE`);
      } catch {
        unfiltered = true;
      }
    }
    const filter = prefilters.length > 0 && !unfiltered ? ` AND (${prefilters.join(' OR ')})` : '';
    return { text: `SELECT * FROM ${table} WHERE ${linkTest}${filter}`, values: params.values };
  }

  /** The query and the marker in one REPEATABLE READ transaction; retried on a lost connection or a snapshot race. */
  async #run(query: { text: string; values: unknown[] }, marker: string, position: number): Promise<{ snapshot: PgSnapshot; rows: Row[] }> {
    for (let attempt = 0; ; attempt++) {
      if (this.host.stopped) throw new PostgresSourceError('stopped', 'the Postgres source was stopped during a move-in');
      let client: pg.PoolClient | null = null;
      try {
        client = await this.host.pool.connect();
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        const snap = await client.query<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot');
        const snapshot = PgSnapshot.parse(snap.rows[0]!.snapshot);
        const result = await client.query<Row>(query.text, query.values);
        await client.query('SELECT pg_logical_emit_message(true, $1, $2)', [MARKER_PREFIX, marker]);
        await client.query('COMMIT');
        client.release();
        client = null;
        const unseen = this.host.recentXids(position).filter((xid) => !snapshot.sees(xid));
        if (unseen.length > 0 && attempt < 20) {
          // A commit the stream delivered is not yet visible to new snapshots: ask again.
          this.stats.retries++;
          await pause(10, this.host.signal);
          continue;
        }
        return { snapshot, rows: result.rows };
      } catch (error) {
        if (client) {
          await client.query('ROLLBACK').catch(() => undefined);
          client.release(isConnectionError(error) ? (error as Error) : undefined);
        }
        if (!isConnectionError(error) || attempt >= 1000) throw error;
        this.stats.retries++;
        const delay = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6));
        this.host.logger.warn({ err: String((error as Error)?.message ?? error), retryInMs: delay }, 'move-in query lost its connection: retrying');
        await pause(delay, this.host.signal);
      }
    }
  }
}

export function hasMarker(t: StreamTransaction, marker: string): boolean {
  return t.messages.some((m) => m.tag === 'message' && m.prefix === MARKER_PREFIX && Buffer.from(m.content).toString('utf8') === marker);
}
