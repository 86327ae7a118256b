import type pg from 'pg';
import type { ShapeColumn, TableCatalog } from '../../runtime/index.ts';
import { parseTableName } from '../../shapes/identifiers.ts';

const COLUMNS_SQL = `
  SELECT (SELECT json_agg(json_build_object(
                 'name', a.attname,
                 'type', CASE WHEN t.typcategory = 'A' THEN e.typname ELSE t.typname END,
                 'dims', CASE WHEN t.typcategory = 'A' THEN GREATEST(a.attndims, 1) ELSE 0 END,
                 'notNull', a.attnotnull,
                 'pkIndex', (SELECT k.ord - 1 FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                              WHERE i.indrelid = c.oid AND i.indisprimary AND k.attnum = a.attnum)) ORDER BY a.attnum)
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_type e ON e.oid = t.typelem
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`;

/**
 * Column types from the database's catalog, for the shapes' `electric-schema`: the type's
 * name (an array's element type, with `dims`; a domain's or an enum's own name), as Electric
 * reports it.
 */
export function postgresCatalog(db: Pick<pg.Pool, 'query'>): TableCatalog {
  return {
    async columnsOf(table) {
      const { schema, name } = parseTableName(table);
      const { rows } = await db.query<{ columns: { name: string; type: string; dims: number; notNull: boolean; pkIndex: number | null }[] | null }>(COLUMNS_SQL, [schema, name]);
      if (rows.length === 0) return null;
      return (rows[0]!.columns ?? []).map(
        (c): ShapeColumn => ({
          name: c.name,
          type: c.type,
          ...(c.dims > 0 ? { dims: c.dims } : {}),
          ...(c.pkIndex !== null ? { pkIndex: Number(c.pkIndex) } : {}),
          ...(c.notNull ? { notNull: true } : {}),
        }),
      );
    },
  };
}
