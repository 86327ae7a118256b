/**
 * A program that embeds the runtime beside Postgres and ends on its own: it starts
 * (`startPostgresRuntime`), adds a shape, waits until it caught up, shuts down, prints
 * `shut down`, and returns from its module. Nothing calls process.exit: the process ends when
 * nothing the runtime started (timers, sockets) is left. postgres-serve.test.ts times that.
 *
 * Usage: node --import tsx test/integration/postgres-program.ts <database url> <data dir> <table>
 */
import { startPostgresRuntime } from '../../src/sources/postgres/index.ts';

const [databaseUrl, dataDir, table] = process.argv.slice(2);
if (!databaseUrl || !dataDir || !table) throw new Error('usage: postgres-program.ts <database url> <data dir> <table>');
const pr = await startPostgresRuntime({ databaseUrl, dataDir });
await pr.source.add({ table });
await pr.source.caughtUp();
await pr.shutdown();
process.stdout.write('shut down\n');
