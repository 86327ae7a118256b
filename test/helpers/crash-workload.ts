/**
 * The workload of the crash tests: a seeded random mix of adds (nested
 * subqueries, shared dependencies), removes (any running shape, so removing a
 * dependency cascades), transactions (small, over three tables) and
 * checkpoints. Used by scripts/crash-driver.ts and the in-process crash-state
 * tests, so both exercise the same shapes.
 */
import type { Row } from '../../src/shapes/where/evaluate.ts';

/** Deterministic PRNG (mulberry32): the same seed gives the same workload. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const int = (rand: () => number, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

export interface WorkloadDefinition {
  readonly table: string;
  readonly where?: string;
  readonly columns?: readonly string[];
  readonly replica?: 'default' | 'full';
}

/** Shapes over users / memberships / orgs: up to two levels of nesting, NOT IN, row comparisons, two subqueries. */
export function randomDefinition(rand: () => number): WorkloadDefinition {
  const t = int(rand, 0, 1);
  const o = int(rand, 1, 3);
  const s = int(rand, 0, 1);
  switch (int(rand, 0, 7)) {
    case 0:
      return { table: 'public.users', where: `status = ${s}` };
    case 1:
      return { table: 'public.users', where: `id IN (SELECT user_id FROM public.memberships WHERE org_id IN (SELECT id FROM public.orgs WHERE tier = ${t}))` };
    case 2:
      return { table: 'public.users', where: `id NOT IN (SELECT user_id FROM public.memberships WHERE org_id = ${o})`, columns: ['id', 'status'] };
    case 3:
      return { table: 'public.memberships', where: `(user_id, org_id) IN (SELECT id, org FROM public.users WHERE status = ${s})` };
    case 4:
      return { table: 'public.orgs', where: `id IN (SELECT org_id FROM public.memberships WHERE user_id IN (SELECT id FROM public.users WHERE status = ${s}))`, replica: 'full' };
    case 5:
      return { table: 'public.memberships', where: `org_id = ${o} OR user_id IN (SELECT id FROM public.users WHERE org = ${o})` };
    case 6:
      return { table: 'public.users', where: `org IN (SELECT id FROM public.orgs WHERE tier = ${t}) AND id IN (SELECT user_id FROM public.memberships WHERE org_id = ${o})` };
    default:
      return { table: 'public.orgs', where: `tier = ${t}` };
  }
}

export interface WorkloadChange {
  readonly op: 'insert' | 'update' | 'delete';
  readonly table: string;
  readonly row: Row;
}

export interface WorkloadTransaction {
  readonly xid: number;
  readonly changes: readonly WorkloadChange[];
}

const TABLES = ['public.users', 'public.memberships', 'public.orgs'] as const;

function randomRow(rand: () => number, table: (typeof TABLES)[number], id: number): Row {
  if (table === 'public.users') return { id, org: int(rand, 1, 3), status: int(rand, 0, 1) };
  if (table === 'public.memberships') return { id, user_id: int(rand, 1, 6), org_id: int(rand, 1, 3) };
  return { id, tier: int(rand, 0, 1) };
}

/** 1-3 changes, each on a different row (updates carry the whole row). */
export function randomTransaction(rand: () => number, xid: number): WorkloadTransaction {
  const changes: WorkloadChange[] = [];
  const touched = new Set<string>();
  const n = int(rand, 1, 3);
  for (let k = 0; k < n; k++) {
    const table = TABLES[int(rand, 0, 2)]!;
    const id = table === 'public.orgs' ? int(rand, 1, 3) : int(rand, 1, 6);
    if (touched.has(`${table}:${id}`)) continue;
    touched.add(`${table}:${id}`);
    const r = rand();
    const op = r < 0.45 ? 'insert' : r < 0.8 ? 'update' : 'delete';
    changes.push({ op, table, row: op === 'delete' ? { id } : randomRow(rand, table, id) });
  }
  return { xid, changes };
}

/** What the runtime's tables hold after a transaction (upsert semantics, as the row store applies them). */
export function applyToTables(tables: Map<string, Map<string, Row>>, tx: WorkloadTransaction): void {
  for (const change of tx.changes) {
    let table = tables.get(change.table);
    if (!table) tables.set(change.table, (table = new Map()));
    const key = JSON.stringify([change.row.id]);
    if (change.op === 'delete') table.delete(key);
    else table.set(key, change.op === 'update' && table.has(key) ? { ...table.get(key)!, ...change.row } : change.row);
  }
}
