/**
 * Shapes and transactions for the routing cases (issue 12): many shapes on
 * one table, as in the common workload of one shape per user, project or
 * document. Table `public.items` (id, user_id, title), and for subqueries
 * `public.memberships` (id, user_id, org_id).
 * - `eq`: N shapes `user_id = k`;
 * - `subquery`: 80% `user_id = k`, 20% `user_id IN (SELECT user_id FROM
 *   public.memberships WHERE org_id = j)`, each subquery with its dependency
 *   shape (3 members at the start; not counted in N);
 * - `like`: N shapes `title LIKE 't<k>-%'` (no index applies: linear).
 * Transactions have one change each: mostly an insert of an item for a
 * random user (or title), else an update that moves an earlier item to
 * another user (it leaves one shape and enters another); in `subquery`, one
 * in five inserts or deletes a membership instead (move-ins, move-outs).
 */
import { parsedDefinitionOf } from '../../src/registry/shape-record.ts';
import { definitionKey, normalizeShape } from '../../src/shapes/definition.ts';
import { createHandle } from '../../src/shapes/handle.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import type { LogEntry } from '../../src/storage/storage.ts';
import type { DatasetShape } from './shape-dataset.ts';
import { randomInt, rng } from './stats.ts';

export type RoutingKind = 'eq' | 'subquery' | 'like';

export const ROUTING_KINDS: readonly RoutingKind[] = ['eq', 'subquery', 'like'];

const ITEMS = 'public.items';
const MEMBERSHIPS = 'public.memberships';
const BASE_MICROS = 1_765_900_000_000_000n;
const SUBQUERY_SHARE = 0.2;
const MEMBERS_PER_ORG = 3;

export interface RoutingDataset {
  readonly kind: RoutingKind;
  /** Shapes the changes are routed through (dependency shapes not counted). */
  readonly size: number;
  /** Dependencies first. */
  readonly shapes: readonly DatasetShape[];
  /** Users (`user_id` values) an item can have; titles `t<k>-...` for `like`. */
  readonly users: number;
  readonly orgs: number;
}

export interface RoutingChange {
  readonly op: 'insert' | 'update' | 'delete';
  readonly table: string;
  readonly row: Readonly<Record<string, unknown>>;
}

export interface RoutingTransaction {
  readonly xid: number;
  readonly changes: readonly RoutingChange[];
}

export async function buildRoutingDataset(kind: RoutingKind, size: number, seed = 1): Promise<RoutingDataset> {
  await loadSqlParser();
  const random = rng(seed * 7_919 + size);
  const shapes: DatasetShape[] = [];
  let created = 0;
  const add = (raw: Parameters<typeof normalizeShape>[0], dependencyHandles: readonly string[], log: readonly LogEntry[], requested = true): DatasetShape => {
    const normalized = normalizeShape(raw);
    const handle = createHandle(normalized.key, BASE_MICROS + BigInt(created++) * 10n);
    const shape: DatasetShape = {
      kind: requested ? 'plain' : 'dependency',
      stored: { handle, definition: normalized.definition, dependencyHandles: [...dependencyHandles], requested },
      parsed: parsedDefinitionOf(normalized),
      log,
      table: normalized.definition.table,
    };
    shapes.push(shape);
    return shape;
  };
  const orgs = kind === 'subquery' ? Math.round(size * SUBQUERY_SHARE) : 0;
  const users = size - orgs;
  for (let j = 0; j < orgs; j++) {
    const log: LogEntry[] = [];
    for (let x = 0; x < MEMBERS_PER_ORG; x++) {
      const id = `m${j}-${x}`;
      log.push({ xid: 1, op: 'insert', key: JSON.stringify([id]), row: { id, user_id: randomInt(random, users) } });
    }
    const dependency = add({ table: MEMBERSHIPS, where: `org_id = ${j}`, columns: ['user_id'] }, [], log, false);
    const outer = normalizeShape({ table: ITEMS, where: `user_id IN (SELECT user_id FROM ${MEMBERSHIPS} WHERE org_id = ${j})` });
    if (definitionKey(outer.dependencies[0]!) !== normalizeShape(dependency.stored.definition).key) throw new Error('routing dataset: subquery does not resolve to its dependency');
    add(outer.definition, [dependency.stored.handle], []);
  }
  for (let k = 0; k < users; k++) add({ table: ITEMS, where: kind === 'like' ? `title LIKE 't${k}-%'` : `user_id = ${k}` }, [], []);
  return { kind, size, shapes, users, orgs };
}

