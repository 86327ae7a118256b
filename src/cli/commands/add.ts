import { Option } from 'commander';
import { DATA_DIR_COMMAND_OPTIONS, type CliCommand } from '../command.ts';
import { CliError, ExitCode } from '../errors.ts';
import { restoreNoticeText, restoreSummaryJson } from '../format.ts';
import { withRuntime } from '../open-runtime.ts';
import { parseColumnList } from '../options.ts';

/** `add`: adds a shape and whatever dependency shapes its subqueries need. */
export const addCommand: CliCommand = {
  name: 'add',
  summary: 'add a shape (and the dependency shapes of its subqueries); creates the data dir if missing',
  examples: [
    `shape-actors add --data-dir ./data --table public.users --where "id IN (SELECT user_id FROM public.memberships WHERE org_id = 7)"`,
    'shape-actors add --data-dir ./data --table public.orgs --columns id,name --replica full --json',
  ],
  commonOptions: DATA_DIR_COMMAND_OPTIONS,
  configure: (command) =>
    command
      .requiredOption('--table <table>', 'table, schema-qualified or not (users = public.users)')
      .option('--where <sql>', 'a Postgres boolean expression; subqueries become dependency shapes')
      .option('--columns <list>', 'comma-separated columns to keep (default: all)', parseColumnList)
      .addOption(new Option('--replica <mode>', 'what an update carries: default (changed columns) or full (whole row)').choices(['default', 'full'])),
  async run(options, context) {
    const where = options.optionalString('where');
    // A blank where clause is no where clause: refused, so a typo never becomes a whole-table shape.
    if (where !== undefined && where.trim() === '') throw new CliError('usage', '--where is empty: leave --where out for a shape of the whole table', ExitCode.usage);
    const columns = options.optionalList('columns');
    const replica = options.oneOf('replica', ['default', 'full'] as const);
    const definition = {
      table: options.string('table'),
      ...(where !== undefined ? { where } : {}),
      ...(columns !== undefined ? { columns: [...columns] } : {}),
      ...(replica !== undefined ? { replica } : {}),
    };
    return withRuntime(context, { createDataDir: true }, async (runtime, report) => {
      const added = await runtime.add(definition);
      const lines = [`Shape ${added.handle}`];
      lines.push(added.dependencyHandles.length > 0 ? `Depends on: ${added.dependencyHandles.join(', ')}` : 'Depends on: nothing');
      lines.push(added.created.length > 0 ? `Created: ${added.created.join(', ')}` : 'Created: nothing (the shape already existed)');
      const notice = restoreNoticeText(report);
      return {
        json: {
          handle: added.handle,
          dependencyHandles: [...added.dependencyHandles],
          created: [...added.created],
          restore: restoreSummaryJson(report),
        },
        text: [...(notice ? [notice, ''] : []), ...lines].join('\n'),
      };
    });
  },
};
