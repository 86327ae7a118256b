import { describe, expect, it } from 'vitest';
import { inDoubtDecision } from '../../../src/storage/rows/restore-row-store.ts';

describe("inDoubtDecision: the journal's undo/redo decision", () => {
  const batch = { position: 10, transactions: [{ xid: 11, changes: [] }, { xid: 12, changes: [] }], handles: ['1-1'] };

  it('nothing in doubt: nothing to do', () => {
    expect(inDoubtDecision(null, 40)).toEqual({ kind: 'none' });
  });

  it('a prepare with nothing beyond its transactions on disk is undone and redone', () => {
    expect(inDoubtDecision(batch, 0)).toEqual({ kind: 'redo', batch });
    expect(inDoubtDecision(batch, 12)).toEqual({ kind: 'redo', batch });
  });

  it('a prepare the row store has gone past is stale (the journal lost later records): nothing is undone', () => {
    const decision = inDoubtDecision(batch, 13);
    expect(decision.kind).toBe('stale');
    expect(decision.kind === 'stale' && decision.reason).toMatch(/transactions up to 12, but the row store holds transactions up to 13/);
  });
});
