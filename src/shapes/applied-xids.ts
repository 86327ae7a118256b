/**
 * Which transactions a data dir applied, so that one at or below the position can be told apart:
 * `applied` (it is recorded: a redelivery, skipped) or `never-applied` (out of order: refused,
 * never called "already applied"). Kept as runs of consecutive xids (a file of xids 1, 2, 3, ...
 * is one run; Postgres' commit LSNs are one run each), the newest MAX_RUNS of them; below them,
 * `horizon`: xids at or below it are older than the record (`before-record`), taken as applied.
 * The journal persists it (journal-codec.ts); the apply path judges and extends it.
 */
export interface AppliedXidsRecord {
  /** Every xid at or below it is older than the record; null: not known yet (the position at the first batch is). */
  readonly horizon: number | null;
  /** `[first, last]` runs of applied xids, ascending, all above `horizon`. */
  readonly runs: readonly (readonly [number, number])[];
}

/** Runs kept; past them the oldest fold into the horizon. */
export const MAX_RUNS = 4096;

export type XidJudgement = 'new' | 'applied' | 'never-applied' | 'before-record';

export class AppliedXids {
  #horizon: number | null;
  readonly #firsts: number[] = [];
  readonly #lasts: number[] = [];
  /** Runs before this index have been folded into the horizon (dropped lazily, so folding is O(1)). */
  #start = 0;

  constructor(record: AppliedXidsRecord = { horizon: null, runs: [] }) {
    this.#horizon = record.horizon;
    for (const [first, last] of record.runs) {
      this.#firsts.push(first);
      this.#lasts.push(last);
    }
  }

  get horizon(): number | null {
    return this.#horizon;
  }

  /** The horizon of a record that did not know it: everything up to `position` is older than it. */
  startAt(position: number): void {
    if (this.#horizon === null) this.#horizon = position;
  }

  /** What `xid` is, given the position reached. */
  judge(xid: number, position: number): XidJudgement {
    if (xid > position) return 'new';
    if (this.#horizon === null || xid <= this.#horizon) return 'before-record';
    // Binary search for the last run starting at or before xid.
    let lo = this.#start;
    let hi = this.#firsts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#firsts[mid]! <= xid) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= this.#start && xid <= this.#lasts[hi]! ? 'applied' : 'never-applied';
  }

  /** Records an applied xid (above every one recorded). */
  add(xid: number): void {
    const n = this.#firsts.length;
    if (n > this.#start && this.#lasts[n - 1]! >= xid) return;
    if (n > this.#start && this.#lasts[n - 1]! === xid - 1) this.#lasts[n - 1] = xid;
    else {
      this.#firsts.push(xid);
      this.#lasts.push(xid);
    }
    if (this.#firsts.length - this.#start > MAX_RUNS) {
      this.#horizon = this.#lasts[this.#start]!;
      this.#start++;
      if (this.#start > MAX_RUNS) {
        this.#firsts.splice(0, this.#start);
        this.#lasts.splice(0, this.#start);
        this.#start = 0;
      }
    }
  }

  toRecord(): AppliedXidsRecord {
    const runs: [number, number][] = [];
    for (let i = this.#start; i < this.#firsts.length; i++) runs.push([this.#firsts[i]!, this.#lasts[i]!]);
    return { horizon: this.#horizon, runs };
  }
}
