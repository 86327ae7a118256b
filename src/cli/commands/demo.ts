import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CliCommand, CommandContext } from '../command.ts';
import { CliError } from '../errors.ts';
import { restoreReportJson, restoreReportText, table, type JsonValue } from '../format.ts';
import { runtimeOptions } from '../open-runtime.ts';
import { parsePath } from '../options.ts';
import type { ShapeRuntime } from '../../runtime/index.ts';
import { clientsTable, DemoServing } from '../demo-serving.ts';

/** The demo's shapes: what a team-collaboration app might sync. */
const SHAPES = [
  {
    name: 'acme-members',
    about: 'users who belong to the org named acme (two nested subqueries)',
    definition: {
      table: 'public.users',
      where: "id IN (SELECT user_id FROM public.memberships WHERE org_id IN (SELECT id FROM public.orgs WHERE name = 'acme'))",
    },
  },
  {
    name: 'acme-projects',
    about: 'projects of acme (shares the orgs dependency with acme-members)',
    definition: { table: 'public.projects', where: "org_id IN (SELECT id FROM public.orgs WHERE name = 'acme')" },
  },
  {
    name: 'admins',
    about: 'users with an admin membership anywhere (its own dependency)',
    definition: { table: 'public.users', where: "id IN (SELECT user_id FROM public.memberships WHERE role = 'admin')" },
  },
  { name: 'eu-orgs', about: 'orgs in the EU region (no subquery)', definition: { table: 'public.orgs', where: "region = 'eu'" } },
  { name: 'active-users', about: 'active users (no subquery)', definition: { table: 'public.users', where: 'active = true', columns: ['id', 'name', 'active'] } },
] as const;

type Change = { op: 'insert' | 'update' | 'delete'; table: string; row: Record<string, unknown> };
const ins = (table: string, row: Record<string, unknown>): Change => ({ op: 'insert', table, row });

/** Transactions before the incident: orgs, users, memberships, projects, then a move (bob leaves acme). */
const TRANSACTIONS: { xid: number; changes: Change[] }[] = [
  {
    xid: 1,
    changes: [
      ins('public.orgs', { id: 1, name: 'acme', region: 'eu' }),
      ins('public.orgs', { id: 2, name: 'globex', region: 'us' }),
      ins('public.orgs', { id: 3, name: 'initech', region: 'eu' }),
    ],
  },
  {
    xid: 2,
    changes: [
      ins('public.users', { id: 1, name: 'ada', active: true }),
      ins('public.users', { id: 2, name: 'bob', active: true }),
      ins('public.users', { id: 3, name: 'cyd', active: false }),
      ins('public.users', { id: 4, name: 'dee', active: true }),
    ],
  },
  {
    xid: 3,
    changes: [
      ins('public.memberships', { id: 10, user_id: 1, org_id: 1, role: 'admin' }),
      ins('public.memberships', { id: 11, user_id: 2, org_id: 1, role: 'member' }),
      ins('public.memberships', { id: 12, user_id: 3, org_id: 2, role: 'admin' }),
      ins('public.memberships', { id: 13, user_id: 4, org_id: 3, role: 'member' }),
      ins('public.projects', { id: 100, org_id: 1, title: 'rocket skates' }),
      ins('public.projects', { id: 101, org_id: 2, title: 'doomsday device' }),
    ],
  },
  { xid: 4, changes: [{ op: 'delete', table: 'public.memberships', row: { id: 11, user_id: 2, org_id: 1, role: 'member' } }] },
];

/** The demo's clients: the real @electric-sql/client, over HTTP, on four shapes (three with subqueries). */
const FOLLOWED = ['acme-members', 'acme-projects', 'admins', 'eu-orgs'] as const;

/** While the clients follow, across a clean restart: dee joins acme (a move-in for acme-members). */
const WHILE_SERVING = { xid: 5, changes: [ins('public.memberships', { id: 15, user_id: 4, org_id: 1, role: 'member' })] };

/** After the incident's restart: a new user who is made an admin. `admins` and `active-users` must receive it. */
const AFTER_RESTART = {
  xid: 6,
  changes: [ins('public.users', { id: 5, name: 'eve', active: true }), ins('public.memberships', { id: 14, user_id: 5, org_id: 3, role: 'admin' })],
};

interface AddedShape {
  readonly name: string;
  readonly about: string;
  readonly handle: string;
  readonly table: string;
  readonly where: string;
  readonly dependencyHandles: readonly string[];
}

