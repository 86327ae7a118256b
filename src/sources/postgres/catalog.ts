import type pg from 'pg';
import { parseTableName, printTableName } from '../../shapes/identifiers.ts';
import type { ColumnType, TableColumnTypes } from '../../shapes/column-types.ts';

/** A column as the catalog (and a relation message) describes it. */
export interface ColumnInfo {
  readonly name: string;
  readonly typeOid: number;
  readonly typeMod: number;
}

/** What the source knows of a table: identity, key, columns. */
export interface TableInfo {
  /** Normalized name (`public.users`). */
  readonly table: string;
  readonly oid: number;
  /** `d` default (primary key), `i` index, `f` full, `n` nothing. */
  readonly replicaIdentity: 'd' | 'i' | 'f' | 'n';
  /** The columns that identify a row (the primary key); empty when none. */
  readonly keyColumns: readonly string[];
  readonly columns: readonly ColumnInfo[];
  /** SQL type per column (`integer`, `character varying(20)`): casts for move-in parameters. */
  readonly columnTypes: Readonly<Record<string, string>>;
  /** The columns' types as where clauses judge them (and as `electric-schema` describes them). */
  readonly types: TableColumnTypes;
}

export interface ServerInfo {
  readonly version: number;
  readonly walLevel: string;
  readonly role: string;
  readonly superuser: boolean;
  readonly replication: boolean;
  readonly database: string;
  readonly canCreate: boolean;
}

type Queryable = Pick<pg.ClientBase, 'query'> | Pick<pg.Pool, 'query'>;

