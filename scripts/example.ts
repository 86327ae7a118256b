/**
 * `npm run example`: the incident the project exists for, replayed on a throwaway data dir.
 * A shape with nested subqueries is added, a backup is written, the innermost dependency's
 * storage disappears, and the runtime restarts from the backup: both outer levels are removed
 * (with reason and cause) before any actor is spawned; the unrelated shape survives.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreReportText } from '../src/cli/format.ts';
import { createShapeRuntime } from '../src/runtime.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'shape-actors-example-'));
try {
  const first = await createShapeRuntime({ dataDir });
  const users = await first.add({
    table: 'public.users',
    where: "id IN (SELECT user_id FROM public.memberships WHERE org_id IN (SELECT id FROM public.orgs WHERE name = 'acme'))",
  });
  await first.add({ table: 'public.items', columns: ['id', 'name'] });
  const [orgs] = users.created; // dependencies are created first: orgs, then memberships, then users
  console.log(`Added ${users.handle} (public.users), which needs ${users.dependencyHandles.join(', ')} (public.memberships), which needs ${orgs} (public.orgs).`);
  await first.shutdown(); // writes the backup
  console.log(`Backup written. Now the storage of ${orgs} disappears, and the service restarts.\n`);
  await rm(join(dataDir, 'shapes', orgs!), { recursive: true });

  const second = await createShapeRuntime({ dataDir });
  console.log(restoreReportText(second.report));
  console.log(`\nSpawned, dependencies first: ${second.report.spawnOrder.join(', ')}`);
  await second.shutdown();
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
