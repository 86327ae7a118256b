import { causeChain, type Removal } from '../graph/removal.ts';
import type { ShapeActivity } from '../machines/runtime-read-view.ts';
import type { RestoreReport } from '../machines/runtime.types.ts';
import type { DamagedTable } from '../restore/table-damage.ts';

/** What `--json` prints: plain JSON data, nothing else. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue | undefined };

/** `{handle, reason, cause}` (and `detail` when the runtime gave one). */
export function removalJson(removal: Removal): JsonValue {
  return { handle: removal.handle, reason: removal.reason, cause: removal.cause, ...(removal.detail !== undefined ? { detail: removal.detail } : {}) };
}

/**
 * The whole restore report as JSON: the report's own fields (plain data) plus
 * what the text report derives for people: counts, the total duration, each
 * removed shape's table and cause chain (its own handle first, back to the
 * first shape that went for a reason of its own).
 */
export function restoreReportJson(report: RestoreReport, activity?: ShapeActivity): JsonValue {
  const byHandle = new Map(report.removed.map((r) => [r.handle, r]));
  return {
    mode: report.mode,
    policy: report.policy,
    dryRun: report.dryRun,
    fallbackReason: report.fallbackReason,
    counts: { loaded: report.loaded.length, removed: report.removed.length, problems: report.problems.length },
    durationMs: restoreDurationMs(report),
    loaded: [...report.loaded],
    removed: report.removed.map((r) => ({
      handle: r.handle,
      table: report.tables[r.handle] ?? null,
      reason: r.reason,
      cause: r.cause,
      causeChain: causeChain(r.handle, byHandle),
      ...(r.detail !== undefined ? { detail: r.detail } : {}),
    })),
    problems: report.problems.map((p) => ({ handle: p.handle, file: p.file, reason: p.reason, action: p.action })),
    spawnOrder: [...report.spawnOrder],
    phases: report.phases.map((p) => ({ phase: p.phase, ms: p.ms })),
    tables: { ...report.tables },
    damagedTables: report.damagedTables.map(damagedTableJson),
    ...(activity ? { activity: activityJson(activity) } : {}),
  };
}

function damagedTableJson(t: DamagedTable): JsonValue {
  return { table: t.table, file: t.file, lostLines: [...t.lostLines], kept: t.kept, shapes: [...t.shapes], dependents: [...t.dependents], snapshots: t.snapshots };
}

/** Milliseconds from entering the first restore state to leaving the last one. */
export function restoreDurationMs(report: RestoreReport): number {
  return Math.round(report.phases.reduce((sum, p) => sum + (p.ms ?? 0), 0) * 1000) / 1000;
}

/** The part of a restore every other command reports: what it used, what it removed, which tables lost records. */
export function restoreSummaryJson(report: RestoreReport): JsonValue {
  return { mode: report.mode, fallbackReason: report.fallbackReason, loaded: report.loaded.length, removed: report.removed.map(removalJson), damagedTables: report.damagedTables.map(damagedTableJson) };
}

/**
 * How many shapes a command's runtime kept and how many of them woke while it ran (restore
 * starts no actor: a shape wakes, its dependencies first, when a change, a read or an add needs
 * it), and how many went back to sleep.
 */
export function activityText(activity: ShapeActivity): string {
  const slept = activity.slept > 0 ? `, ${activity.slept} went back to sleep` : '';
  return `${plural(activity.kept, 'shape')} kept, ${activity.woken} woke${slept}`;
}

