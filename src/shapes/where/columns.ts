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
