import { describe, expect, it } from 'vitest';
import { causeChainText, restoreReportJson, restoreReportText } from '../../../src/cli/format.ts';
import { ProgressLine, progressText } from '../../../src/cli/progress.ts';
import type { RestoreReport } from '../../../src/machines/runtime.types.ts';

function line(enabled = true) {
  let now = 0;
  const out: string[] = [];
  const progress = new ProgressLine({ enabled, write: (t) => void out.push(t), now: () => now, intervalMs: 0, columns: () => 60 });
  return { progress, out, advance: (ms: number) => void (now += ms) };
}

describe('ProgressLine', () => {
  it('draws nothing during the first second, then the task in place; clear and finish erase it', () => {
    const { progress, out, advance } = line();
    progress.start('restore: loadingShapes');
    advance(999);
    progress.render();
    expect(out).toEqual([]);
    advance(1);
    progress.render();
    expect(out).toEqual(['\rrestore: loadingShapes  1.0 s\x1b[K']);
    progress.clear();
    expect(out.at(-1)).toBe('\r\x1b[2K');
    progress.label('restore: spawning');
    progress.update(4000, 10000, 'shapes');
    progress.render();
    expect(out.at(-1)).toBe('\rrestore: spawning [########------------] 4,000/10,000 shape\x1b[K'); // cut to the width (60 columns, less one)
    progress.finish();
    expect(out.at(-1)).toBe('\r\x1b[2K');
    progress.render();
    expect(out).toHaveLength(4); // nothing drawn after finish
  });

  it('draws nothing at all when disabled (not a TTY, or --json)', () => {
    const { progress, out, advance } = line(false);
    progress.start('apply');
    advance(5000);
    progress.update(1, 2);
    progress.render();
    progress.finish();
    expect(out).toEqual([]);
  });

  it('formats counts, bytes and open-ended tasks', () => {
    expect(progressText({ label: 'apply', done: 1_572_864, total: 3_145_728, unit: 'bytes' }, 2500)).toBe('apply [##########----------] 1.5/3.0 MB 50%  2.5 s');
    expect(progressText({ label: 'x', done: 12, total: null, unit: 'lines' }, 0)).toBe('x  12 lines  0.0 s');
  });
});

const REPORT: RestoreReport = {
  mode: 'backup',
  policy: 'validate',
  dryRun: false,
  fallbackReason: null,
  loaded: ['5-5'],
  removed: [
    { handle: '1-1', reason: 'no-storage', cause: null, detail: 'named by the backup, not stored' },
    { handle: '2-2', reason: 'dependency-removed', cause: '1-1' },
    { handle: '3-3', reason: 'dependency-removed', cause: '2-2' },
  ],
  problems: [],
  spawnOrder: ['shape:5-5'],
  phases: [
    { phase: 'checkingBackup', startedAt: 0, ms: 1 },
    { phase: 'loadingBackup', startedAt: 1, ms: 2.5 },
  ],
  tables: { '1-1': 'public.orgs', '2-2': 'public.memberships', '3-3': 'public.users', '5-5': 'public.items' },
  damagedTables: [],
};

describe('restore report', () => {
  it('walks each cause chain back to the first shape, which says why', () => {
    const byHandle = new Map(REPORT.removed.map((r) => [r.handle, r]));
    expect(causeChainText(REPORT.removed[2]!, byHandle, REPORT.tables)).toBe('<- 2-2 (public.memberships) <- 1-1 (public.orgs): no-storage');
    expect(causeChainText(REPORT.removed[0]!, byHandle, REPORT.tables)).toBe('-');
  });

  it('text: counts, removed and loaded tables, time per restore state', () => {
    const text = restoreReportText(REPORT);
    expect(text).toContain('Restore from backup, policy validate: 1 shape loaded, 3 removed.');
    expect(text).toMatch(/3-3\s+public\.users\s+dependency-removed\s+<- 2-2/);
    expect(text).toMatch(/5-5\s+public\.items\s+consumer/);
    expect(text).toContain('Restore states: checkingBackup 1.00 ms, loadingBackup 2.50 ms; total 3.50 ms.');
  });

  it('json: the same data, with counts, duration, tables and cause chains', () => {
    expect(restoreReportJson(REPORT)).toMatchObject({
      counts: { loaded: 1, removed: 3, problems: 0 },
      durationMs: 3.5,
      removed: [
        { handle: '1-1', table: 'public.orgs', causeChain: ['1-1'], detail: 'named by the backup, not stored' },
        { handle: '2-2', table: 'public.memberships', causeChain: ['2-2', '1-1'] },
        { handle: '3-3', table: 'public.users', causeChain: ['3-3', '2-2', '1-1'] },
      ],
      phases: [{ phase: 'checkingBackup', ms: 1 }, { phase: 'loadingBackup', ms: 2.5 }],
      tables: REPORT.tables,
    });
  });
});
