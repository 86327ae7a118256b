import { readFile, stat } from 'node:fs/promises';
import type { DurableFs } from './fs-durable.ts';
import { errnoText, isErrno } from './fs-errors.ts';
import { encodeJournalRecord, readJournal } from './journal-codec.ts';
import { StorageError, type JournalReadOptions, type PreparedBatch } from './storage.ts';

/** Past this size a committed journal is emptied. */
const JOURNAL_RESET_BYTES = 16 * 1024 * 1024;

/** The file store's journal (`<data dir>/journal.jsonl`): a `prepare` before a batch's logs are written, a `commit` after. */
export class JournalFile {
  constructor(
    readonly file: string,
    private readonly fs: DurableFs,
  ) {}

  async prepare(batch: PreparedBatch): Promise<void> {
    await this.fs.append(this.file, encodeJournalRecord({ kind: 'prepare', ...batch, transactions: [...batch.transactions], handles: [...batch.handles] }));
  }

  async commit(position: number): Promise<void> {
    await this.fs.append(this.file, encodeJournalRecord({ kind: 'commit', position }));
    if ((await stat(this.file)).size > JOURNAL_RESET_BYTES) await this.reset();
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

  async reset(): Promise<void> {
    await this.fs.replaceFile(this.file, '');
  }
}
