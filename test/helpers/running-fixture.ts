/**
 * A running data dir for the model tests of `running`: small shapes over
 * users / memberships / orgs with nested subqueries, built with the real
 * runtime (so the handles, logs, row store and backup are what a real
 * runtime leaves), plus the knobs the model's executor needs to make the
 * runtime take a given path:
 * - a consumer that throws for the shapes in a mutable set (a failing
 *   consumer, as `consumerLogic` allows);
 * - a storage that fails one chosen call with an I/O error (an injected
 *   disk fault: createShape, deleteShape, prepareBatch, writeBackup);
 * - deterministic transactions (a seeded generator) that touch every table.
 */
import { cp } from 'node:fs/promises';
import { consumerLogic } from '../../src/actors/consumer.actor.ts';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { normalizeShape } from '../../src/shapes/definition.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { StorageError, type ShapeStorage } from '../../src/storage/storage.ts';
import { applyToTables, cloneTables, type Change, type Tables } from './data-path-oracle.ts';
import { rng } from './crash-workload.ts';

// ------------------------------------------------------------------------------------ shapes

/** The fixture's shapes, by role. Dependency shapes are created by the runtime from the subqueries. */
export const ROLE_DEFINITIONS = {
  /** users in a membership of a tier-1 org: nested twice (creates MEM_TIER1 and ORGS_TIER1). */
  NESTED: { table: 'public.users', where: 'id IN (SELECT user_id FROM public.memberships WHERE org_id IN (SELECT id FROM public.orgs WHERE tier = 1))' },
  /** users in no membership of org 2 (NOT IN, projection; creates MEM_ORG2). */
  NOT_IN: { table: 'public.users', where: 'id NOT IN (SELECT user_id FROM public.memberships WHERE org_id = 2)', columns: ['id', 'status'] },
  /** a plain shape. */
  PLAIN: { table: 'public.users', where: 'status = 1' },
  /** memberships matching an active user's (id, org): a row comparison (creates USERS_ACTIVE). */
  ROW_IN: { table: 'public.memberships', where: '(user_id, org_id) IN (SELECT id, org FROM public.users WHERE status = 1)' },
} as const;

/** The dependency shapes those create (as the normalizer spells them). */
export const DEPENDENCY_DEFINITIONS = {
  ORGS_TIER1: { table: 'public.orgs', where: 'tier = 1', columns: ['id'] },
  MEM_TIER1: { table: 'public.memberships', where: 'org_id IN (SELECT id FROM public.orgs WHERE tier = 1)', columns: ['user_id'] },
  MEM_ORG2: { table: 'public.memberships', where: 'org_id = 2', columns: ['user_id'] },
  USERS_ACTIVE: { table: 'public.users', where: 'status = 1', columns: ['id', 'org'] },
} as const;

export type Role = keyof typeof ROLE_DEFINITIONS | keyof typeof DEPENDENCY_DEFINITIONS;

/** A valid add: three new shapes (orgs <- memberships <- users, nested), none shared with the fixture's. */
export const VALID_ADD = { table: 'public.orgs', where: 'id IN (SELECT org_id FROM public.memberships WHERE user_id IN (SELECT id FROM public.users WHERE status = 0))' };
export const VALID_ADD_CREATES = 3;
/** A definition the runtime refuses (its where clause does not parse). */
export const INVALID_ADD = { table: 'public.users', where: 'id = (' };

export interface RunningTemplate {
  readonly dir: string;
  /** Handle of each role's shape. */
  readonly handles: Readonly<Record<Role, string>>;
  /** The tables after the template's transactions (what the row store holds). */
  readonly tables: Tables;
  readonly lastXid: number;
}

/**
 * Builds the template data dir once: the four requested shapes (eight shapes
 * with their dependencies), a few transactions, a clean shutdown (so a
 * backup exists: the first restore of every copy goes through loadingBackup).
 */
export async function buildRunningTemplate(dir: string): Promise<RunningTemplate> {
  await loadSqlParser();
  const runtime = await createShapeRuntime({ dataDir: dir });
  for (const definition of Object.values(ROLE_DEFINITIONS)) await runtime.add(definition);
  const byKey = new Map(runtime.list().map((s) => [normalizeShape(s.definition).key, s.handle]));
  const handles = {} as Record<Role, string>;
  for (const [role, definition] of [...Object.entries(ROLE_DEFINITIONS), ...Object.entries(DEPENDENCY_DEFINITIONS)]) {
    const handle = byKey.get(normalizeShape(definition).key);
    if (!handle) throw new Error(`template: no shape for ${role}`);
    handles[role as Role] = handle;
  }
  if (byKey.size !== 8) throw new Error(`template: expected 8 shapes, found ${byKey.size}`);
  const tables: Tables = new Map();
  const tx = new TransactionSource(7);
  let xid = 0;
  for (let i = 0; i < 4; i++) {
    const changes = tx.next();
    await runtime.applyTransaction({ xid: ++xid, changes });
    applyToTables(tables, changes);
  }
  await runtime.shutdown();
  return { dir, handles, tables, lastXid: xid };
}

