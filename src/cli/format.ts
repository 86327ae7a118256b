import type { Removal } from '../graph/removal.ts';
import type { RestoreReport } from '../machines/runtime.types.ts';

/** What `--json` prints: plain JSON data, nothing else. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue | undefined };

/** `{handle, reason, cause}` (and `detail` when the runtime gave one). */
export function removalJson(removal: Removal): JsonValue {
  return { handle: removal.handle, reason: removal.reason, cause: removal.cause, ...(removal.detail !== undefined ? { detail: removal.detail } : {}) };
}

/** The whole restore report as JSON (it is plain data: this only fixes the field order). */
export function restoreReportJson(report: RestoreReport): JsonValue {
  return {
    mode: report.mode,
    policy: report.policy,
    dryRun: report.dryRun,
    fallbackReason: report.fallbackReason,
    loaded: [...report.loaded],
    removed: report.removed.map(removalJson),
    problems: report.problems.map((p) => ({ handle: p.handle, file: p.file, reason: p.reason, action: p.action })),
    spawnOrder: [...report.spawnOrder],
    phases: report.phases.map((p) => ({ phase: p.phase, ms: p.ms })),
  };
}

/** The part of a restore every other command reports: what it used and what it removed. */
export function restoreSummaryJson(report: RestoreReport): JsonValue {
  return { mode: report.mode, fallbackReason: report.fallbackReason, loaded: report.loaded.length, removed: report.removed.map(removalJson) };
}

/** A left-aligned text table; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], indent = '  '): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    indent +
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function removalTable(removals: readonly Removal[]): string {
  return table(
    ['HANDLE', 'REASON', 'CAUSE'],
    removals.map((r) => [r.handle, r.reason, r.cause ?? '-']),
  );
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The restore report for people: where it loaded from, counts, removed shapes, problems. */
export function restoreReportText(report: RestoreReport): string {
  const out: string[] = [];
  const source = report.mode === 'backup' ? 'backup' : 'storage scan';
  out.push(`Restore ${report.dryRun ? 'plan (dry run) ' : ''}from ${source}, policy ${report.policy}: ${plural(report.loaded.length, 'shape')} loaded, ${report.removed.length} removed.`);
  if (report.fallbackReason !== null) out.push(`Backup not used: ${report.fallbackReason}.`);
  if (report.dryRun) out.push('Dry run: nothing on disk was changed.');
  if (report.removed.length > 0) out.push('', report.dryRun ? 'Shapes restore would remove:' : 'Removed shapes:', removalTable(report.removed));
  if (report.problems.length > 0) {
    out.push('', 'Problems found on disk:', table(['FILE', 'REASON', 'ACTION'], report.problems.map((p) => [p.file, p.reason, p.action])));
  }
  return out.join('\n');
}

/**
 * What other commands say about the restore they ran first: nothing when it
 * was clean, else the shapes it removed, so no deletion goes unreported.
 */
export function restoreNoticeText(report: RestoreReport): string | null {
  if (report.removed.length === 0) return null;
  return [`Restore removed ${plural(report.removed.length, 'shape')} before this command ran:`, removalTable(report.removed)].join('\n');
}