export function activityJson(activity: ShapeActivity): JsonValue {
  return { kept: activity.kept, woken: activity.woken, slept: activity.slept, awake: activity.awake };
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

export function plural(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`;
}

/** How many loaded shapes the text report lists (all of them are in `--json`). */
export const LOADED_ROWS_SHOWN = 50;

/**
 * The restore report for people: where it loaded from and why, counts, the
 * removed shapes with their table, reason and cause chain back to the first
 * shape that went for a reason of its own, the loaded shapes, problems found
 * on disk, and how long each restore state took.
 */
export function restoreReportText(report: RestoreReport, activity?: ShapeActivity): string {
  const out: string[] = [];
  const source = report.mode === 'backup' ? 'backup' : 'storage scan';
  out.push(`Restore ${report.dryRun ? 'plan (dry run) ' : ''}from ${source}, policy ${report.policy}: ${plural(report.loaded.length, 'shape')} loaded, ${report.removed.length} removed.`);
  if (report.fallbackReason !== null) out.push(`Backup not used: ${report.fallbackReason}.`);
  if (report.dryRun) out.push('Dry run: nothing on disk was changed.');
  if (report.removed.length > 0) {
    out.push('', report.dryRun ? `Shapes restore would remove (${report.removed.length}), before spawning anything:` : `Removed (${report.removed.length}), before anything was spawned:`);
    out.push(removedShapesTable(report));
  }
  if (report.loaded.length > 0) {
    out.push('', report.dryRun ? `Shapes restore would keep (${report.loaded.length}), in spawn order:` : `Kept (${report.loaded.length}), asleep until needed; a shape wakes its dependencies first, in this order:`);
    out.push(loadedShapesTable(report));
  }
  if (report.damagedTables.length > 0) out.push('', damagedTablesText(report.damagedTables));
  if (report.problems.length > 0) {
    out.push('', 'Problems found on disk:', table(['FILE', 'REASON', 'ACTION'], report.problems.map((p) => [p.file, p.reason, p.action])));
  }
  if (report.phases.length > 0) {
    const phases = report.phases.map((p) => `${p.phase} ${formatMs(p.ms ?? 0)}`).join(', ');
    out.push('', `Restore states: ${phases}; total ${formatMs(restoreDurationMs(report))}.`);
  }
  // What the command's own work woke (restore itself wakes nothing), beside what it kept.
  if (activity) out.push('', `Shapes: ${activityText(activity)} during this command.`);
  return out.join('\n');
}

/** Removed shapes: handle, table, reason, and the chain of causes back to the first one. */
export function removedShapesTable(report: RestoreReport): string {
  const byHandle = new Map(report.removed.map((r) => [r.handle, r]));
  return table(
    ['HANDLE', 'TABLE', 'REASON', 'CAUSE CHAIN', 'DETAIL'],
    report.removed.map((r) => [r.handle, report.tables[r.handle] ?? '?', r.reason, causeChainText(r, byHandle, report.tables), r.detail ?? '']),
  );
}

/**
 * `<- mid (public.memberships) <- inner (public.orgs): no-storage`: from the
 * shape's direct cause back to the first removed shape, which says why it went.
 * `-` when the shape is itself the first cause.
 */
export function causeChainText(removal: Removal, byHandle: ReadonlyMap<string, Removal>, tables: Readonly<Record<string, string>>): string {
  const chain = causeChain(removal.handle, byHandle).slice(1);
  if (chain.length === 0) return removal.cause === null ? '-' : `<- ${removal.cause}`;
  const root = byHandle.get(chain[chain.length - 1]!);
  const links = chain.map((h) => `<- ${h}${tables[h] ? ` (${tables[h]})` : ''}`).join(' ');
  return root ? `${links}: ${root.reason}` : links;
}

function loadedShapesTable(report: RestoreReport): string {
  const actors = new Set(report.spawnOrder);
  const shown = report.loaded.slice(0, LOADED_ROWS_SHOWN);
  const rows = shown.map((h) => [h, report.tables[h] ?? '?', actors.has(`materializer:${h}`) ? 'consumer + materializer' : 'consumer']);
  const text = table(['HANDLE', 'TABLE', 'ACTORS'], rows);
  const more = report.loaded.length - shown.length;
  return more > 0 ? `${text}\n  ... and ${more} more (--json lists every one)` : text;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}

/**
 * What other commands say about the restore they ran first: nothing when it
 * was clean, else the shapes it removed, so no deletion goes unreported.
 */
export function restoreNoticeText(report: RestoreReport): string | null {
  const out: string[] = [];
  if (report.removed.length > 0) out.push(`Restore removed ${plural(report.removed.length, 'shape')} before this command ran:`, removalTable(report.removed));
  if (report.damagedTables.length > 0) out.push(...(out.length > 0 ? [''] : []), damagedTablesText(report.damagedTables));
  return out.length > 0 ? out.join('\n') : null;
}

/**
 * Row-store tables that lost records: what was lost, which shapes can no longer
 * be trusted, what the runtime does, and how to lift it.
 */
export function damagedTablesText(tables: readonly DamagedTable[]): string {
  const out = [`The row store lost records of ${plural(tables.length, 'table')} (bad lines in the middle of its log; every valid record around them was kept):`];
  for (const t of tables) {
    const lines = t.lostLines.length > 0 ? `line${t.lostLines.length > 1 ? 's' : ''} ${t.lostLines.join(', ')} of ${t.file} unreadable` : `compacted rows missing from ${t.file}`;
    out.push(`  ${t.table}: ${lines}, ${plural(t.kept, 'record')} kept.`);
    const reached = [...t.shapes, ...t.dependents];
    out.push(
      reached.length === 0
        ? '    No shape reads it now.'
        : `    May be wrong from here on (kept, not removed): ${t.shapes.length > 0 ? `on it ${t.shapes.join(', ')}` : ''}${t.dependents.length > 0 ? `${t.shapes.length > 0 ? '; ' : ''}depending on those ${t.dependents.join(', ')}` : ''}.`,
    );
    out.push(`    New shapes on it are refused (their snapshot could miss rows) until you accept the loss: shape-actors restore --accept-table-damage ${t.table}`);
  }
  return out.join('\n');
}
