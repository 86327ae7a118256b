import { checkDataDir } from '../../storage/file-store.ts';
import { createShapeRuntime, type CreateShapeRuntimeOptions, type ShapeRuntime } from '../../runtime/index.ts';
import { PostgresSource, type PostgresSourceOptions } from './source.ts';
import { postgresCatalog } from './column-catalog.ts';

export interface PostgresRuntimeOptions extends Omit<CreateShapeRuntimeOptions, 'moveInSource' | 'rowStore' | 'storage'>, Omit<PostgresSourceOptions, 'stateDir' | 'logger'> {
  /** The data dir (the Postgres source keeps its state there too). */
  readonly dataDir: string;
}

export interface PostgresRuntime {
  readonly runtime: ShapeRuntime;
  readonly source: PostgresSource;
  /** Stops following Postgres, then shuts the runtime down cleanly (a backup is written). */
  shutdown(): Promise<void>;
}

/**
 * The runtime beside a real Postgres (`databaseUrl`): checks the server,
 * restores the data dir (with the tables' primary keys, and a row store that
 * reads the database instead of keeping a copy of it), then follows the
 * database's changes. Rejects with a
 * PostgresSourceError that says what is wrong when the database cannot be
 * used (unreachable, `wal_level` below logical, missing rights).
 */
export async function startPostgresRuntime(options: PostgresRuntimeOptions): Promise<PostgresRuntime> {
  const { databaseUrl, slot, publication, schemaPollMs, backoff, onFatal, unfollowableTables, ...runtimeOptions } = options;
  // The source writes its state into the data dir before the store opens it: check the dir first.
  await checkDataDir(options.dataDir, { create: options.createDataDir ?? true });
  const source = await PostgresSource.connect({
    databaseUrl,
    stateDir: options.dataDir,
    ...(slot ? { slot } : {}),
    ...(publication ? { publication } : {}),
    ...(schemaPollMs !== undefined ? { schemaPollMs } : {}),
    ...(backoff ? { backoff } : {}),
    ...(onFatal ? { onFatal } : {}),
    ...(unfollowableTables ? { unfollowableTables } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  let runtime: ShapeRuntime;
  try {
    const keyColumns = { ...source.runtimeKeyColumns(), ...options.keyColumns };
    const columnTypes = { ...source.runtimeColumnTypes(), ...options.columnTypes };
    runtime = await createShapeRuntime({ ...runtimeOptions, keyColumns, columnTypes, catalog: postgresCatalog(source.pool), rowStore: source.rowStoreOpener() });
  } catch (error) {
    await source.stop();
    throw error;
  }
  try {
    await source.start(runtime);
  } catch (error) {
    await source.stop();
    await runtime.shutdown().catch(() => undefined);
    throw error;
  }
  return {
    runtime,
    source,
    async shutdown() {
      await source.stop();
      await runtime.shutdown();
    },
  };
}
