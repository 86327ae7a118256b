/**
 * A shape definition against the database catalog, before anything is added:
 * every table it reads (its own and its subqueries', nested ones included)
 * must exist and be followable, and every column it names (selected, in a
 * where clause, in a subquery's test or selection) must be a column of that
 * table. Pure: the catalog lookup is given.
 */
import { columnNames, normalizeShape, type ShapeDefinition } from '../../shapes/definition.ts';
import { referencedColumns } from '../../shapes/where/columns.ts';
import { unfollowableReason, type TableInfo } from './catalog.ts';

/** Root and subquery tables of a definition (nested subqueries included), root first. */
export function tablesOf(definition: ShapeDefinition): string[] {
  const tables = new Set<string>();
  const visit = (def: ShapeDefinition): void => {
    const normalized = normalizeShape(def);
    tables.add(normalized.definition.table);
    for (const dep of normalized.dependencies) visit(dep);
  };
  visit(definition);
  return [...tables];
}

/**
 * Why the catalog refuses the definition (one sentence naming the table and
 * the column), or null when it can be followed. `infoOf` answers null for a
 * table that does not exist.
 */
export function definitionProblem(definition: ShapeDefinition, infoOf: (table: string) => TableInfo | null, where: string): string | null {
  const visit = (def: ShapeDefinition): string | null => {
    const normalized = normalizeShape(def);
    const { table } = normalized.definition;
    const info = infoOf(table);
    if (!info) return `table ${table} does not exist in ${where}`;
    const unfollowable = unfollowableReason(info);
    if (unfollowable) return unfollowable;
    const known = new Set(info.columns.map((c) => c.name));
    const named = [...(columnNames(normalized.definition) ?? []), ...(normalized.where ? referencedColumns(normalized.where) : [])];
    const unknown = named.find((c) => !known.has(c));
    if (unknown !== undefined) return `column ${unknown} does not exist in table ${table} (its columns: ${[...known].join(', ')})`;
    for (const dep of normalized.dependencies) {
      const problem = visit(dep);
      if (problem) return problem;
    }
    return null;
  };
  return visit(definition);
}
