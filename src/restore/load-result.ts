import type { Removal } from '../graph/removal.ts';
import type { ShapeRecord } from '../registry/shape-record.ts';
import type { StrayEntry } from '../storage/storage.ts';
import type { ShapeFileCheck } from './check-shape-files.ts';

export type LoadMode = 'backup' | 'storage';

/** Something restore found on disk that was not as it should be, and what it did about it. */
export interface RestoreProblem {
  readonly handle: string | null;
  readonly file: string;
  readonly reason: string;
  /** `removed`: the shape goes; `kept`: noted, nothing lost; `cleaned`: leftover of a crash, removed. */
  readonly action: 'removed' | 'kept' | 'cleaned' | 'repaired';
}

/** What a load path hands to `validatingDependencies`. */
export interface LoadResult {
  readonly mode: LoadMode;
  /** Why the backup was not used (null when it was, or when there was none to use). */
  readonly fallbackReason: string | null;
  readonly records: readonly ShapeRecord[];
  /** Shapes whose log ends in a torn line (an interrupted append): repaired when the restore commits. */
  readonly tornLogs: readonly string[];
  /** Shapes already known to go: no storage, corrupt definition. */
  readonly removedWhileLoading: readonly Removal[];
  readonly problems: readonly RestoreProblem[];
  /** Leftovers of interrupted creates and deletes under shapes/. */
  readonly strays: readonly StrayEntry[];
  /** Position the backup recorded (null without a backup). */
  readonly position: string | null;
  /**
   * Table of each shape the load knows of but no longer holds as a record (named only by the
   * backup; removed early for damaged files), for reports: a record's own table is its definition's.
   */
  readonly tables: Readonly<Record<string, string>>;
  /** Some records share a definition (the plan keeps one of each by the fixed rule); false: every definition is stored once. */
  readonly definitionsShared: boolean;
  /** Shapes whose own files (definition, log) restore read and checked: the check after restore skips them. */
  readonly checked: readonly string[];
  /** The metadata log is to be rewritten when the restore commits (it lacked shapes, named deleted ones, was damaged). */
  readonly rewriteMetadata: boolean;
  /**
   * Only when everything was read (the dry run, doctor): damage in the files a restore takes on
   * trust, which the check after restore will find; the dry run carries it out on its plan.
   */
  readonly laterFindings: readonly ShapeFileCheck[];
}
