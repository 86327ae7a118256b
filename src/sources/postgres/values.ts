/**
 * One decoding of Postgres text values into row values, used for both the
 * replication stream and queries, so a row reads the same whichever way it
 * came (its key, its link values and its log entries are equal).
 *
 * - bool -> boolean; int2, int4, oid, float4, float8 -> number (non-finite
 *   floats stay text: JSON has no NaN); int8 -> number when it is a safe
 *   integer, else its decimal text; numeric -> its decimal text (exact);
 *   json, jsonb -> the parsed value;
 * - everything else (text, varchar, uuid, dates and times, arrays, ...) ->
 *   Postgres' text form, unchanged.
 * The where evaluator compares numbers and numeric text exactly (values.ts in
 * shapes/where), so `int8` values compare right whichever form they take.
 */
export const TYPE_OIDS = {
  bool: 16,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  numeric: 1700,
  jsonb: 3802,
} as const;

export function decodeText(typeOid: number, text: string): unknown {
  switch (typeOid) {
    case TYPE_OIDS.bool:
      return text === 't' || text === 'true';
    case TYPE_OIDS.int2:
    case TYPE_OIDS.int4:
    case TYPE_OIDS.oid:
      return Number(text);
    case TYPE_OIDS.float4:
    case TYPE_OIDS.float8: {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case TYPE_OIDS.int8: {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case TYPE_OIDS.json:
    case TYPE_OIDS.jsonb:
      return JSON.parse(text) as unknown;
    default:
      return text;
  }
}

/** `pg` type parsing with decodeText (text format; binary results are not requested). */
export const pgTypes = {
  getTypeParser: (oid: number, format?: string) => (format === 'binary' ? (value: unknown) => value : (text: string) => decodeText(oid, text)),
};

/**
 * A value as a query parameter (text; Postgres casts it to the column's type):
 * the inverse of decodeText for the values a link key can hold.
 */
export function encodeParam(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
}
