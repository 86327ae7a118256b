import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliCommand, CommandContext } from '../command.ts';
import { ExitCode } from '../errors.ts';
import { damagedTablesText, plural, removedShapesTable, restoreReportJson, table, type JsonValue } from '../format.ts';
import { requireExistingDataDir, runtimeOptions } from '../open-runtime.ts';
import type { RestoreReport } from '../../machines/runtime.types.ts';
import { FOREIGN_LOCK_STALE_MS, readLockState } from '../../storage/data-dir-lock.ts';
import { dataDirLayout, isLayoutEntry } from '../../storage/data-dir-layout.ts';
import type { PreparedBatch } from '../../storage/storage.ts';

/** A finding outside the restore report: the journal, the lock, files restore does not look at. */
interface Note {
  readonly file: string;
  readonly finding: string;
  /** What the next restore does about it. */
  readonly restore: string;
}

interface Diagnosis {
  readonly dataDir: string;
  readonly report: RestoreReport;
  readonly inDoubt: PreparedBatch | null;
  readonly notes: readonly Note[];
}

/**
 * `doctor`: what restoring this data dir would do, without doing it. The
 * prediction is the restore machine itself run as a dry run (`planRestore`:
 * both load paths, `validatingDependencies`, the same plan), on a store opened
 * without taking the data dir lock, so not one byte in the data dir changes.
 * Added to it: a transaction batch left in doubt in the journal (restore
 * undoes and redoes it), the lock's owner, and unknown files.
 */
export const doctorCommand: CliCommand = {
  name: 'doctor',
  summary: 'check a data dir without changing it: what restore would remove and why (exit 3 if it would remove shapes, 4 if a row-store table lost records)',
  examples: ['shape-actors doctor --data-dir ./data', 'shape-actors doctor --data-dir ./data --json || echo "not healthy: restore would remove shapes (exit 3) or records were lost (exit 4): $?"'],
  commonOptions: ['dataDir', 'json', 'logLevel', 'policy', 'inspect', 'inspectWait', 'trace'],
  configure: (command) => command,
  async run(_options, context) {
    const diagnosis = await diagnose(context);
    return { json: diagnosisJson(diagnosis), text: diagnosisText(diagnosis), exitCode: exitCodeOf(diagnosis.report) };
  },
};

/** 3 when restore would remove shapes; else 4 when a row-store table lost records (restore keeps the rest, but it is data gone); else 0. */
function exitCodeOf(report: RestoreReport): ExitCode {
  if (report.removed.length > 0) return ExitCode.wouldRemove;
  return report.damagedTables.length > 0 ? ExitCode.recordsLost : ExitCode.ok;
}

async function diagnose(context: CommandContext): Promise<Diagnosis> {
  const dataDir = context.common.dataDir;
  const [{ openFileStorage }, { planRestore }] = await Promise.all([import('../../storage/file-store.ts'), import('../../runtime/index.ts')]);
  await requireExistingDataDir(dataDir);
  // No lock: taking it would write (and delete) a file; doctor reads only.
  const storage = await openFileStorage(dataDir, { create: false, lock: false });
  const { dataDir: _dir, createDataDir: _create, ...options } = runtimeOptions(context);
  const report = await planRestore({ ...options, storage });
  const inDoubt = await storage.readInDoubtBatch();
  const notes = [...(await lockNotes(dataDir)), ...(await unknownEntries(dataDir)), ...(await setAsideBackups(dataDir))];
  context.logger.debug({ dataDir, mode: report.mode, wouldRemove: report.removed.length, inDoubt: inDoubt !== null }, 'doctor: diagnosis');
  return { dataDir, report, inDoubt, notes };
}

async function lockNotes(dataDir: string): Promise<Note[]> {
  const file = dataDirLayout(dataDir).lock;
  const lock = await readLockState(dataDir);
  switch (lock.kind) {
    case 'none':
      return [];
    case 'unreadable':
      return [{ file, finding: 'lock file unreadable (torn by a crash)', restore: 'takes the lock over' }];
    case 'live':
      return [{ file, finding: `in use by process ${lock.owner.pid} on ${lock.owner.hostname} (since ${lock.owner.acquiredAt}): this diagnosis is of a live data dir`, restore: 'refused until that process stops' }];
    case 'stale':
      return [{ file, finding: `left by process ${lock.owner.pid}, which is gone (a crash)`, restore: 'takes the lock over' }];
    case 'foreign': {
      const ago = Math.round(lock.refreshedMsAgo / 1000);
      const finding = `held by process ${lock.owner.pid} on another host, ${lock.owner.hostname} (since ${lock.owner.acquiredAt}, refreshed ${ago} s ago), which cannot be checked from here`;
      const restore =
        lock.refreshedMsAgo < FOREIGN_LOCK_STALE_MS
          ? `refused: the lock is being refreshed, so its process runs`
          : `refused; with --force-unlock takes the lock over (only if nothing on ${lock.owner.hostname} uses the data dir)`;
      return [{ file, finding, restore }];
    }
  }
}

