import { DATA_DIR_COMMAND_OPTIONS, type CliCommand } from '../command.ts';
import { plural, restoreNoticeText, restoreSummaryJson, table, type JsonValue } from '../format.ts';
import { shapeRequestError, withRuntime } from '../open-runtime.ts';
import { parseHandle } from '../options.ts';

/** `log`: a shape's log; replaying it in order gives exactly the shape's current rows. */
export const logCommand: CliCommand = {
  name: 'log',
  summary: "print a shape's log (insert/update/delete entries; replayed in order they give the shape's rows)",
  examples: ['shape-actors log --data-dir ./data --handle 32220858-1765808264363524 --json'],
  commonOptions: DATA_DIR_COMMAND_OPTIONS,
  configure: (command) => command.requiredOption('--handle <handle>', 'the shape', parseHandle),
  async run(options, context) {
    const handle = options.string('handle');
    return withRuntime(context, {}, async (runtime, report) => {
      const entries = await runtime.readLog(handle).catch((error: unknown) => {
        throw shapeRequestError(error, handle, context);
      });
      const notice = restoreNoticeText(report);
      return {
        json: { entries: entries.map((e) => ({ op: e.op, key: e.key, row: e.row as JsonValue, xid: e.xid })), restore: restoreSummaryJson(report) },
        text: [
          ...(notice ? [notice, ''] : []),
          `Shape ${handle}: ${plural(entries.length, 'entry', 'entries')}.`,
          ...(entries.length > 0 ? [table(['XID', 'OP', 'KEY', 'ROW'], entries.map((e) => [String(e.xid), e.op, e.key, JSON.stringify(e.row)]))] : []),
        ].join('\n'),
      };
    });
  },
};