/**
 * `demo`: the incident this project exists for, on a small realistic data set,
 * start to finish in a few seconds: shapes with nested subqueries,
 * transactions, real @electric-sql/client clients following four shapes over
 * HTTP through a clean restart (no refetch), a dependency shape's storage lost
 * while the backup still names it, a restart, the report, a transaction
 * after the restart that the surviving shapes receive, and the clients: only
 * those of the lost closure refetch, then hold the right rows.
 */
export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'replay the incident on a demo data set: stale dependents removed before anything spawns, every other shape serving',
  examples: ['shape-actors demo', 'shape-actors demo --data-dir ./demo-data --json', 'shape-actors demo --inspect'],
  commonOptions: ['json', 'logLevel', 'policy', 'inspect', 'inspectWait', 'trace'],
  configure: (command) => command.option('--data-dir <dir>', 'build the demo here (must be absent or empty; default: a new temp dir, printed and kept)', parsePath),
  async run(options, context) {
    const dataDir = await demoDataDir(options.optionalString('dataDir'));
    return runDemo(dataDir, context);
  },
};

async function demoDataDir(requested: string | undefined): Promise<string> {
  if (requested === undefined) return mkdtemp(join(tmpdir(), 'shape-actors-demo-'));
  const dir = resolve(requested);
  let entries: string[] = [];
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new CliError('not-a-directory', `data dir is not a directory: ${requested}`);
    if (code !== 'ENOENT') throw error;
    await mkdir(dir, { recursive: true });
  }
  // The demo deletes a shape's storage on purpose: never in a data dir that holds anything.
  if (entries.length > 0) throw new CliError('data-dir-not-empty', `the demo builds its own data dir: ${requested} is not empty`);
  return dir;
}

async function runDemo(dataDir: string, context: CommandContext): Promise<{ json: JsonValue; text: string }> {
  const { createShapeRuntime } = await import('../../runtime/index.ts');
  const text: string[] = [];
  const say = (...lines: string[]) => text.push(...lines);

  say(`shape-actors demo: the incident of electric-sql/electric#3628, replayed on ${dataDir}`, '');

  // 1. A service with shapes; their dependency shapes are created with them.
  const first = await createShapeRuntime(runtimeOptions(context, { dataDir, createDataDir: true }));
  const added: AddedShape[] = [];
  for (const shape of SHAPES) {
    const result = await first.add(shape.definition);
    added.push({ name: shape.name, about: shape.about, handle: result.handle, table: shape.definition.table, where: shape.definition.where, dependencyHandles: result.dependencyHandles });
  }
  const names = nameShapes(first, added);
  say('1. Shapes (dependency shapes, one per distinct subquery, were created by `add`):');
  say(shapeTable(first, names), '');

  // 2. Transactions flow through consumers and materializers.
  for (const tx of TRANSACTIONS) await first.applyTransaction(tx);
  say(`2. Applied ${TRANSACTIONS.length} transactions (orgs, users, memberships, projects; then bob leaves acme). Rows per shape:`);
  say(await rowsTable(first, names), '');

  // 3. Clients follow four shapes over Electric's HTTP protocol, with the real client.
  const serving = await DemoServing.create();
  const clients: Record<string, JsonValue> = {};
  try {
    await serving.serve(first);
    serving.follow(FOLLOWED.map((name) => ({ name, definition: SHAPES.find((s) => s.name === name)!.definition })));
    const served = await serving.settled();
    clients.served = served as unknown as JsonValue;
    if (serving.missing) say(`3. (Skipped: ${serving.missing}.)`, '');
    else {
      say(`3. Served over Electric's HTTP shape protocol at ${serving.url}/v1/shape; four @electric-sql/client`);
      say('   clients (ShapeStream + Shape) follow four shapes, three of them with subqueries:');
      say(clientsTable(served), '');
    }

    // 4. The server restarts (clean shutdown, restore from the backup); the clients go on from their offsets.
    await serving.stopServer();
    await first.shutdown();
    const restarted = await createShapeRuntime(runtimeOptions(context, { dataDir }));
    await serving.serve(restarted);
    await restarted.applyTransaction(WHILE_SERVING);
    const afterRestart = await serving.settled();
    clients.afterRestart = afterRestart as unknown as JsonValue;
    say(`4. The server restarts (clean shutdown, restore from the backup: ${restarted.report.loaded.length} shapes kept, ${restarted.report.removed.length} removed), then dee`);
    say('   joins acme. Every client goes on from its offset under the same handle, with no refetch (Electric drops');
    say('   every subquery shape on restart, so three of these four clients would start again from scratch):');
    say(serving.missing ? `   (Skipped: ${serving.missing}.)` : clientsTable(afterRestart, served), '');
    await serving.stopServer();

    // 5. Clean shutdown: the backup names every shape.
    const shapesBefore = restarted.list();
    await restarted.shutdown();
    // The innermost dependency of acme-members: the acme org shape, which acme-projects uses too.
    const membershipsOfAcme = added.find((s) => s.name === 'acme-members')!.dependencyHandles[0]!;
    const lost = shapesBefore.find((s) => s.handle === membershipsOfAcme)!.dependencyHandles[0]!;
    const pointing = shapesBefore.filter((s) => s.dependencyHandles.includes(lost)).map((s) => names.get(s.handle) ?? s.handle);
    say(`5. Clean shutdown: backup written, naming all ${shapesBefore.length} shapes.`, '');
    return await theIncident(dataDir, context, { names, added, lost, pointing, serving, clients, say, text });
  } finally {
    await serving.stop();
  }
}

