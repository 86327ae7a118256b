import { DATA_DIR_COMMAND_OPTIONS, type CliCommand } from '../command.ts';
import { plural, removalJson, removalTable, restoreNoticeText, restoreSummaryJson } from '../format.ts';
import { removalsCausedBy, shapeRequestError, withRuntime } from '../open-runtime.ts';
import { parseHandle } from '../options.ts';
import type { Removal } from '../../graph/removal.ts';

/** `remove`: removes a shape and, transitively, every shape that depends on it. */
export const removeCommand: CliCommand = {
  name: 'remove',
  summary: 'remove a shape and every shape that depends on it (storage deleted)',
  examples: ['shape-actors remove --data-dir ./data --handle 32220858-1765808264363524 --json'],
  commonOptions: DATA_DIR_COMMAND_OPTIONS,
  configure: (command) => command.requiredOption('--handle <handle>', 'the handle of the shape to remove', parseHandle),
  async run(options, context) {
    const handle = options.string('handle');
    return withRuntime(context, {}, async (runtime, report) => {
      // The restore this command began with may already have removed the shape
      // (e.g. its dependency was gone): it is gone, as asked; say by whom.
      const byRestore = removalsCausedBy(report, handle);
      let removed: readonly Removal[];
      if (byRestore.length > 0) {
        removed = byRestore;
      } else {
        removed = await runtime.remove(handle).catch((error: unknown) => {
          throw shapeRequestError(error, handle, context);
        });
      }
      const notice = restoreNoticeText(report);
      const text =
        byRestore.length > 0
          ? [notice, '', `Shape ${handle} was already removed by that restore (${byRestore.length === 1 ? 'alone' : `with ${plural(byRestore.length - 1, 'dependent shape')}`}).`]
          : [...(notice ? [notice, ''] : []), `Removed ${plural(removed.length, 'shape')}:`, removalTable(removed)];
      return {
        json: { removed: removed.map(removalJson), restore: restoreSummaryJson(report) },
        text: text.join('\n'),
      };
    });
  },
};
