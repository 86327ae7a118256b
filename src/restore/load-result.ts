import type { Removal } from '../graph/removal.ts';
import type { ShapeRecord } from '../registry/shape-record.ts';
import type { StrayEntry } from '../storage/storage.ts';

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
  /** Table of every shape whose definition is known (read from storage, else named by the backup), for reports. */
  readonly tables: Readonly<Record<string, string>>;
}
