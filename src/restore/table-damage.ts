import type { TableDamage } from '../storage/rows/row-store.ts';
import type { StoredShape } from '../storage/storage.ts';
import type { RestoreProblem } from './load-result.ts';

/**
 * A row-store table that lost records, and what follows from it: which kept
 * shapes can no longer be trusted, and what the runtime does about it.
 */
export interface DamagedTable {
  readonly table: string;
  readonly file: string;
  /** Lines of its log that could not be read (the lost records). */
  readonly lostLines: readonly number[];
  /** Valid records kept (none cut away). */
  readonly kept: number;
  /**
   * Kept shapes on the table: their logs are kept as they are, but changes from here on are judged
   * against the rows kept, so a row a lost record touched may come out wrong.
   */
  readonly shapes: readonly string[];
  /** Kept shapes that depend on those, transitively: their subquery values come from them. */
  readonly dependents: readonly string[];
  /** What the runtime does: without a database, refuse snapshots from the table until the damage is acknowledged. */
  readonly snapshots: 'refused';
}

/** Each damaged table with the kept shapes it reaches (on it, then depending on those). */
export function damagedTables(damage: readonly TableDamage[], kept: readonly Pick<StoredShape, 'handle' | 'definition' | 'dependencyHandles'>[]): DamagedTable[] {
  if (damage.length === 0) return [];
  const dependentsOf = new Map<string, string[]>();
  for (const s of kept) {
    for (const d of s.dependencyHandles) {
      const list = dependentsOf.get(d);
      if (list) list.push(s.handle);
      else dependentsOf.set(d, [s.handle]);
    }
  }
  return damage.map((d) => {
    const shapes = kept.filter((s) => s.definition.table === d.table).map((s) => s.handle);
    const reached = new Set(shapes);
    const dependents: string[] = [];
    const queue = [...shapes];
    while (queue.length > 0) {
      for (const dependent of dependentsOf.get(queue.pop()!) ?? []) {
        if (reached.has(dependent)) continue;
        reached.add(dependent);
        dependents.push(dependent);
        queue.push(dependent);
      }
    }
    return { table: d.table, file: d.file, lostLines: d.lines.map((l) => l.line), kept: d.kept, shapes, dependents, snapshots: 'refused' };
  });
}

/** One problem per shape a damaged table reaches, naming it (the table's own problem names the file). */
export function damagedTableProblems(tables: readonly DamagedTable[]): RestoreProblem[] {
  return tables.flatMap((t) => [
    ...t.shapes.map((handle): RestoreProblem => ({
      handle,
      file: t.file,
      reason: `its table ${t.table} lost records in the row store: its log is kept, but changes from here on are judged against the rows kept, so a row a lost record touched may come out wrong`,
      action: 'kept',
    })),
    ...t.dependents.map((handle): RestoreProblem => ({
      handle,
      file: t.file,
      reason: `depends on a shape of ${t.table}, whose row store lost records: its subquery values may be wrong from here on`,
      action: 'kept',
    })),
  ]);
}
