import { DATA_DIR_COMMAND_OPTIONS, type CliCommand } from '../command.ts';
import { restoreReportJson, restoreReportText } from '../format.ts';
import { planRestoreFromOptions, withRuntime } from '../open-runtime.ts';

/** `restore`: restores the data dir (or, with `--dry-run`, only says what restoring would do). */
export const restoreCommand: CliCommand = {
  name: 'restore',
  summary: 'restore the data dir and report what was loaded and removed (--dry-run: change nothing)',
  examples: ['shape-actors restore --data-dir ./data --dry-run', 'shape-actors restore --data-dir ./data --policy dropDependent --json'],
  commonOptions: DATA_DIR_COMMAND_OPTIONS,
  configure: (command) => command.option('--dry-run', 'plan only: report what restore would keep and remove; nothing on disk changes'),
  async run(options, context) {
    const report = options.flag('dryRun') ? await planRestoreFromOptions(context) : await withRuntime(context, {}, async (runtime) => runtime.report);
    return { json: restoreReportJson(report), text: restoreReportText(report) };
  },
};
