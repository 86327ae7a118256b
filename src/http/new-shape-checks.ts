import type { ShapeReads } from '../runtime/index.ts';
import { columnNames, normalizeShape, tableNameOf, type ShapeDefinition } from '../shapes/definition.ts';
import { referencedColumns } from '../shapes/where/columns.ts';
import { invalidRequest } from './http-responses.ts';
import { FieldErrorList } from './shape-params.ts';

/**
 * Before a shape is created for a request: every table it reads exists and holds the columns
 * it names (checked against the database catalog when following Postgres; the embedded store
 * has no catalog), and selected columns include the primary key, as Electric requires.
 * Throws a 400 naming the parameter; nothing is created.
 */
export async function validateNewShape(reads: ShapeReads, input: Parameters<ShapeReads['handleFor']>[0]): Promise<void> {
  const errors = new FieldErrorList();
  const root = normalizeShape(input);
  const visit = async (definition: ShapeDefinition, outer: boolean): Promise<void> => {
    const shape = outer ? root : normalizeShape(definition);
    const schema = await reads.tableSchema(definition.table);
    if (!schema.exists) {
      const { schema: ns, name } = tableNameOf(definition);
      const reason = `Table "${ns}"."${name}" does not exist. If the table name contains capitals or special characters you must quote it.`;
      errors.add(outer ? 'table' : 'where', outer ? reason : `subquery: ${reason}`);
      return;
    }
    const selected = columnNames(definition);
    if (schema.source === 'catalog') {
      const names = new Set(schema.columns.map((c) => c.name));
      const missing = (selected ?? []).filter((c) => !names.has(c));
      if (missing.length > 0) errors.add(outer ? 'columns' : 'where', `${outer ? '' : `subquery on ${definition.table}: `}unknown column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
      const unknown = shape.where ? referencedColumns(shape.where).filter((c) => !names.has(c)) : [];
      if (unknown.length > 0) errors.add('where', `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in table ${definition.table}`);
    }
    if (outer && selected) {
      const keys = schema.columns.filter((c) => c.pkIndex !== undefined).sort((a, b) => a.pkIndex! - b.pkIndex!);
      const missing = keys.map((c) => c.name).filter((k) => !selected.includes(k));
      if (missing.length > 0) errors.add('columns', `The list of columns must include all primary key columns, missing: ${missing.join(', ')}`);
    }
    for (const dependency of shape.dependencies) await visit(dependency, false);
  };
  await visit(root.definition, true);
  if (errors.count > 0) throw invalidRequest(errors.errors);
}
