import { z } from 'zod';
import { decodeFramedLines, encodeFramedLines } from './framed-lines.ts';
import type { PreparedBatch } from './storage.ts';

const recordSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('prepare'),
    position: z.number().int().nonnegative(),
    transactions: z.array(z.unknown()),
    handles: z.array(z.string()),
  }),
  z.strictObject({ kind: z.literal('commit'), position: z.number().int().nonnegative() }),
]);
export type JournalRecord = z.infer<typeof recordSchema>;

export function encodeJournalRecord(record: JournalRecord): string {
  return encodeFramedLines([record]);
}

/**
 * The batch in doubt: the last `prepare` with no `commit` after it. A torn
 * last record is an append that never completed: a torn `prepare` means no
 * log was touched yet (logs are written after it is durable).
 */
export function inDoubtBatch(buffer: Buffer): PreparedBatch | null {
  const decoded = decodeFramedLines<JournalRecord>(buffer, (value) => (recordSchema.safeParse(value).success ? undefined : 'not a journal record'));
  const last = decoded.records.at(-1);
  if (!last || last.kind === 'commit') return null;
  return { position: last.position, transactions: last.transactions, handles: last.handles };
}
