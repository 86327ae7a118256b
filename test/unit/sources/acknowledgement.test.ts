/** What may be confirmed to the slot: pure decisions. */
import { describe, expect, it } from 'vitest';
import { idleAckTarget, settlement, slotMovedOn } from '../../../src/sources/postgres/acknowledgement.ts';

describe('acknowledgement', () => {
  it('an applied or skipped transaction is confirmed at once; one with nothing to apply only once recorded', () => {
    expect(settlement({ applied: true, skipped: false })).toBe('confirm');
    expect(settlement({ applied: false, skipped: true })).toBe('confirm');
    expect(settlement({ applied: false, skipped: false })).toBe('record-first');
  });

  it('a stretch with nothing to apply is confirmed past the position; a keepalive counts only while idle', () => {
    const base = { ackable: 0, idle: false, keepaliveLsn: 0, confirmed: 100, position: 100 };
    expect(idleAckTarget(base)).toBeNull();
    expect(idleAckTarget({ ...base, ackable: 150 })).toBe(150);
    expect(idleAckTarget({ ...base, ackable: 150, keepaliveLsn: 400 })).toBe(150);
    expect(idleAckTarget({ ...base, ackable: 150, keepaliveLsn: 400, idle: true })).toBe(399);
    // Nothing new: the position or the slot is past it already.
    expect(idleAckTarget({ ...base, ackable: 90, keepaliveLsn: 101, idle: true })).toBeNull();
  });

  it('the slot moved on without us when it is past both what was applied and what was recorded as confirmed', () => {
    expect(slotMovedOn(101, 100, 0)).toBe(false); // pg-logical-replication confirms lsn + 1
    expect(slotMovedOn(102, 100, 0)).toBe(true);
    expect(slotMovedOn(500, 100, 499)).toBe(false);
  });
});
