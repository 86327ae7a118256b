import { writeFile } from 'node:fs/promises';
import type { InspectionEvent } from 'xstate';
import { errnoText } from '../storage/fs-errors.ts';
import { CliError, ExitCode } from './errors.ts';
import type { RuntimeLogger } from '../logging/runtime-logger.ts';
import type { CommonOptions } from './options.ts';
import type { ProgressLine } from './progress.ts';

/** What a command gets besides its options: where inspection events go, and notices for people. */
export interface CommandSession {
  readonly inspect: ((event: InspectionEvent) => void) | null;
  readonly notice: (text: string) => void;
  /** Writes the trace (also after a failure), stops the inspector, clears the progress line; false when one of those failed (it was told on stderr). */
  close(): Promise<boolean>;
}

const RESTORE_STATES: ReadonlySet<string> = new Set(['checkingBackup', 'loadingBackup', 'loadingShapes', 'validatingDependencies', 'committingRestore', 'spawning']);

/**
 * Sets up what `--trace FILE` and `--inspect [port]` ask for, and the restore
 * progress line, all fed by the runtime's inspection events. The inspector
 * and the recorder are loaded only when asked for.
 */
export async function openSession(common: CommonOptions, progress: ProgressLine, logger: RuntimeLogger, stderr: (text: string) => void): Promise<CommandSession> {
  const notice = (text: string): void => {
    progress.clear();
    stderr(`${text}\n`);
  };
  const sinks: ((event: InspectionEvent) => void)[] = [];
  /** Each resolves false when it failed and said so. */
  const closers: (() => Promise<boolean>)[] = [];

  if (common.trace !== null) {
    const file = common.trace;
    // Where the trace goes is checked before the command runs: a command must not end with exit 0 and no trace.
    try {
      await writeFile(file, '');
    } catch (error) {
      throw new CliError('usage', `--trace: cannot write ${file}: ${errnoText(error)}`, ExitCode.usage);
    }
    const { createInspectionRecorder } = await import('../inspection/inspection-recorder.ts');
    const recorder = createInspectionRecorder();
    sinks.push(recorder.inspect);
    closers.push(async () => {
      try {
        await recorder.writeJson(file);
        logger.debug({ file, events: recorder.events.length, truncated: recorder.truncated }, 'trace written');
      } catch (error) {
        notice(`shape-actors: could not write the trace to ${file}: ${errnoText(error)}`);
        return false;
      }
      return true;
    });
  }

  if (common.inspect !== null) {
    const { startLiveInspector } = await import('../inspection/inspector-server.ts');
    const live = await startLiveInspector({ port: common.inspect });
    sinks.push((event) => live.inspect.next?.(event));
    closers.push(() => live.stop().then(() => true));
    notice(`Stately inspector: open ${live.url} (events stream over ${live.webSocketUrl})`);
    if (common.inspectWait > 0) {
      notice(`Waiting up to ${common.inspectWait} s for it to connect (--inspect-wait 0 to start at once)...`);
      const seen = await live.waitForViewer(common.inspectWait * 1000);
      notice(seen ? 'Inspector connected.' : `No inspector connected after ${common.inspectWait} s: going on (a viewer that connects before the end still gets every event).`);
    }
  }

  if (progress.enabled) sinks.push(restoreProgress(progress));

  const inspect = sinks.length === 0 ? null : sinks.length === 1 ? sinks[0]! : (event: InspectionEvent) => sinks.forEach((sink) => sink(event));
  return {
    inspect,
    notice,
    async close() {
      progress.finish();
      // Each closer runs even if another failed; a failure here is told, never hides the command's own result.
      let ok = true;
      for (const close of closers) {
        try {
          if (!(await close())) ok = false;
        } catch (error) {
          ok = false;
          notice(`shape-actors: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return ok;
    },
  };
}

/** Follows the restore machine's state on the progress line: `restore: loadingShapes  1.4 s`. */
function restoreProgress(progress: ProgressLine): (event: InspectionEvent) => void {
  let restoring = false;
  return (event) => {
    if (event.type !== '@xstate.snapshot' || (event.actorRef as { logic?: { id?: string } }).logic?.id !== 'shapeRuntime') return;
    const value = (event.snapshot as { value?: unknown }).value;
    if (typeof value === 'string' && RESTORE_STATES.has(value)) {
      if (!restoring) progress.start(`restore: ${value}`);
      else progress.label(`restore: ${value}`);
      restoring = true;
    } else if (restoring) {
      restoring = false;
      progress.finish();
    }
  };
}