async function unknownEntries(dataDir: string): Promise<Note[]> {
  const entries = await readdir(dataDir);
  return entries
    .filter((name) => !isLayoutEntry(name))
    .sort()
    .map((name) => ({ file: join(dataDir, name), finding: 'not part of the data dir layout', restore: 'leaves it alone' }));
}

async function setAsideBackups(dataDir: string): Promise<Note[]> {
  let entries: string[];
  try {
    entries = await readdir(dataDirLayout(dataDir).backupDir);
  } catch {
    return [];
  }
  return entries
    .filter((name) => name.startsWith('registry.unusable-'))
    .sort()
    .map((name) => ({ file: join(dataDirLayout(dataDir).backupDir, name), finding: 'an unusable backup an earlier restore set aside', restore: 'ignores it (kept for people to look at)' }));
}

function inDoubtText(batch: PreparedBatch): string {
  const were = batch.transactions.length === 1 ? 'was' : 'were';
  return `${plural(batch.transactions.length, 'transaction')} after position ${batch.position} ${were} interrupted mid-write on ${plural(batch.handles.length, 'shape')}: restore cuts those logs back to position ${batch.position} and applies the batch again`;
}

function diagnosisJson(d: Diagnosis): JsonValue {
  return {
    dataDir: d.dataDir,
    readOnly: true,
    healthy: exitCodeOf(d.report) === ExitCode.ok,
    wouldRemove: d.report.removed.length,
    exitCode: exitCodeOf(d.report),
    restore: restoreReportJson(d.report),
    inDoubtBatch: d.inDoubt ? { position: d.inDoubt.position, transactions: d.inDoubt.transactions.length, handles: [...d.inDoubt.handles] } : null,
    notes: d.notes.map((n) => ({ file: n.file, finding: n.finding, restore: n.restore })),
  };
}

function diagnosisText(d: Diagnosis): string {
  const { report } = d;
  const out: string[] = [`Doctor: ${d.dataDir} (read only: nothing was changed)`];
  const source = report.mode === 'backup' ? 'the backup' : 'a storage scan';
  out.push(`Restore would load from ${source} (policy ${report.policy}): keep ${plural(report.loaded.length, 'shape')}, remove ${report.removed.length}.`);
  if (report.fallbackReason !== null) out.push(`Backup not used: ${report.fallbackReason}.`);
  if (report.removed.length > 0) out.push('', 'Restore would remove, before spawning anything:', removedShapesTable(report));
  if (report.damagedTables.length > 0) out.push('', damagedTablesText(report.damagedTables));
  const repairs = report.problems.filter((p) => p.action !== 'removed');
  if (report.problems.length > 0) {
    out.push('', 'Found on disk:', table(['FILE', 'FINDING', 'RESTORE'], report.problems.map((p) => [p.file, p.reason, p.action])));
  }
  if (d.inDoubt) out.push('', `Journal: ${inDoubtText(d.inDoubt)}.`);
  if (d.notes.length > 0) out.push('', 'Also:', table(['FILE', 'FINDING', 'RESTORE'], d.notes.map((n) => [n.file, n.finding, n.restore])));
  out.push('');
  if (report.removed.length > 0) {
    out.push(`Verdict: restore would remove ${plural(report.removed.length, 'shape')} (exit ${ExitCode.wouldRemove}). Clients of those shapes re-sync; every other shape keeps its log.`);
  } else {
    const extra = repairs.length > 0 || d.inDoubt ? ' (it would repair what is listed above)' : '';
    out.push(`Verdict: restore would remove nothing${extra}${report.damagedTables.length > 0 ? '' : ' (exit 0)'}.`);
  }
  if (report.damagedTables.length > 0) {
    const exit = report.removed.length > 0 ? '' : ` (exit ${ExitCode.recordsLost})`;
    out.push(`Not healthy${exit}: ${plural(report.damagedTables.length, 'row-store table')} lost records (${report.damagedTables.map((t) => t.table).join(', ')}): restore keeps every valid record and refuses new shapes on them until the loss is accepted.`);
  }
  return out.join('\n');
}
