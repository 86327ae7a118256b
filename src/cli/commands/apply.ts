import { DATA_DIR_COMMAND_OPTIONS, type CliCommand } from '../command.ts';
import { CliError, isShapeRuntimeError } from '../errors.ts';
import { activityJson, activityText, plural, restoreNoticeText, restoreSummaryJson } from '../format.ts';
import { withRuntime } from '../open-runtime.ts';
import { parseKeyColumns, parsePath } from '../options.ts';
import type { Transaction } from '../../shapes/transaction.ts';

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
    'some-exporter | shape-actors apply --data-dir ./data --file - --skip-out-of-order',
  ],
  commonOptions: DATA_DIR_COMMAND_OPTIONS,
  configure: (command) =>
    command
      .requiredOption('--file <file>', 'JSON lines: {"xid": n, "changes": [{"op": "insert"|"update"|"delete", "table", "row", "oldRow"?}]}; - reads stdin', parsePath)
      .option('--key <table=columns...>', 'primary key columns of a table (default id); repeatable', parseKeyColumns, {})
      .option('--skip-out-of-order', 'skip (and count) a transaction below the position that was never applied, instead of stopping there'),
  async run(options, context) {
    const file = options.string('file');
    const keyColumns = options.record('key');
    const skipOutOfOrder = options.flag('skipOutOfOrder');
    // The parser and the row store's readers (zod and all) load only when apply runs.
    const { checkDeclaredKeys, checkedTransaction, openTransactionInput, TransactionError } = await import('../transaction-file.ts');
    const input = await openTransactionInput(file, context.stdin);
    await checkDeclaredKeys(context.common.dataDir, keyColumns);
    return withRuntime(context, { keyColumns }, async (runtime, report) => {
      const counts = { applied: 0, skipped: 0, outOfOrder: 0 };
      let failure: CliError | null = null;
      const inFlight = new Set<Promise<void>>();
      const send = (transaction: Transaction, line: number): void => {
        const done = runtime.applyTransaction(transaction).then(
          (result) => void counts[result.status]++,
          (error: unknown) => {
            const code = isShapeRuntimeError(error) ? error.code : 'invalid-transaction';
            if (code === 'out-of-order' && skipOutOfOrder) counts.outOfOrder++;
            else {
              const hint = code === 'out-of-order' ? '; --skip-out-of-order skips such lines' : '';
              failure ??= new CliError(code, `${input.name}: line ${line}: ${error instanceof Error ? error.message : String(error)} (${plural(counts.applied, 'earlier transaction')} applied, nothing after it${hint})`);
            }
          },
        );
        inFlight.add(done);
        void done.finally(() => inFlight.delete(done));
      };
      // Lines in xid order are sent ahead; one at or below what was reached waits for everything
      // before it, so the runtime judges it against what is applied: already applied, or never.
      let reached = runtime.position();
      let line = 0;
      // Progress (drawn only on a TTY, after a second): bytes of the file read, transactions sent.
      const { size } = input;
      let bytes = 0;
      context.progress.start('apply', { total: size, unit: 'bytes' });
      try {
        for await (const text of input.lines) {
          line++;
          bytes += Buffer.byteLength(text) + 1;
          if (context.progress.enabled) {
            context.progress.label(`apply: line ${line.toLocaleString('en-US')}`);
            if (size > 0) context.progress.update(Math.min(bytes, size), size, 'bytes');
          }
          if (text.trim() === '') continue;
          // Checked here, in full, so that nothing after a bad line is sent: earlier lines are kept, later ones not applied.
          const transaction = checkedTransaction(text, line, runtime);
          if (transaction.xid > reached) {
            reached = transaction.xid;
            send(transaction, line);
          } else {
            await Promise.all(inFlight);
            if (failure) break;
            send(transaction, line);
            await Promise.all(inFlight);
          }
          if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
          if (failure) break;
        }
      } catch (error) {
        await Promise.all(inFlight);
        if (error instanceof TransactionError) {
          throw new CliError('invalid-transaction', `${input.name}: ${error.message} (nothing of it applied; ${plural(counts.applied, 'earlier transaction')} applied)`);
        }
        throw error;
      }
      await Promise.all(inFlight);
      context.progress.finish();
      if (failure) throw failure;
      const notice = restoreNoticeText(report);
      const activity = runtime.activity();
      return {
        json: { applied: counts.applied, skipped: counts.skipped, outOfOrder: counts.outOfOrder, position: runtime.position(), shapes: activityJson(activity), restore: restoreSummaryJson(report) },
        text: [
          ...(notice ? [notice, ''] : []),
          `Applied ${plural(counts.applied, 'transaction')}${counts.skipped > 0 ? `, skipped ${counts.skipped} already applied` : ''}${counts.outOfOrder > 0 ? `, skipped ${counts.outOfOrder} out of order (never applied)` : ''}; position ${runtime.position()}.`,
          `Shapes: ${activityText(activity)}.`,
        ].join('\n'),
      };
    });
  },
};
