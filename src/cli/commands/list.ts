import { DATA_DIR_COMMAND_OPTIONS, type CliCommand } from '../command.ts';
import { restoreNoticeText, restoreSummaryJson, table } from '../format.ts';
import { withRuntime } from '../open-runtime.ts';

/** `list`: the shapes a restore of the data dir keeps, dependencies first. */
export const listCommand: CliCommand = {
  name: 'list',
  summary: 'list the shapes of the data dir, dependencies first',
  examples: ['shape-actors list --data-dir ./data', 'shape-actors list --data-dir ./data --json'],
  commonOptions: DATA_DIR_COMMAND_OPTIONS,
  configure: (command) => command,
  async run(_options, context) {
    return withRuntime(context, {}, async (runtime, report) => {
      const shapes = runtime.list();
      const notice = restoreNoticeText(report);
      const text =
        shapes.length === 0
          ? 'No shapes.'
          : table(
              ['HANDLE', 'TABLE', 'COLUMNS', 'REPLICA', 'DEPENDS ON', 'WHERE'],
              shapes.map((s) => [
                s.handle,
                s.definition.table,
                s.definition.columns?.join(',') ?? '*',
                s.definition.replica,
                s.dependencyHandles.length > 0 ? s.dependencyHandles.join(',') : '-',
                s.definition.where ?? '-',
              ]),
            );
      return {
        json: {
          shapes: shapes.map((s) => ({
            handle: s.handle,
            definition: {
              table: s.definition.table,
              ...(s.definition.where !== undefined ? { where: s.definition.where } : {}),
              ...(s.definition.columns !== undefined ? { columns: [...s.definition.columns] } : {}),
              replica: s.definition.replica,
            },
            dependencyHandles: [...s.dependencyHandles],
            requested: s.requested,
          })),
          restore: restoreSummaryJson(report),
        },
        text: [...(notice ? [notice, ''] : []), text].join('\n'),
      };
    });
  },
};
