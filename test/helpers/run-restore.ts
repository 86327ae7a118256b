/**
 * Runs real restores of a data dir with an inspection recorder attached, and
 * captures what the invariant checks need: the report, the inspection events,
 * and the data dir's files before and after.
 */
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RestorePolicy } from '../../src/graph/restore-plan.ts';
import { createInspectionRecorder, type RecordedInspectionEvent } from '../../src/inspection/inspection-recorder.ts';
import type { RestoreReport } from '../../src/machines/runtime.types.ts';
import { settledReport } from '../../src/machines/storage-check.actions.ts';
import { createShapeRuntime, planRestore, type ShapeRuntime } from '../../src/runtime/index.ts';
import { shapeDirs, snapshotDir } from './shape-graph.ts';

export interface ObservedRestore {
  /** What restore did once the check after restore is done too (a dry run predicts exactly this). */
  readonly report: RestoreReport;
  /** The restore report alone (RESTORE.COMPLETED): what restore decided from the metadata, and spawned. */
  readonly restored: RestoreReport;
  readonly events: readonly RecordedInspectionEvent[];
  readonly before: Map<string, Buffer>;
  readonly after: Map<string, Buffer>;
  readonly afterDirs: Set<string>;
  /** Every kept shape was woken once (observeRestore): the events hold their actors' starts. */
  readonly woken?: boolean;
}

export interface ObservedRuntime extends ObservedRestore {
  readonly runtime: ShapeRuntime;
}

/**
 * A real restore (`createShapeRuntime`), then every kept shape read once (so woken: a kept shape
 * sleeps until needed), in the report's order, then its storage check; left running: the caller
 * shuts it down or crashes it. A shape whose files are damaged is removed when it wakes (the read
 * is refused), or by the check.
 */
export async function observeRestore(dir: string, policy: RestorePolicy = 'validate'): Promise<ObservedRuntime> {
  const before = await snapshotDir(dir);
  const recorder = createInspectionRecorder();
  const runtime = await createShapeRuntime({ dataDir: dir, createDataDir: false, policy, inspect: recorder.inspect });
  for (const handle of runtime.report.loaded) await runtime.use(handle).catch(() => undefined);
  const report = settledReport(runtime.report, await runtime.storageChecked());
  return { runtime, report, restored: runtime.report, woken: true, events: recorder.events, before, after: await snapshotDir(dir), afterDirs: await shapeDirs(dir) };
}

/** `planRestore` (the dry run) with a recorder. */
export async function observeDryRun(dir: string, policy: RestorePolicy = 'validate'): Promise<ObservedRestore> {
  const before = await snapshotDir(dir);
  const recorder = createInspectionRecorder();
  const report = await planRestore({ dataDir: dir, policy, inspect: recorder.inspect });
  return { report, restored: report, events: recorder.events, before, after: await snapshotDir(dir), afterDirs: await shapeDirs(dir) };
}

/** Stops a runtime without a clean shutdown (no backup written): what a crash leaves. Resolves once its lock is released. */
export async function crash(runtime: ShapeRuntime): Promise<void> {
  runtime.actor.stop();
  await runtime.ended;
}

/** Copies a data dir; `withoutBackup` deletes the copy's backup, so it restores by scan. */
export async function copyDataDir(from: string, to: string, options: { withoutBackup?: boolean } = {}): Promise<string> {
  await cp(from, to, { recursive: true });
  if (options.withoutBackup) await rm(join(to, 'backup'), { recursive: true, force: true });
  return to;
}
