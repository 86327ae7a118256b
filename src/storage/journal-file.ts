import { readFile, stat } from 'node:fs/promises';
import type { DurableFs } from './fs-durable.ts';
import { errnoText, isErrno } from './fs-errors.ts';
import { encodeJournalRecord, readJournal } from './journal-codec.ts';
import { StorageError, type JournalReadOptions, type PreparedBatch } from './storage.ts';
import { AppliedXids } from '../shapes/applied-xids.ts';
import { xidOf } from '../shapes/transaction.ts';

/** Past this size a committed journal is emptied. */
const JOURNAL_RESET_BYTES = 16 * 1024 * 1024;

/**
 * The file store's journal (`<data dir>/journal.jsonl`): a `prepare` before a batch's logs are
 * written, a `commit` after. It is also the record of applied xids (AppliedXids): the committed
 * batches' transactions, and after a reset the `applied` line that carries the forgotten ones.
 */
export class JournalFile {
  /** Read from the journal when first asked for, then kept up to date by each commit. */
  #applied: AppliedXids | null = null;
  #prepared: readonly unknown[] = [];

  constructor(
    readonly file: string,
    private readonly fs: DurableFs,
  ) {}

  async prepare(batch: PreparedBatch): Promise<void> {
    await this.fs.append(this.file, encodeJournalRecord({ kind: 'prepare', ...batch, transactions: [...batch.transactions], handles: [...batch.handles] }));
    this.#prepared = batch.transactions;
  }

  async commit(position: number): Promise<void> {
    await this.fs.append(this.file, encodeJournalRecord({ kind: 'commit', position }));
    for (const transaction of this.#prepared) {
      const xid = xidOf(transaction);
      if (xid !== null) this.#applied?.add(xid);
    }
    this.#prepared = [];
    if ((await stat(this.file)).size > JOURNAL_RESET_BYTES) await this.reset();
  }

  /** The applied xids (the live record: commits extend it). */
  async applied(): Promise<AppliedXids> {
    if (this.#applied) return this.#applied;
    let buffer: Buffer;
    try {
      buffer = await readFile(this.file);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw new StorageError('io', this.file, `journal unreadable: ${errnoText(error)}`);
      buffer = Buffer.alloc(0);
    }
    this.#applied = new AppliedXids(readJournal(buffer).applied);
    return this.#applied;
  }

  async readInDoubt(options: JournalReadOptions = {}): Promise<PreparedBatch | null> {
    let buffer: Buffer;
    try {
      buffer = await readFile(this.file);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      throw new StorageError('io', this.file, `journal unreadable: ${errnoText(error)}`);
    }
    const read = readJournal(buffer);
    const repair = options.repair === true && read.validBytes < buffer.length;
    if (repair) await this.fs.truncate(this.file, read.validBytes);
    for (const d of read.damage) {
      options.onDamage?.({ file: this.file, line: d.line, reason: d.kind === 'torn-tail' ? `line ${d.line}: ${d.reason} (interrupted append)` : `line ${d.line}: ${d.reason}`, torn: d.kind === 'torn-tail', repaired: repair && d.kind === 'torn-tail' });
    }
    return read.batch;
  }

  /** Forgets committed batches, keeping their applied xids as the first line. */
  async reset(): Promise<void> {
    const { horizon, runs } = (await this.applied()).toRecord();
    await this.fs.replaceFile(this.file, encodeJournalRecord({ kind: 'applied', horizon, runs: runs.map(([first, last]) => [first, last]) }));
  }
}
