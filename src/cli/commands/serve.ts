import { DATA_DIR_COMMAND_OPTIONS, type CliCommand, type CommandContext, type CommandResult } from '../command.ts';
import { CliError, ExitCode } from '../errors.ts';
import { activityJson, activityText, restoreNoticeText, restoreSummaryJson } from '../format.ts';
import { runtimeOptions, type OpenRuntimeOptions } from '../open-runtime.ts';
import { parseKeyColumns, type OptionReader } from '../options.ts';
import { configureHttpOptions, httpServing, type HttpServing } from '../serve-http.ts';
import { SERVICE_SEMI_SPACE_MIB, semiSpaceMiB, youngGenerationAdvice } from '../young-generation.ts';
import type { ShapeActivity, ShapeRuntime } from '../../runtime/index.ts';

const UNFOLLOWABLE = ['keep', 'remove'] as const;

/**
 * `serve`: the runtime beside a real Postgres, and (with `--http-port`) its shapes served over
 * Electric's HTTP shape API. Restores the data dir, follows the database's changes by logical
 * replication until SIGINT or SIGTERM, then stops serving and following and shuts down cleanly
 * (a backup is written). Without `--database-url`, it serves the embedded store's shapes.
 */
export const serveCommand: CliCommand = {
  name: 'serve',
  summary: "follow a Postgres database (logical replication) into the shapes and serve them over Electric's HTTP shape API, until SIGINT/SIGTERM",
  examples: [
    'shape-actors add --data-dir ./data --table public.users --where "id IN (SELECT user_id FROM public.memberships WHERE org_id = 7)"',
    'shape-actors serve --data-dir ./data --database-url postgres://app@127.0.0.1:5432/app --http-port 3000 --log-level info',
    'shape-actors serve --data-dir ./data --http-port 3000    # the embedded store, read-only over HTTP',
  ],
  commonOptions: DATA_DIR_COMMAND_OPTIONS,
  configure: (command) =>
    configureHttpOptions(command)
      .option('--database-url <url>', 'the database to follow (wal_level = logical; a role with REPLICATION that may create a publication); default $DATABASE_URL; without it, the embedded store is served', process.env.DATABASE_URL)
      .option('--slot <name>', 'replication slot (default: one chosen for this data dir and kept in it)')
      .option('--publication <name>', 'publication (default: the slot name)')
      .option('--unfollowable-tables <policy>', 'shapes whose table does not exist or has no primary key: keep (report them, follow them once they can be) or remove', 'keep')
      .option('--key <table=columns...>', 'primary key columns of a table, overriding the database catalog (the embedded store: as recorded by add or apply; a different one is refused); repeatable', parseKeyColumns, {}),
  async run(options, context) {
    let onSignal: (signal: NodeJS.Signals) => void = () => {};
    let onFatal: (error: Error) => void = () => {};
    const stopped = new Promise<{ signal: NodeJS.Signals } | { error: Error }>((resolve) => {
      onSignal = (signal) => resolve({ signal });
      onFatal = (error) => resolve({ error });
    });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const http = httpServing(options, context);
      if (options.optionalString('databaseUrl') === undefined) return await serveEmbedded(context, http, stopped, declaredKeys(options));
      return await serve(options, context, http, stopped, (error) => onFatal(error));
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

type Stopped = Promise<{ signal: NodeJS.Signals } | { error: Error }>;

/**
 * Like every command, serve says what its restore removed and which row-store tables lost records: at start, since it runs until
 * stopped. A large service started with a small young generation is told which flag to start node with (young-generation.ts).
 */
function announceRestore(context: CommandContext, runtime: ShapeRuntime): void {
  const notice = restoreNoticeText(runtime.report);
  if (notice) context.notice(notice);
  const shapes = runtime.activity().kept;
  const semiSpace = semiSpaceMiB(process.execArgv, process.env.NODE_OPTIONS);
  const advice = youngGenerationAdvice(shapes, semiSpace);
  if (advice) context.logger.warn({ shapes, semiSpaceMiB: semiSpace, recommendedSemiSpaceMiB: SERVICE_SEMI_SPACE_MIB }, advice);
}

/** The stopping log line, with how many shapes were kept and how many woke while serving (the activity it returns). */
function stopping(context: CommandContext, runtime: ShapeRuntime, stop: { signal: NodeJS.Signals } | { error: Error }): ShapeActivity {
  const activity = runtime.activity();
  context.logger.info({ ...('signal' in stop ? { signal: stop.signal } : { err: stop.error.message }), ...activity }, 'stopping');
  return activity;
}

/** `--key`, as runtime options: the tables' key columns, declared (recorded by the row store; a different recorded key is refused). */
function declaredKeys(options: OptionReader): Pick<OpenRuntimeOptions, 'keyColumns'> {
  const keyColumns = options.record('key');
  return Object.keys(keyColumns).length > 0 ? { keyColumns } : {};
}

/** No database: the embedded store's shapes, served over HTTP (created on request, fed by nobody while `serve` holds the data dir). */
async function serveEmbedded(context: CommandContext, http: HttpServing, stopped: Stopped, keys: Pick<OpenRuntimeOptions, 'keyColumns'>): Promise<CommandResult> {
  if (http.port === undefined) {
    throw new CliError('usage', 'serve needs --database-url (or $DATABASE_URL) to follow Postgres, or --http-port to serve the embedded store', ExitCode.usage);
  }
  const { createShapeRuntime } = await import('../../runtime/index.ts');
  const runtime = await createShapeRuntime(runtimeOptions(context, keys));
  announceRestore(context, runtime);
  const server = await http.start(runtime, (definition) => runtime.add(definition), { txids: true }).catch(async (error: unknown) => {
    await runtime.shutdown();
    throw error;
  });
  const stop = await stopped;
  const activity = stopping(context, runtime, stop);
  await server?.close();
  const shapes = runtime.list().length;
  await runtime.shutdown();
  const signal = 'signal' in stop ? stop.signal : 'error';
  return {
    json: { stopped: signal, shapes, activity: activityJson(activity), position: runtime.position(), http: server ? server.url : null, restore: restoreSummaryJson(runtime.report) },
    text: `stopped (${signal}) after serving ${shapes} shape(s) of the embedded store at ${server?.url} (${activityText(activity)}); backup written`,
  };
}

async function serve(
  options: OptionReader,
  context: CommandContext,
  http: HttpServing,
  stopped: Stopped,
  onFatal: (error: Error) => void,
): Promise<CommandResult> {
  const databaseUrl = options.string('databaseUrl');
  const slot = options.optionalString('slot');
  const publication = options.optionalString('publication');
  const keyColumns = declaredKeys(options);
  const unfollowableTables = options.oneOf('unfollowableTables', UNFOLLOWABLE) ?? 'keep';
  const { startPostgresRuntime, PostgresSourceError, redactUrl } = await import('../../sources/postgres/index.ts');

  let pr: Awaited<ReturnType<typeof startPostgresRuntime>>;
  try {
    pr = await startPostgresRuntime({
      // serve, like add, may make a data dir (in a missing or empty directory).
      ...runtimeOptions(context, { createDataDir: true, ...keyColumns }),
      dataDir: context.common.dataDir,
      databaseUrl,
      unfollowableTables,
      ...(slot ? { slot } : {}),
      ...(publication ? { publication } : {}),
      onFatal,
    });
  } catch (error) {
    if (error instanceof PostgresSourceError) throw new CliError(`postgres-${error.code}`, error.message);
    throw error;
  }
  const { runtime, source } = pr;
  announceRestore(context, runtime);
  // Shapes asked for over HTTP go through the source: it checks the catalog and syncs their tables first.
  // The health endpoint says whether the backlog is applied: { status, source: { state, position, backlog, caughtUp } }.
  const health = (): Record<string, unknown> => {
    const { state, position, backlog, caughtUp } = source.status();
    return { source: { state, position, backlog, caughtUp } };
  };
  const server = await http.start(runtime, (definition) => source.add(definition), { txids: false, health }).catch(async (error: unknown) => {
    await pr.shutdown();
    throw error;
  });
  context.logger.info(
    { database: redactUrl(databaseUrl), slot: source.slot, publication: source.publication, shapes: runtime.list().length, woken: runtime.activity().woken, position: source.status().position },
    'serving: following the database',
  );
  const stop = await stopped;
  const activity = stopping(context, runtime, stop);
  await server?.close();
  const status = source.status();
  const shapes = runtime.list().length;
  await pr.shutdown();
  if ('error' in stop) {
    const code = stop.error instanceof PostgresSourceError ? `postgres-${stop.error.code}` : 'postgres-source-failed';
    throw new CliError(code, `stopped following the database: ${stop.error.message} (the data dir keeps everything applied; a restart resumes)`);
  }
  return {
    json: { stopped: stop.signal, shapes, activity: activityJson(activity), slot: status.slot, publication: status.publication, position: status.position, confirmed: status.confirmed, synced: [...status.synced], http: server ? server.url : null, restore: restoreSummaryJson(runtime.report) },
    text: `stopped (${stop.signal}) after following ${status.synced.length} table(s) for ${shapes} shape(s) (${activityText(activity)}); position ${status.position}; backup written`,
  };
}
