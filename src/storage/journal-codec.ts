import { z } from 'zod';
import { decodeEveryFramedLine, encodeFramedLines, type FramedDamage } from './framed-lines.ts';
import type { PreparedBatch } from './storage.ts';
import { AppliedXids, type AppliedXidsRecord } from '../shapes/applied-xids.ts';
import { xidOf } from '../shapes/transaction.ts';

const recordSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('prepare'),
    position: z.number().int().nonnegative(),
    transactions: z.array(z.unknown()),
    handles: z.array(z.string()),
  }),
  z.strictObject({ kind: z.literal('commit'), position: z.number().int().nonnegative() }),
  // The first line after a reset: the applied xids of the batches the reset forgot.
  z.strictObject({
    kind: z.literal('applied'),
    horizon: z.number().int().nonnegative().nullable(),
    runs: z.array(z.tuple([z.number().int().positive(), z.number().int().positive()])),
  }),
]);
export type JournalRecord = z.infer<typeof recordSchema>;

export function encodeJournalRecord(record: JournalRecord): string {
  return encodeFramedLines([record]);
}

export interface JournalRead {
  /** The last `prepare` with no `commit` after it (null when every batch committed). */
  readonly batch: PreparedBatch | null;
  /** Bad lines: `torn-tail` for the last line (an append that never completed), `corrupt-entry` before it. */
  readonly damage: readonly FramedDamage[];
  /** Where the whole lines end: a torn last line is cut back to here, so the next append starts a line of its own. */
  readonly validBytes: number;
  /**
   * The applied xids the journal records: its `applied` line, plus every batch whose `commit`
   * follows its `prepare`. Without an `applied` line (a journal from before it), the horizon is
   * the first prepare's position, or unknown when there is none.
   */
  readonly applied: AppliedXidsRecord;
}

const validate = (value: unknown): string | undefined => (recordSchema.safeParse(value).success ? undefined : 'not a journal record');

/**
 * Reads the journal line by line. Only its last whole record matters: a
 * `prepare` there is the batch in doubt. A torn last line is an append that
 * never completed (a torn `prepare` means no log was touched yet: logs are
 * written after it is durable; a torn `commit` leaves its batch in doubt,
 * redone). A bad line with whole lines after it is skipped and reported: the
 * records after it, not the ones before, say where the journal stands.
 */
export function readJournal(buffer: Buffer): JournalRead {
  const damage: (FramedDamage & { readonly start: number })[] = [];
  let last: JournalRecord | undefined;
  let applied: AppliedXids | null = null;
  let pending: readonly unknown[] | null = null;
  for (const line of decodeEveryFramedLine<JournalRecord>(buffer, validate)) {
    if (line.problem !== undefined || line.record === undefined) {
      damage.push({ kind: line.end >= buffer.length ? 'torn-tail' : 'corrupt-entry', line: line.line, reason: line.problem ?? 'no record', start: line.start });
      continue;
    }
    const record: JournalRecord = line.record;
    last = record;
    if (record.kind === 'applied') applied = new AppliedXids({ horizon: record.horizon, runs: record.runs });
    else if (record.kind === 'prepare') {
      applied ??= new AppliedXids({ horizon: record.position, runs: [] });
      pending = record.transactions;
    } else if (pending) {
      for (const transaction of pending) {
        const xid = xidOf(transaction);
        if (xid !== null) applied?.add(xid);
      }
      pending = null;
    }
  }
  // A damaged line in the middle stays (whole records follow it); only a bad tail is cut.
  const tail = damage.at(-1);
  const cutAt = tail?.kind === 'torn-tail' ? tail.start : buffer.length;
  const batch = last?.kind === 'prepare' ? { position: last.position, transactions: last.transactions, handles: last.handles } : null;
  return { batch, damage: damage.map(({ start: _start, ...d }) => d), validBytes: cutAt, applied: applied?.toRecord() ?? { horizon: null, runs: [] } };
}

/** The batch in doubt (see readJournal). */
export function inDoubtBatch(buffer: Buffer): PreparedBatch | null {
  return readJournal(buffer).batch;
}
