import { causeChain, type Removal } from '../graph/removal.ts';
import type { RestoreReport } from '../machines/runtime.types.ts';
import { settledReport } from '../machines/storage-check.actions.ts';
import type { CreateShapeRuntimeOptions, ShapeRuntime } from '../runtime/index.ts';
import type { CommandContext } from './command.ts';
import { CliError, ExitCode, isShapeRuntimeError } from './errors.ts';

export interface OpenRuntimeOptions {
  /** Another data dir than `--data-dir` (the demo's own). */
  readonly dataDir?: string;
  /** Create a data dir in a missing or empty directory (only `add` and `serve` do: every other command needs an existing one). */
  readonly createDataDir?: boolean;
  /** The command changes what the data dir holds as the user asked (`restore`): the only kind that applies a destructive `--policy`. */
  readonly appliesPolicy?: boolean;
  /** Declared primary key columns per table (`--key`). */
  readonly keyColumns?: Readonly<Record<string, readonly string[]>>;
  /** Row-store tables whose damage the operator acknowledges (`restore --accept-table-damage`). */
  readonly acceptTableDamage?: readonly string[];
}

/**
 * The runtime options the common CLI options stand for: the data dir, the
 * policy, the logger, and where inspection events go (`--inspect`, `--trace`,
 * the progress line), plus spawn progress.
 */
export function runtimeOptions(context: CommandContext, options: OpenRuntimeOptions = {}): CreateShapeRuntimeOptions {
  const { progress } = context;
  return {
    dataDir: options.dataDir ?? context.common.dataDir,
    createDataDir: options.createDataDir ?? false,
    ...(context.common.forceUnlock ? { forceUnlock: true } : {}),
    ...(options.keyColumns ? { keyColumns: options.keyColumns } : {}),
    ...(options.acceptTableDamage ? { acceptTableDamage: options.acceptTableDamage } : {}),
    policy: context.common.policy,
    logger: context.logger,
    ...(context.inspect ? { inspect: context.inspect } : {}),
    ...(progress.enabled
      ? {
          onProgress: ({ done, total }: { done: number; total: number }) => {
            // Spawning is one synchronous step: draw now, the timer cannot run until it ends.
            progress.label('restore: spawning');
            progress.update(done, total, 'shapes');
            progress.render();
          },
        }
      : {}),
  };
}

/**
 * Restores the data dir, waits for the check after restore (a command reads every shape once:
 * its report names all the damage, as restore did before it read metadata only), runs `act` on
 * the running runtime with that settled report, then shuts down cleanly (which writes a
 * backup), whether `act` succeeded or was refused.
 */
export async function withRuntime<T>(context: CommandContext, options: OpenRuntimeOptions, act: (runtime: ShapeRuntime, report: RestoreReport) => Promise<T>): Promise<T> {
  refuseDestructivePolicy(context, options);
  if (!options.createDataDir) await requireExistingDataDir(options.dataDir ?? context.common.dataDir);
  const { createShapeRuntime } = await loadRuntime();
  const dataDir = options.dataDir ?? context.common.dataDir;
  // A data dir that follows Postgres keeps no copy of its tables: its row store reads the database (offline here).
  const { followsPostgres, openOfflinePostgresRowStore } = await import('../sources/postgres/pg-row-store.ts');
  const rowStore = followsPostgres(dataDir) ? { rowStore: openOfflinePostgresRowStore(dataDir) } : {};
  const runtime = await createShapeRuntime({ ...runtimeOptions(context, options), ...rowStore });
  context.logger.debug({ dataDir: context.common.dataDir, mode: runtime.report.mode, loaded: runtime.report.loaded.length }, 'data dir restored');
  let result: T;
  try {
    result = await act(runtime, settledReport(runtime.report, await runtime.storageChecked()));
  } catch (error) {
    await runtime.shutdown().catch((shutdownError: unknown) => context.logger.error({ err: String(shutdownError) }, 'shutdown after a failed command failed'));
    throw error;
  }
  await runtime.shutdown();
  return result;
}

/** A dry-run restore: the report of what restore would do; nothing on disk changes. */
export async function planRestoreFromOptions(context: CommandContext, options: OpenRuntimeOptions = {}): Promise<RestoreReport> {
  await requireExistingDataDir(context.common.dataDir);
  const { planRestore } = await loadRuntime();
  return planRestore(runtimeOptions(context, options));
}

/**
 * `--policy dropDependent` deletes every subquery shape: it takes effect only where the user asked
 * for a change of what the data dir holds (`restore`, `serve`); `doctor` and `restore --dry-run`
 * plan it; every other command refuses it before touching anything.
 */
export function refuseDestructivePolicy(context: CommandContext, options: OpenRuntimeOptions): void {
  if (context.common.policy === 'validate' || options.appliesPolicy) return;
  throw new CliError(
    'usage',
    `--policy ${context.common.policy} deletes every subquery shape: only restore and serve apply it (restore --dry-run and doctor show what it would remove), not ${context.command}`,
    ExitCode.usage,
  );
}

/**
 * Only `add` and `serve` make a data dir (in a missing or empty directory): every other command
 * refuses an empty directory instead of writing one there. A missing one, a file, or a
 * directory holding other things, openFileStorage refuses, saying which.
 */
export async function requireExistingDataDir(dataDir: string): Promise<void> {
  const { inspectDirectory } = await import('../storage/data-dir-layout.ts');
  if ((await inspectDirectory(dataDir)).kind === 'empty') {
    throw new CliError('data-dir-empty', `no data dir at ${dataDir}: the directory is empty (add or serve creates one there)`);
  }
}

/**
 * The runtime (XState, the SQL parser, storage) is loaded only when a command
 * runs, so `--help`, `--version` and argument errors answer at once.
 */
function loadRuntime(): Promise<typeof import('../runtime/index.ts')> {
  return import('../runtime/index.ts');
}

/** The removals of a restore report that `handle` caused (itself included), causes first. */
export function removalsCausedBy(report: RestoreReport, handle: string): Removal[] {
  const byHandle = new Map(report.removed.map((r) => [r.handle, r]));
  return report.removed.filter((r) => causeChain(r.handle, byHandle).includes(handle));
}

/** A refused request about one shape, said in the CLI's terms: an unknown handle names the data dir. */
export function shapeRequestError(error: unknown, handle: string, context: CommandContext): unknown {
  if (!isShapeRuntimeError(error)) return error;
  return new CliError(error.code, error.code === 'unknown-shape' ? `no shape has handle ${handle} in ${context.common.dataDir}` : error.message);
}