interface DemoSoFar {
  readonly names: Map<string, string>;
  readonly added: readonly AddedShape[];
  readonly lost: string;
  readonly pointing: readonly string[];
  readonly serving: DemoServing;
  readonly clients: Record<string, JsonValue>;
  readonly say: (...lines: string[]) => void;
  readonly text: string[];
}

async function theIncident(dataDir: string, context: CommandContext, demo: DemoSoFar): Promise<{ json: JsonValue; text: string }> {
  const { createShapeRuntime } = await import('../../runtime/index.ts');
  const { createInspectionRecorder } = await import('../../inspection/inspection-recorder.ts');
  const { names, added, lost, pointing, serving, clients, say, text } = demo;
  // 6. The incident: a dependency shape's storage is gone; the backup still names it.
  await rm(join(dataDir, 'shapes', lost), { recursive: true });
  say(`6. The incident: the storage of ${lost} (${names.get(lost)}) is lost, while the backup still names it`);
  say(`   and ${pointing.join(' and ')} still point at it. Electric restored such shapes from its backup: their`);
  say(`   consumers asked a materializer that did not exist, crashed, restarted, crashed again.`, '');

  // 7. Restart: restore from the backup, watched through the inspection events.
  const recorder = createInspectionRecorder({ types: ['@xstate.actor'] });
  const inspect = context.inspect;
  const second = await createShapeRuntime({
    ...runtimeOptions(context, { dataDir }),
    inspect: (event) => {
      recorder.inspect(event);
      inspect?.(event);
    },
  });
  const report = second.report;
  const removed = new Set(report.removed.map((r) => r.handle));
  const spawnedForRemoved = recorder.events.filter((e) => e.systemId !== null && removed.has(e.systemId.slice(e.systemId.indexOf(':') + 1)));
  say('7. Restart. The restore report:', '');
  say(indent(restoreReportText(report)), '');
  say(
    spawnedForRemoved.length === 0
      ? `   Actors ever created for the ${removed.size} removed shapes: none (checked from the actor system's inspection events).`
      : `   UNEXPECTED: actors created for removed shapes: ${spawnedForRemoved.map((e) => e.systemId).join(', ')}`,
    '',
  );

  // 8. Everything else serves: one more transaction reaches the surviving shapes.
  const before = new Map<string, number>();
  for (const shape of second.list()) before.set(shape.handle, (await second.readLog(shape.handle)).length);
  await second.applyTransaction(AFTER_RESTART);
  const received: { handle: string; name: string; entries: { op: string; key: string; row: JsonValue }[] }[] = [];
  for (const shape of second.list()) {
    const log = await second.readLog(shape.handle);
    const fresh = log.slice(before.get(shape.handle) ?? 0).filter((e) => e.xid === AFTER_RESTART.xid);
    if (fresh.length > 0) received.push({ handle: shape.handle, name: names.get(shape.handle) ?? shape.handle, entries: fresh.map((e) => ({ op: e.op, key: e.key, row: e.row as JsonValue })) });
  }
  const admins = added.find((s) => s.name === 'admins')!;
  const { decodeLinkKey } = await import('../../shapes/where/link-key.ts');
  const adminValues = (await second.linkValues(admins.dependencyHandles[0]!)).map((key) => decodeLinkKey(key)[0] as JsonValue);
  say(`8. Every other shape serves. Transaction ${AFTER_RESTART.xid} after the restart (eve joins, as an admin of initech):`);
  say(
    table(
      ['SHAPE', 'HANDLE', 'RECEIVED'],
      received.map((r) => [r.name, r.handle, r.entries.map((e) => `${e.op} ${JSON.stringify(e.row)}`).join('; ')]),
    ),
  );
  say(`   The admins' membership materializer now holds user ids ${adminValues.join(', ')}.`, '');

  // 9. The clients come back: only those of the lost closure get a 409 and refetch, under new handles.
  const beforeIncident = (clients.afterRestart ?? []) as unknown as Parameters<typeof clientsTable>[0];
  await serving.serve(second);
  const afterIncident = await serving.settled();
  clients.afterIncident = afterIncident as unknown as JsonValue;
  say('9. The clients reconnect. Those of the removed shapes get one 409 must-refetch each and start again under');
  say('   a new handle (the shapes are created again, with their dependencies), then hold the right rows; the');
  say('   others go on under the same handle, with no refetch:');
  say(serving.missing ? `   (Skipped: ${serving.missing}.)` : clientsTable(afterIncident, beforeIncident), '');
  await serving.stopServer();
  await second.shutdown();

  say(`Data dir kept: ${dataDir}`);
  say(`  npx shape-actors list --data-dir ${dataDir}        # the shapes that survived`);
  say(`  npx shape-actors doctor --data-dir ${dataDir}      # a read-only health check`);

  return {
    text: text.join('\n'),
    json: {
      dataDir,
      shapes: [...names].map(([handle, name]) => ({ handle, name, table: report.tables[handle] ?? null })),
      lost,
      restore: restoreReportJson(report),
      actorsSpawned: recorder.events.flatMap((e) => (e.systemId !== null && /^(shape|materializer):/.test(e.systemId) ? [e.systemId] : [])),
      actorsSpawnedForRemovedShapes: spawnedForRemoved.map((e) => e.systemId),
      afterRestart: { xid: AFTER_RESTART.xid, received, adminValues },
      clients,
    },
  };
}