export async function copyTemplate(template: RunningTemplate, dir: string): Promise<{ tables: Tables }> {
  await cp(template.dir, dir, { recursive: true });
  return { tables: cloneTables(template.tables) };
}

// ------------------------------------------------------------------------------------ failing consumer

/** A consumer that throws on every transaction for the shapes in `failing` (and behaves otherwise). */
export function failingConsumerFor(failing: ReadonlySet<string>): typeof consumerLogic {
  return {
    ...consumerLogic,
    transition: (snapshot, event, scope) => {
      if (event.type === 'TRANSACTION.ROUTED' && failing.has(snapshot.context.handle)) throw new Error(`injected consumer failure in ${snapshot.context.handle}`);
      return consumerLogic.transition(snapshot, event, scope);
    },
  };
}

// ------------------------------------------------------------------------------------ faulty storage

export type FaultPoint = 'createShape' | 'deleteShape' | 'prepareBatch' | 'writeBackup';

export interface FaultyStorage {
  readonly storage: ShapeStorage;
  /** The next call of `point` after `skip` successful ones fails with an I/O StorageError (once). */
  arm(point: FaultPoint, skip?: number): void;
  disarm(): void;
  /** Faults that fired, in order. */
  readonly fired: readonly FaultPoint[];
}

/** Wraps a storage so that one chosen call fails as a disk would; every other call goes through. */
export function faultyStorage(inner: ShapeStorage): FaultyStorage {
  let armed: { point: FaultPoint; skip: number } | null = null;
  const fired: FaultPoint[] = [];
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      if (armed === null || prop !== armed.point) return method;
      return async (...args: unknown[]) => {
        if (armed !== null && prop === armed.point) {
          if (armed.skip > 0) {
            armed.skip--;
          } else {
            const point = armed.point;
            armed = null;
            fired.push(point);
            throw new StorageError('io', `<injected:${point}>`, `injected I/O fault in ${point}`);
          }
        }
        return method(...args);
      };
    },
  });
  return {
    storage,
    arm(point, skip = 0) {
      armed = { point, skip };
    },
    disarm() {
      armed = null;
    },
    fired,
  };
}

// ------------------------------------------------------------------------------------ transactions


/**
 * Transactions over users / memberships / orgs with small key and value
 * ranges (so rows move in and out of shapes and link values come and go):
 * every transaction touches all three tables (so every consumer is
 * delivered to), with inserts, partial updates (an update carries the key
 * and some columns) and deletes.
 */
export class TransactionSource {
  readonly #random: () => number;

  constructor(seed: number) {
    this.#random = rng(seed);
  }

  #int(min: number, max: number): number {
    return min + Math.floor(this.#random() * (max - min + 1));
  }

  #row(table: string): Record<string, number> {
    switch (table) {
      case 'public.users':
        return { id: this.#int(1, 5), org: this.#int(1, 3), status: this.#int(0, 1) };
      case 'public.memberships':
        return { id: this.#int(1, 6), user_id: this.#int(1, 5), org_id: this.#int(1, 3) };
      default:
        return { id: this.#int(1, 3), tier: this.#int(0, 1) };
    }
  }

  #change(table: string): Change {
    const roll = this.#random();
    const row = this.#row(table);
    if (roll < 0.55) return { op: 'insert', table, row };
    if (roll < 0.8) {
      const columns = Object.keys(row).filter((c) => c !== 'id' && this.#random() < 0.6);
      return { op: 'update', table, row: Object.fromEntries([['id', row.id], ...columns.map((c) => [c, row[c]])]) };
    }
    return { op: 'delete', table, row: { id: row.id } };
  }

  next(): Change[] {
    const changes = ['public.orgs', 'public.memberships', 'public.users'].map((t) => this.#change(t));
    const extra = this.#int(0, 2);
    for (let i = 0; i < extra; i++) changes.push(this.#change(['public.orgs', 'public.memberships', 'public.users'][this.#int(0, 2)]!));
    return changes;
  }
}

/**
 * A change that surely reaches the shape a failure outcome is about: a change
 * goes only to the shapes its rows may affect (the where-clause index), so a
 * random transaction need not reach it. A new membership of org 2 reaches
 * MEM_ORG2; a new active user enters USERS_ACTIVE, whose values then change
 * with no materializer to say how, so its dependent ROW_IN must fail.
 */
export function changeReaching(role: 'MEM_ORG2' | 'USERS_ACTIVE', xid: number): Change {
  const id = 1_000 + xid;
  return role === 'MEM_ORG2'
    ? { op: 'insert', table: 'public.memberships', row: { id, user_id: 1, org_id: 2 } }
    : { op: 'insert', table: 'public.users', row: { id, org: 1, status: 1 } };
}

/** A transaction the runtime must refuse as a whole (a change without its key column). */
export function invalidTransaction(xid: number): { xid: number; changes: Change[] } {
  return { xid, changes: [{ op: 'insert', table: 'public.users', row: { id: 1, org: 1, status: 1 } }, { op: 'insert', table: 'public.orgs', row: { tier: 1 } }] };
}
