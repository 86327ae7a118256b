import type { WhereExpr } from './ast.ts';
import { childrenOf } from './ast.ts';

/**
 * Raw names of the columns of the shape's own table that a where clause reads, in order of first
 * appearance, without duplicates. For a subquery only its test columns count (the subquery's own
 * where reads the dependency's table, not ours).
 */
export function referencedColumns(expr: WhereExpr): string[] {
  const seen = new Set<string>();
  const visit = (e: WhereExpr): void => {
    if (e.kind === 'column') seen.add(e.name);
    else for (const c of childrenOf(e)) visit(c);
  };
  visit(expr);
  return [...seen];
}

/** Indices of the dependencies a where clause links to (its sublinks), in order, deduplicated. */
export function referencedDependencies(expr: WhereExpr): number[] {
  const seen = new Set<number>();
  const visit = (e: WhereExpr): void => {
    if (e.kind === 'sublink') seen.add(e.dependency);
    for (const c of childrenOf(e)) visit(c);
  };
  visit(expr);
  return [...seen];
}

/**
 * For each dependency, the distinct test column lists that link to it: `a IN (SELECT x ...) OR
 * b IN (SELECT x ...)` links columns [a] and [b] to the same dependency. A move-in or move-out of
 * a value affects the rows whose test columns hold it.
 */
export function sublinkTestColumns(expr: WhereExpr): Map<number, string[][]> {
  const out = new Map<number, string[][]>();
  const visit = (e: WhereExpr): void => {
    if (e.kind === 'sublink') {
      const columns = e.test.map((c) => c.name);
      const lists = out.get(e.dependency) ?? [];
      if (!lists.some((l) => l.length === columns.length && l.every((c, i) => c === columns[i]))) lists.push(columns);
      out.set(e.dependency, lists);
    }
    for (const c of childrenOf(e)) visit(c);
  };
  visit(expr);
  return out;
}

/**
 * Dependencies whose sublinks sit where UNKNOWN and FALSE differ for the row's verdict (under
 * NOT, IS [NOT] TRUE/FALSE/UNKNOWN, a comparison, ...: anywhere but AND/OR chains from the top).
 * For those, a subquery gaining its first NULL, or becoming empty, can change every row's verdict.
 */
export function nullSensitiveDependencies(expr: WhereExpr): Set<number> {
  const out = new Set<number>();
  const visit = (e: WhereExpr, positive: boolean): void => {
    if (e.kind === 'sublink' && !positive) out.add(e.dependency);
    const stays = positive && (e.kind === 'and' || e.kind === 'or');
    for (const c of childrenOf(e)) visit(c, stays);
  };
  visit(expr, true);
  return out;
}
