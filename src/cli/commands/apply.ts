import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { DATA_DIR_COMMAND_OPTIONS, type CliCommand } from '../command.ts';
import { CliError, isShapeRuntimeError } from '../errors.ts';
import { plural, restoreNoticeText, restoreSummaryJson } from '../format.ts';
import { withRuntime } from '../open-runtime.ts';
import { parseKeyColumns } from '../options.ts';
import { rowKey } from '../../storage/rows/row-key.ts';
import { parseTransaction, TransactionError, type Transaction } from '../../shapes/transaction.ts';
import type { ShapeRuntime } from '../../runtime/index.ts';

/** Transactions sent ahead of their acknowledgement: the runtime commits what is queued together. */
const IN_FLIGHT = 256;

/** `apply`: applies a file of transactions, one JSON object a line, in order. */
export const applyCommand: CliCommand = {
  name: 'apply',
  summary: 'apply transactions from a JSON-lines file (one {xid, changes} a line) to every shape they touch',
  examples: [
    'shape-actors apply --data-dir ./data --file tx.jsonl',
    `echo '{"xid":1,"changes":[{"op":"insert","table":"public.users","row":{"id":1,"name":"ann"}}]}' > tx.jsonl`,
    'shape-actors apply --data-dir ./data --file tx.jsonl --key public.memberships=user_id,org_id --json',
  ],
  commonOptions: DATA_DIR_COMMAND_OPTIONS,
  configure: (command) =>
    command
      .requiredOption('--file <file>', 'JSON lines: {"xid": n, "changes": [{"op": "insert"|"update"|"delete", "table", "row", "oldRow"?}]}')
      .option('--key <table=columns...>', 'primary key columns of a table (default id); repeatable', parseKeyColumns, {}),
  async run(options, context) {
    const file = options.string('file');
    const keyColumns = options.record('key');
    return withRuntime(context, { keyColumns }, async (runtime) => {
      const counts = { applied: 0, skipped: 0 };
      let failure: CliError | null = null;
      const inFlight = new Set<Promise<void>>();
      const send = (transaction: Transaction): void => {
        const done = runtime.applyTransaction(transaction).then(
          (result) => void counts[result.status]++,
          (error: unknown) => {
            failure ??= new CliError('invalid-transaction', isShapeRuntimeError(error) ? error.message : String(error));
          },
        );
        inFlight.add(done);
        void done.finally(() => inFlight.delete(done));
      };
      let line = 0;
      // Progress (drawn only on a TTY, after a second): bytes of the file read, transactions sent.
      const size = await stat(file).then((s) => s.size, () => 0);
      let bytes = 0;
      context.progress.start('apply', { total: size, unit: 'bytes' });
      const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
      try {
        for await (const text of lines) {
          line++;
          bytes += Buffer.byteLength(text) + 1;
          if (context.progress.enabled) {
            context.progress.label(`apply: line ${line.toLocaleString('en-US')}`);
            context.progress.update(Math.min(bytes, size), size, 'bytes');
          }
          if (text.trim() === '') continue;
          // Checked here, in full, so that nothing after a bad line is sent: earlier lines are kept, later ones not applied.
          const transaction = checkedTransaction(text, line, runtime);
          send(transaction);
          if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
          if (failure) break;
        }
      } catch (error) {
        await Promise.all(inFlight);
        if (error instanceof TransactionError) {
          throw new CliError('invalid-transaction', `${file}: ${error.message} (nothing of it applied; ${plural(counts.applied, 'earlier transaction')} applied)`);
        }
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError('file-not-found', `transaction file not found: ${file}`);
        throw error;
      }
      await Promise.all(inFlight);
      context.progress.finish();
      if (failure) throw failure;
      const notice = restoreNoticeText(runtime.report);
      return {
        json: { applied: counts.applied, skipped: counts.skipped, position: runtime.position(), restore: restoreSummaryJson(runtime.report) },
        text: [
          ...(notice ? [notice, ''] : []),
          `Applied ${plural(counts.applied, 'transaction')}${counts.skipped > 0 ? `, skipped ${counts.skipped} already applied` : ''}; position ${runtime.position()}.`,
        ].join('\n'),
      };
    });
  },
};

function checkedTransaction(text: string, line: number, runtime: ShapeRuntime): Transaction {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TransactionError(`not JSON (${(error as Error).message})`, null, line);
  }
  const transaction = parseTransaction(value, line);
  transaction.changes.forEach((change, i) => {
    const keyColumns = runtime.keyColumnsOf(change.table);
    if (rowKey(change.row, keyColumns) === null) {
      throw new TransactionError(`changes.${i}: row has no value for key column(s) ${keyColumns.join(', ')} of ${change.table}`, transaction.xid, line);
    }
  });
  return transaction;
}
