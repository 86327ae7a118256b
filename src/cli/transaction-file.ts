import { rowTypeProblem } from '../shapes/where/row-types.ts';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { ShapeRuntime } from '../runtime/index.ts';
import { parseTransaction, TransactionError, type Transaction } from '../shapes/transaction.ts';
import { dataDirLayout } from '../storage/data-dir-layout.ts';
import { errnoText } from '../storage/fs-errors.ts';
import { DirectoryTableFiles } from '../storage/rows/directory-table-files.ts';
import { rowKey } from '../storage/rows/row-key.ts';
import { CliError } from './errors.ts';

/** `apply --file`: a file of transactions, one JSON object a line, or stdin for `-`. */
export interface TransactionInput {
  /** How the file is named in messages (`stdin` for `-`). */
  readonly name: string;
  readonly lines: AsyncIterable<string>;
  /** Bytes to read (0 when unknown: stdin), for the progress line. */
  readonly size: number;
}

/** Opens the input, or says in one line why it cannot be read (missing, a directory, no permission). */
export async function openTransactionInput(file: string, stdin: Readable): Promise<TransactionInput> {
  // The line reader is made when the lines are first asked for: lines it reads before that are lost.
  if (file === '-') return { name: 'stdin', lines: { [Symbol.asyncIterator]: () => createInterface({ input: stdin, crlfDelay: Infinity })[Symbol.asyncIterator]() }, size: 0 };
  let size: number;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new CliError('file-unreadable', `transaction file is a directory: ${file}`);
    size = info.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError('file-not-found', `transaction file not found: ${file}`);
    throw new CliError('file-unreadable', `cannot read the transaction file (${errnoText(error)}): ${file}`);
  }
  return {
    name: file,
    size,
    lines: (async function* () {
      try {
        // An open that fails after the check (permission) surfaces here: say it once.
        yield* createInterface({ input: createReadStream(file), crlfDelay: Infinity });
      } catch (error) {
        throw new CliError('file-unreadable', `cannot read the transaction file (${errnoText(error)}): ${file}`);
      }
    })(),
  };
}

/**
 * `--key table=cols` for a table the data dir already records with other key columns is refused
 * before anything is restored: a table's key cannot change.
 */
export async function checkDeclaredKeys(dataDir: string, declared: Readonly<Record<string, readonly string[]>>): Promise<void> {
  if (Object.keys(declared).length === 0) return;
  const read = await new DirectoryTableFiles(dataDirLayout(dataDir).tables).readIndex();
  if (read.status !== 'ok') return;
  for (const [table, columns] of Object.entries(declared)) {
    const recorded = read.index.tables[table]?.keyColumns;
    if (recorded && recorded.join(',') !== columns.join(',')) {
      throw new CliError('key-columns-changed', `--key ${table}=${columns.join(',')}: the data dir records ${table} with key column(s) ${recorded.join(', ')}, and a table's key cannot change (leave --key out for it, or use a new data dir)`);
    }
  }
}

/** A line in full: JSON, a valid transaction, every row with its key: nothing of a bad line is sent. */
export function checkedTransaction(text: string, line: number, runtime: ShapeRuntime): Transaction {
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
    const types = runtime.columnTypesOf(change.table);
    const problem = types && change.op !== 'delete' ? rowTypeProblem(change.row, types) : null;
    if (problem) throw new TransactionError(`changes.${i}: ${problem} (${change.table})`, transaction.xid, line);
  });
  return transaction;
}

export { TransactionError };