/**
 * Every shape gets a name: the requested ones their own, dependency shapes
 * `orgs[name = 'acme']` (or `memberships of acme-members` when the where clause is long).
 */
function nameShapes(runtime: ShapeRuntime, added: readonly AddedShape[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const shape of added) names.set(shape.handle, shape.name);
  const shapes = runtime.list();
  // Dependents come after their dependencies in list(): walk backwards so a dependent is named first.
  for (const shape of [...shapes].reverse()) {
    shape.dependencyHandles.forEach((dep) => {
      if (!names.has(dep)) {
        const depShape = shapes.find((s) => s.handle === dep);
        const table = (depShape?.definition.table ?? '?').replace(/^public\./, '');
        const where = depShape?.definition.where ?? '';
        names.set(dep, where.length > 0 && where.length <= 30 ? `${table}[${where}]` : `${table} of ${names.get(shape.handle) ?? shape.handle}`);
      }
    });
  }
  return names;
}

function shapeTable(runtime: ShapeRuntime, names: ReadonlyMap<string, string>): string {
  return table(
    ['NAME', 'HANDLE', 'TABLE', 'WHERE', 'DEPENDS ON'],
    runtime.list().map((s) => [names.get(s.handle) ?? '?', s.handle, s.definition.table, s.definition.where ?? '-', s.dependencyHandles.join(', ') || '-']),
  );
}

async function rowsTable(runtime: ShapeRuntime, names: ReadonlyMap<string, string>): Promise<string> {
  const rows: string[][] = [];
  for (const s of runtime.list()) {
    const current = new Map<string, unknown>();
    for (const e of await runtime.readLog(s.handle)) {
      if (e.op === 'delete') current.delete(e.key);
      else current.set(e.key, e.row);
    }
    rows.push([names.get(s.handle) ?? '?', String(current.size), [...current.values()].map((r) => JSON.stringify(r)).join(' ')]);
  }
  return table(['SHAPE', 'ROWS', 'CURRENT ROWS'], rows);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? `   ${line}` : line))
    .join('\n');
}
