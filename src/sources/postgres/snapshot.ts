/**
 * A Postgres MVCC snapshot (`pg_current_snapshot()`, text `xmin:xmax:xip,...`)
 * and whether a transaction of the replication stream is visible in it, i.e.
 * whether a query run at that snapshot already saw its effects.
 *
 * The stream gives 32-bit xids; the snapshot gives 64-bit (epoch-extended)
 * ones. A 32-bit xid is widened to the 64-bit xid nearest the snapshot's xmax
 * (within 2^31, as Postgres itself compares xids).
 */
export class PgSnapshot {
  private constructor(
    readonly xmin: bigint,
    readonly xmax: bigint,
    readonly xip: ReadonlySet<bigint>,
    readonly text: string,
  ) {}

  static parse(text: string): PgSnapshot {
    const match = /^(\d+):(\d+):([\d,]*)$/.exec(text.trim());
    if (!match) throw new Error(`not a snapshot: ${JSON.stringify(text)}`);
    const xip = new Set(match[3] ? match[3].split(',').map((x) => BigInt(x)) : []);
    return new PgSnapshot(BigInt(match[1]!), BigInt(match[2]!), xip, text.trim());
  }

  /** True when the transaction (a 32-bit xid from the stream) had committed for this snapshot. */
  sees(xid32: number): boolean {
    const xid = this.widen(xid32);
    if (xid < this.xmin) return true;
    if (xid >= this.xmax) return false;
    return !this.xip.has(xid);
  }

  widen(xid32: number): bigint {
    const mod = 2n ** 32n;
    const low = this.xmax % mod;
    let d = (BigInt(xid32) - low) % mod;
    if (d < 0n) d += mod;
    return d < 2n ** 31n ? this.xmax + d : this.xmax + d - mod;
  }
}
