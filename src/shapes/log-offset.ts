/**
 * Offsets into a shape's log, in Electric's form: a pair `tx_op`, compared as a tuple.
 *
 * - `-1` (`{ tx: -1, op: 0 }`): before everything; a read from it starts with the snapshot.
 * - `0_<k>`: the k-th entry (from 0) of the shape's initial snapshot, the log written when the
 *   shape was created. The snapshot is served in chunks; a chunk's offset is its last entry's.
 * - `0_inf`: the end of the snapshot (after every `0_<k>`, before every transaction).
 * - `<xid>_<k>`: the k-th entry (from 0) that transaction `xid` gave this shape. `xid` is the
 *   runtime's position: the transaction id given to the embedded store, the commit LSN (as a
 *   decimal integer) when following Postgres. Transactions are applied in increasing xid order
 *   and a shape's log keeps them in that order, so offsets grow with the log; `<xid>_inf` is the
 *   end of transaction xid. Real transactions have xid >= 1 (position 0 is "nothing applied").
 *
 * An offset names an entry by what produced it, not by where it sits in a file: it is the same
 * after a restart, and the same after an interrupted batch is redone (the redo regenerates the
 * same entries for the same transactions, in the same order).
 */
export interface LogOffset {
  /** -1 before all; 0 the snapshot; else the transaction (xid). */
  readonly tx: number;
  /** Index of the entry within its transaction (or the snapshot); Infinity for its end. */
  readonly op: number;
}

export const BEFORE_ALL: LogOffset = Object.freeze({ tx: -1, op: 0 });
export const SNAPSHOT_END: LogOffset = Object.freeze({ tx: 0, op: Infinity });

/** Offsets beyond 2^53 cannot be held exactly as numbers: refused as malformed. */
const OFFSET = /^(\d{1,16})_(\d{1,16}|inf)$/;

/** `-1`, `<int>_<int>` or `<int>_inf` (leading zeros allowed: `0_02` is `0_2`); null otherwise. */
export function parseLogOffset(text: string): LogOffset | null {
  if (text === '-1') return BEFORE_ALL;
  const match = OFFSET.exec(text);
  if (!match) return null;
  const tx = Number(match[1]);
  const op = match[2] === 'inf' ? Infinity : Number(match[2]);
  if (!Number.isSafeInteger(tx) || (op !== Infinity && !Number.isSafeInteger(op))) return null;
  return { tx, op };
}

export function formatLogOffset(offset: LogOffset): string {
  if (offset.tx < 0) return '-1';
  return `${offset.tx}_${offset.op === Infinity ? 'inf' : offset.op}`;
}

/** Negative, zero or positive as `a` is before, at or after `b`. */
export function compareLogOffsets(a: LogOffset, b: LogOffset): number {
  if (a.tx !== b.tx) return a.tx < b.tx ? -1 : 1;
  if (a.op === b.op) return 0;
  return a.op < b.op ? -1 : 1;
}

export function isSnapshotOffset(offset: LogOffset): boolean {
  return offset.tx <= 0;
}

export function maxLogOffset(a: LogOffset, b: LogOffset): LogOffset {
  return compareLogOffsets(a, b) >= 0 ? a : b;
}
