import { DATA_DIR_COMMAND_OPTIONS, type CliCommand } from '../command.ts';
import { plural, restoreNoticeText, restoreSummaryJson } from '../format.ts';
import { shapeRequestError, withRuntime } from '../open-runtime.ts';
import { parseHandle } from '../options.ts';
import { decodeLinkKey } from '../../shapes/where/link-key.ts';
import { compareValues } from '../../shapes/where/sql-values.ts';

/** `values`: a dependency shape's link values (what its materializer answers), sorted. */
export const valuesCommand: CliCommand = {
  name: 'values',
  summary: "print a dependency shape's link values (the values its materializer holds), sorted",
  examples: ['shape-actors values --data-dir ./data --handle 32220858-1765808264363524 --json'],
  commonOptions: DATA_DIR_COMMAND_OPTIONS,
  configure: (command) => command.requiredOption('--handle <handle>', 'the dependency shape', parseHandle),
  async run(options, context) {
    const handle = options.string('handle');
    return withRuntime(context, {}, async (runtime) => {
      const keys = await runtime.linkValues(handle).catch((error: unknown) => {
        throw shapeRequestError(error, handle, context);
      });
      // One selected column: the value itself; several (a row comparison): the tuple.
      const values = keys.map(decodeLinkKey).map((tuple) => (tuple.length === 1 ? tuple[0] : tuple)).sort(byValue);
      const notice = restoreNoticeText(runtime.report);
      return {
        json: { values: values as never, restore: restoreSummaryJson(runtime.report) },
        text: [...(notice ? [notice, ''] : []), `Shape ${handle}: ${plural(values.length, 'value')}.`, ...values.map((v) => `  ${JSON.stringify(v)}`)].join('\n'),
      };
    });
  },
};

/** SQL order where the values compare (numbers numerically, text by code point), else by their JSON text. */
function byValue(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = byValue(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  const c = compareValues(a, b);
  if (c !== null) return c;
  const ja = JSON.stringify(a);
  const jb = JSON.stringify(b);
  return ja < jb ? -1 : ja > jb ? 1 : 0;
}