/** `count` one-change transactions from `firstXid` (see the module doc); the same seed gives the same list. */
export function makeRoutingTransactions(dataset: RoutingDataset, count: number, firstXid: number, seed = 1): RoutingTransaction[] {
  const random = rng(seed * 131 + dataset.size);
  const items: { id: string; user: number }[] = [];
  const memberships: { id: string; user_id: number; org_id: number }[] = [];
  const itemRow = (id: string, user: number): Record<string, unknown> =>
    dataset.kind === 'like' ? { id, user_id: 0, title: `t${user}-${id}` } : { id, user_id: user, title: id };
  const out: RoutingTransaction[] = [];
  for (let n = 0; n < count; n++) {
    const xid = firstXid + n;
    const roll = random();
    let change: RoutingChange;
    if (dataset.orgs > 0 && roll < 0.2) {
      if (roll < 0.1 || memberships.length === 0) {
        const m = { id: `mx${xid}`, user_id: randomInt(random, dataset.users), org_id: randomInt(random, dataset.orgs) };
        memberships.push(m);
        change = { op: 'insert', table: MEMBERSHIPS, row: m };
      } else {
        const m = memberships.splice(randomInt(random, memberships.length), 1)[0]!;
        change = { op: 'delete', table: MEMBERSHIPS, row: { id: m.id } };
      }
    } else if (items.length > 0 && random() < 0.25) {
      const item = items[randomInt(random, items.length)]!;
      item.user = (item.user + 1 + randomInt(random, dataset.users - 1)) % dataset.users;
      change = { op: 'update', table: ITEMS, row: itemRow(item.id, item.user) };
    } else {
      const item = { id: `i${xid}`, user: randomInt(random, dataset.users) };
      items.push(item);
      change = { op: 'insert', table: ITEMS, row: itemRow(item.id, item.user) };
    }
    out.push({ xid, changes: [change] });
  }
  return out;
}

/**
 * One insert per user, from `firstXid`, in the order the shapes were created, each reaching its
 * own `user_id = k` shape (and the subquery shapes of the user's orgs): given before the measured
 * passes, so that they route to shapes that have taken changes before, as at 1k shapes, where each
 * shape takes tens of a pass's changes. Timed on its own it is the same work as a pass's, visiting
 * the shapes' state in the order it lies in memory rather than at random (`like` has none: its
 * changes cost N checks each).
 */
export function makeWarmTransactions(dataset: RoutingDataset, firstXid: number): RoutingTransaction[] {
  if (dataset.kind === 'like') return [];
  return Array.from({ length: dataset.users }, (_, k) => ({ xid: firstXid + k, changes: [{ op: 'insert', table: ITEMS, row: { id: `w${k}`, user_id: k, title: `w${k}` } }] }));
}

/**
 * Log entries the transactions must produce in `eq` and `like` (each insert
 * enters one shape, each update leaves one and enters another): the bench
 * checks it, so a router that misses a shape cannot look fast.
 */
export function expectedEntries(dataset: RoutingDataset, transactions: readonly RoutingTransaction[]): number | null {
  if (dataset.kind === 'subquery') return null;
  return transactions.reduce((n, tx) => n + tx.changes.reduce((m, c) => m + (c.op === 'update' ? 2 : 1), 0), 0);
}

