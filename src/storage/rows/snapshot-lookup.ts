import type { EqualityKey } from '../../shapes/where-index/equality-keys.ts';
import { planRoutes } from '../../shapes/where-index/routes.ts';
import type { RowSelection } from './row-store.ts';
import { NULL_KEY, type IndexSpec } from './table-rows.ts';

/** Rows filed under one of `keys` in an index of the table. */
export interface Lookup {
  readonly index: IndexSpec;
  readonly keys: readonly EqualityKey[];
}

/**
 * The index lookups whose rows include every row a shape's where clause can
 * match, or null when no condition narrows it (every row is a candidate). The
 * where-clause index's routes decide (equality, IN, IS NULL, bare booleans,
 * subqueries by their current values; AND through its most selective side, OR
 * branch by branch), so a snapshot reads what routing would send the shape.
 * The caller still judges every row.
 */
export function snapshotLookups(selection: RowSelection): Lookup[] | null {
  if (!selection.where) return null;
  const plan = planRoutes(selection.where);
  if (plan.kind === 'linear') return null;
  const lookups: Lookup[] = [];
  for (const route of plan.routes) {
    if (route.kind === 'value') lookups.push({ index: { kind: 'value', column: route.column }, keys: route.keys });
    else if (route.kind === 'null') lookups.push({ index: { kind: 'value', column: route.column }, keys: [NULL_KEY] });
    else {
      const values = selection.dependencies[route.dependency];
      if (!values) return null;
      lookups.push({ index: { kind: 'link', columns: route.columns }, keys: [...values.values()] });
    }
  }
  return lookups;
}
