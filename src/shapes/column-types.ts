/**
 * Column types: a table's columns with their Postgres types. Where clauses
 * are judged by them (a numeric held as text compares as a number, `'07'`
 * and `'7'` in a text column are two values), and a host serving shapes
 * describes its columns with them (Electric's `electric-schema`).
 *
 * They come from the database catalog when the runtime follows Postgres;
 * on the embedded store they are declared (`columnTypes` when the runtime
 * is created, recorded with the table's key columns). A declared table lists
 * all its columns. A table without declared types is judged by each value's
 * JSON type (see the README: numbers are `numeric`, strings `text`, booleans
 * `bool`).
 */

/** One column's type, as the catalog describes it. */
export interface ColumnType {
  /**
   * The type's name as Postgres' catalog spells it (`pg_type.typname`): `int4`, `numeric`, `text`,
   * `varchar`, `bool`, `timestamptz`, an enum's or a domain's name; for an array, its element type.
   */
  readonly type: string;
  /** For a domain: the built-in type it is over (`int4` for `CREATE DOMAIN age AS int4`). */
  readonly base?: string;
  /** Array dimensions (absent: not an array). */
  readonly dims?: number;
  readonly notNull?: boolean;
  /** `varchar(n)`: n. */
  readonly maxLength?: number;
  /** `char(n)`, `bit(n)`: n. */
  readonly length?: number;
  /** `numeric(p, s)`: p and s. */
  readonly precision?: number;
  readonly scale?: number;
  /**
   * A text column's collation when it does not order by code point (absent: `C`, `POSIX` or
   * `ucs_basic`, which order text by code point as the evaluator does).
   */
  readonly collation?: { readonly name: string; readonly deterministic: boolean };
}

/** A table's columns by raw name. */
export type TableColumnTypes = Readonly<Record<string, ColumnType>>;

/** Column types of a table (schema-qualified name), or undefined when none are known. */
export type ColumnTypesOf = (table: string) => TableColumnTypes | undefined;

/** SQL spellings and their catalog names (`integer` is `int4`). */
const ALIASES: Readonly<Record<string, string>> = {
  smallint: 'int2',
  integer: 'int4',
  int: 'int4',
  bigint: 'int8',
  decimal: 'numeric',
  real: 'float4',
  'double precision': 'float8',
  float: 'float8',
  boolean: 'bool',
  'character varying': 'varchar',
  character: 'bpchar',
  char: 'bpchar',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time',
};

/**
 * A declared type (`numeric`, `int4`, `double precision`, `varchar(20)`, `numeric(10,2)`, `text[]`)
 * as a ColumnType; a ColumnType is returned as it is.
 */
export function columnType(declared: string | ColumnType): ColumnType {
  if (typeof declared !== 'string') return declared;
  let text = declared.trim().toLowerCase().replace(/\s+/g, ' ');
  let dims = 0;
  while (text.endsWith('[]')) {
    dims++;
    text = text.slice(0, -2).trim();
  }
  const modifiers = /^(.*?)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$/.exec(text);
  if (modifiers) text = modifiers[1]!;
  const type = ALIASES[text] ?? text;
  const out: { -readonly [K in keyof ColumnType]: ColumnType[K] } = { type };
  if (dims > 0) out.dims = dims;
  if (modifiers) {
    const first = Number(modifiers[2]);
    if (type === 'numeric') {
      out.precision = first;
      if (modifiers[3] !== undefined) out.scale = Number(modifiers[3]);
    } else if (type === 'varchar') out.maxLength = first;
    else out.length = first;
  }
  return out;
}

/** Declared types of a table (`{ n: 'numeric', id: 'int4' }`) as TableColumnTypes. */
export function tableColumnTypes(declared: Readonly<Record<string, string | ColumnType>>): TableColumnTypes {
  return Object.fromEntries(Object.entries(declared).map(([name, t]) => [name, columnType(t)]));
}