export async function serverInfo(db: Queryable): Promise<ServerInfo> {
  const { rows } = await db.query<{ version: number; wal_level: string; role: string; rolsuper: boolean; rolreplication: boolean; database: string; can_create: boolean }>(
    `SELECT current_setting('server_version_num')::int AS version, current_setting('wal_level') AS wal_level,
            current_user AS role, r.rolsuper, r.rolreplication, current_database() AS database,
            has_database_privilege(current_database(), 'CREATE') AS can_create
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const row = rows[0]!;
  return {
    version: row.version,
    walLevel: row.wal_level,
    role: row.role,
    superuser: row.rolsuper,
    replication: row.rolreplication,
    database: row.database,
    canCreate: row.can_create,
  };
}

const TABLE_INFO_SQL = `
  SELECT n.nspname AS schema, c.relname AS name, c.oid::int8 AS oid, c.relreplident AS replident,
         (SELECT to_json(array_agg(a.attname::text ORDER BY k.ord))
            FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE i.indrelid = c.oid AND i.indisprimary) AS pk,
         (SELECT json_agg(json_build_object('name', a.attname, 'typeOid', a.atttypid::int8, 'typeMod', a.atttypmod,
                                            'type', format_type(a.atttypid, a.atttypmod),
                                            'typname', CASE WHEN t.typcategory = 'A' THEN et.typname ELSE t.typname END,
                                            'array', t.typcategory = 'A', 'dims', a.attndims, 'notNull', a.attnotnull,
                                            'base', CASE WHEN t.typtype = 'd' THEN bt.typname END,
                                            'collation', co.collname, 'collationDeterministic', co.collisdeterministic,
                                            'codePointOrder', co.collprovider = 'b' OR (co.collprovider = 'c' AND co.collcollate IN ('C', 'POSIX'))
                                              OR (co.oid = 100 AND (SELECT coalesce(to_jsonb(d) ->> 'datlocprovider', 'c') = 'c' AND d.datcollate IN ('C', 'POSIX')
                                                                      FROM pg_database d WHERE d.datname = current_database())))
                          ORDER BY a.attnum)
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
            LEFT JOIN pg_type bt ON bt.oid = t.typbasetype AND t.typtype = 'd'
            LEFT JOIN pg_collation co ON co.oid = a.attcollation
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace`;

interface TableInfoRow {
  schema: string;
  name: string;
  oid: number | string;
  replident: string;
  pk: string[] | null;
  columns: CatalogColumn[] | null;
}

interface CatalogColumn {
  name: string;
  typeOid: number;
  typeMod: number;
  type: string;
  typname: string;
  array: boolean;
  dims: number;
  notNull: boolean;
  base: string | null;
  collation: string | null;
  collationDeterministic: boolean | null;
  codePointOrder: boolean | null;
}

/** A catalog column as a ColumnType (type modifiers decoded as format_type does). */
function columnTypeOf(c: CatalogColumn): ColumnType {
  const mod = Number(c.typeMod) - 4;
  const modifiers: { -readonly [K in 'maxLength' | 'length' | 'precision' | 'scale']?: number } = {};
  if (mod >= 0 && !c.array) {
    if (c.typname === 'varchar') modifiers.maxLength = mod;
    else if (c.typname === 'bpchar') modifiers.length = mod;
    else if (c.typname === 'numeric') {
      modifiers.precision = (mod >> 16) & 0xffff;
      modifiers.scale = mod & 0xffff;
    }
  }
  return {
    type: c.typname,
    ...(c.base ? { base: c.base } : {}),
    ...(c.array ? { dims: Math.max(1, Number(c.dims)) } : {}),
    ...(c.notNull ? { notNull: true } : {}),
    ...modifiers,
    ...(c.collation && !c.codePointOrder ? { collation: { name: c.collation, deterministic: c.collationDeterministic !== false } } : {}),
  };
}

function toTableInfo(row: TableInfoRow): TableInfo {
  const replicaIdentity = (['d', 'i', 'f', 'n'].includes(row.replident) ? row.replident : 'n') as TableInfo['replicaIdentity'];
  // The source follows every table with REPLICA IDENTITY FULL: a row is identified by its primary key.
  const keyColumns = row.pk ?? [];
  const columns = row.columns ?? [];
  return {
    table: printTableName({ schema: row.schema, name: row.name }),
    oid: Number(row.oid),
    replicaIdentity,
    keyColumns,
    columns: columns.map((c) => ({ name: c.name, typeOid: Number(c.typeOid), typeMod: Number(c.typeMod) })),
    columnTypes: Object.fromEntries(columns.map((c) => [c.name, c.type])),
    types: Object.fromEntries(columns.map((c) => [c.name, columnTypeOf(c)])),
  };
}

/** One table by normalized name, or null when it does not exist. */
export async function tableInfo(db: Queryable, table: string): Promise<TableInfo | null> {
  const { schema, name } = parseTableName(table);
  const { rows } = await db.query<TableInfoRow>(`${TABLE_INFO_SQL} WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, [schema, name]);
  return rows[0] ? toTableInfo(rows[0]) : null;
}

/** Every user table of the database (the key columns the runtime is created with). */
export async function allTables(db: Queryable): Promise<TableInfo[]> {
  const { rows } = await db.query<TableInfoRow>(
    `${TABLE_INFO_SQL} WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`,
  );
  return rows.map(toTableInfo);
}

/** Why a table cannot be followed, or null when it can. */
export function unfollowableReason(info: TableInfo): string | null {
  if (info.keyColumns.length === 0) {
    return `table ${info.table} has no primary key: its rows cannot be identified`;
  }
  return null;
}

/** What the source knows of the database's tables: read once at connect, refreshed where it matters. */
export class Catalog {
  constructor(
    private readonly db: Queryable,
    private readonly known: Map<string, TableInfo>,
  ) {}

  /** The table as last read (null when it did not exist then). */
  get(table: string): TableInfo | null {
    return this.known.get(table) ?? null;
  }

  /** The table as it is now (null when it does not exist); remembered. */
  async refresh(table: string): Promise<TableInfo | null> {
    const info = await tableInfo(this.db, table);
    if (info) this.known.set(table, info);
    else this.known.delete(table);
    return info;
  }

  /** The table as last read, or read now when it was not known. */
  async lookup(table: string): Promise<TableInfo | null> {
    return this.known.get(table) ?? (await this.refresh(table));
  }

  tables(): IterableIterator<TableInfo> {
    return this.known.values();
  }
}
