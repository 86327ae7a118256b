import { rm } from 'node:fs/promises';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { normalizeShape, type NormalizedShape } from '../../src/shapes/definition.ts';
import type { Row } from '../../src/shapes/where/evaluate.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import type { LogEntry, ShapeStorage } from '../../src/storage/storage.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';
import { FileStorage } from '../../src/storage/file-store.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { applyToTables, expectedRows, replay, type Change } from '../helpers/data-path-oracle.ts';

const tempDir = useTempDirs();

/** Shapes over users / memberships / orgs: nested subqueries, NOT IN, a row comparison, projections. */
const DEFINITIONS = [
  { table: 'public.users', where: 'status = 1' },
  { table: 'public.users', where: 'id IN (SELECT user_id FROM public.memberships WHERE org_id IN (SELECT id FROM public.orgs WHERE tier = 1))' },
  { table: 'public.users', where: 'id NOT IN (SELECT user_id FROM public.memberships WHERE org_id = 2)', columns: ['id', 'status'] },
  { table: 'public.memberships', where: '(user_id, org_id) IN (SELECT id, org FROM public.users WHERE status = 1)' },
  { table: 'public.orgs', where: 'id IN (SELECT org_id FROM public.memberships WHERE user_id IN (SELECT id FROM public.users WHERE status = 0))', replica: 'full' as const },
  { table: 'public.memberships', where: 'org_id = 3 OR user_id IN (SELECT id FROM public.users WHERE org = 3)' },
];


const small = fc.integer({ min: 1, max: 5 });
const fullRow = {
  'public.users': fc.record({ id: small, org: fc.integer({ min: 1, max: 3 }), status: fc.integer({ min: 0, max: 1 }) }),
  'public.memberships': fc.record({ id: small, user_id: small, org_id: fc.integer({ min: 1, max: 3 }) }),
  'public.orgs': fc.record({ id: fc.integer({ min: 1, max: 3 }), tier: fc.integer({ min: 0, max: 1 }) }),
} as const;
const tableArb = fc.constantFrom(...(Object.keys(fullRow) as (keyof typeof fullRow)[]));
const changeArb: fc.Arbitrary<Change> = tableArb.chain((table) =>
  fc.oneof(
    fullRow[table].map((row): Change => ({ op: 'insert', table, row })),
    // an update carries the key and some columns only
    fullRow[table].chain((row) => fc.subarray(Object.keys(row)).map((cols): Change => ({ op: 'update', table, row: Object.fromEntries([['id', row.id], ...cols.map((c) => [c, (row as Record<string, unknown>)[c]])]) }))),
    small.map((id): Change => ({ op: 'delete', table, row: { id } })),
  ),
);
/** A scenario: transactions, interleaved with shape additions (by index into DEFINITIONS). */
const stepArb = fc.oneof(
  { weight: 4, arbitrary: fc.array(changeArb, { minLength: 1, maxLength: 4 }).map((changes) => ({ kind: 'tx' as const, changes })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: DEFINITIONS.length - 1 }).map((i) => ({ kind: 'add' as const, i })) },
);
type Step = { kind: 'tx'; changes: Change[] } | { kind: 'add'; i: number };

beforeAll(loadSqlParser);

interface Outcome {
  /** Per added definition (by order of addition), the shape's log entries. */
  readonly logs: LogEntry[][];
  /** Per definition key, the link values of every shape that has them (its materializer's when it runs). */
  readonly values: Map<string, string[]>;
}

async function run(steps: readonly Step[], storage: () => Promise<ShapeStorage>, restartAfter: ReadonlySet<number>, viaScan: boolean, dir?: string): Promise<Outcome> {
  let store = await storage();
  let runtime: ShapeRuntime = await createShapeRuntime({ storage: store });
  const tables = new Map<string, Map<string, Row>>();
  const added: { handle: string; shape: NormalizedShape }[] = [];
  let xid = 0;
  for (const [index, step] of steps.entries()) {
    if (step.kind === 'tx') {
      const changes = step.changes;
      await runtime.applyTransaction({ xid: ++xid, changes });
      applyToTables(tables, changes);
    } else {
      const { handle } = await runtime.add(DEFINITIONS[step.i]!);
      added.push({ handle, shape: normalizeShape(DEFINITIONS[step.i]!) });
    }
    if (restartAfter.has(index)) {
      await runtime.shutdown();
      if (viaScan && dir) await rm(`${dir}/backup`, { recursive: true, force: true });
      store = await storage();
      runtime = await createShapeRuntime({ storage: store });
      expect(runtime.report.removed).toEqual([]);
    }
  }
  const logs: LogEntry[][] = [];
  for (const { handle, shape } of added) {
    const log = (await store.readLog(handle)).entries;
    expect(replay(log)).toEqual(expectedRows(tables, shape));
    logs.push([...log]);
  }
  const values = new Map<string, string[]>();
  for (const stored of runtime.list()) {
    if (stored.definition.columns) values.set(normalizeShape(stored.definition).key, await runtime.linkValues(stored.handle));
  }
  await runtime.shutdown();
  return { logs, values };
}

describe('data path properties', () => {
  it('each shape log replays to exactly the rows its where clause selects from the final tables', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
        const memory = new MemoryStorage();
        await run(steps, async () => memory, new Set(), false);
      }),
      { numRuns: 60 },
    );
  });

  it('restarting between transactions (from backup or by scan) changes no log and no link values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 2, maxLength: 14 }),
        fc.array(fc.nat(13), { maxLength: 4 }),
        fc.boolean(),
        async (steps, restarts, viaScan) => {
          const straightDir = await tempDir();
          const restartDir = await tempDir();
          const straight = await run(steps, async () => new FileStorage(straightDir), new Set(), false);
          const restarted = await run(steps, async () => new FileStorage(restartDir), new Set(restarts.filter((r) => r < steps.length - 1)), viaScan, restartDir);
          expect(restarted.logs).toEqual(straight.logs);
          expect(restarted.values).toEqual(straight.values);
        },
      ),
      { numRuns: 15 },
    );
  });
});
