import { DATA_DIR_COMMAND_OPTIONS, type CliCommand } from '../command.ts';
import { restoreReportJson, restoreReportText } from '../format.ts';
import { planRestoreFromOptions, withRuntime } from '../open-runtime.ts';
import { parseTableNames } from '../options.ts';

/**
 * `restore`: restores the data dir and waits for the check after restore (the shapes' own files,
 * which restore takes on trust from the metadata log), so the report says everything restoring
 * did; with `--dry-run`, only says what that would be.
 */
export const restoreCommand: CliCommand = {
  name: 'restore',
  summary: 'restore the data dir and report what was loaded and removed (--dry-run: change nothing)',
  examples: [
    'shape-actors restore --data-dir ./data --dry-run',
    'shape-actors restore --data-dir ./data --policy dropDependent --json',
    'shape-actors restore --data-dir ./data --accept-table-damage public.users   # trust what the row store kept of a damaged table',
  ],
  commonOptions: DATA_DIR_COMMAND_OPTIONS,
  configure: (command) =>
    command
      .option('--dry-run', 'plan only: report what restore would keep and remove; nothing on disk changes')
      .option(
        '--accept-table-damage <table>',
        'acknowledge that a row-store table lost records (see the report): trust the records it kept and allow snapshots from it again; its damaged log is kept aside; repeatable',
        parseTableNames,
      ),
  async run(options, context) {
    const accept = options.optionalList('acceptTableDamage');
    const open = accept ? { acceptTableDamage: accept } : {};
    if (options.flag('dryRun')) {
      const report = await planRestoreFromOptions(context, open);
      return { json: restoreReportJson(report), text: restoreReportText(report) };
    }
    const { report, activity } = await withRuntime(context, { ...open, appliesPolicy: true }, async (runtime, report) => ({ report, activity: runtime.activity() }));
    return { json: restoreReportJson(report, activity), text: restoreReportText(report, activity) };
  },
};
