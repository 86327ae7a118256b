/**
 * SQL identifiers, the Postgres way, without the WASM parser (pure and synchronous):
 *
 * - unquoted identifiers are case-folded (ASCII `A-Z` only, as Postgres does for UTF-8);
 * - quoted identifiers (`"My Table"`, `""` escapes a quote) keep their exact spelling;
 * - printing quotes a name only when required, following Postgres's `quote_ident`: the name is
 *   not `[a-z_][a-z0-9_]*`, or it is a keyword other than an unreserved one.
 *
 * Throughout `src/shapes/`, a *name* is the raw identifier (what Postgres stores in the catalog,
 * what a row's column key is), and a *printed identifier* is its canonical SQL spelling.
 */
import { COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS } from './keywords.ts';

/** Postgres truncates identifiers to NAMEDATALEN - 1 bytes; we reject longer ones instead. */
export const MAX_IDENTIFIER_BYTES = 63;

const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** True when `name` must be double-quoted to be read back as itself. */
export function identifierNeedsQuoting(name: string): boolean {
  return (
    !SAFE_IDENTIFIER.test(name) ||
    RESERVED_KEYWORDS.has(name) ||
    TYPE_FUNC_NAME_KEYWORDS.has(name) ||
    COL_NAME_KEYWORDS.has(name)
  );
}

/** Canonical SQL spelling of a raw name: bare when possible, else `"..."` with `""` doubling. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0) throw new Error('cannot print an empty identifier');
  if (name.includes('\u0000')) throw new Error('an identifier cannot contain a NUL character');
  return identifierNeedsQuoting(name) ? `"${name.replaceAll('"', '""')}"` : name;
}

/** A keyword that cannot be used unquoted as a (first-position) name, i.e. not a Postgres ColId. */
function isReservedForNames(folded: string): boolean {
  return RESERVED_KEYWORDS.has(folded) || TYPE_FUNC_NAME_KEYWORDS.has(folded);
}

export interface IdentifierPart {
  /** The raw name (case-folded when unquoted). */
  readonly name: string;
  readonly quoted: boolean;
}

/** Thrown by the tokenizer below; callers turn it into a ShapeDefinitionError with their code. */
export class IdentifierSyntaxError extends Error {
  override readonly name = 'IdentifierSyntaxError';
}

const isWhitespace = (ch: string): boolean =>
  ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f';
const isIdentStart = (ch: string): boolean =>
  (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_' || ch.charCodeAt(0) >= 0x80;
const isIdentCont = (ch: string): boolean => isIdentStart(ch) || (ch >= '0' && ch <= '9') || ch === '$';

const toLowerCase = (m: string): string => m.toLowerCase();

function foldAscii(s: string): string {
  return s.replace(/[A-Z]+/g, toLowerCase);
}

/** The index of the first non-whitespace character at or after `i`. (Not a closure: see printWhere.) */
function skipWhitespace(text: string, i: number): number {
  while (i < text.length && isWhitespace(text[i]!)) i++;
  return i;
}

/**
 * Tokenizes a dotted identifier chain (`schema.table`, `"My Schema"."T"`, `col`), allowing
 * whitespace around the dots. Each unquoted part is case-folded. Throws IdentifierSyntaxError on
 * anything else (empty input, a trailing dot, `;`, spaces inside an unquoted name, ...).
 */
export function parseIdentifierChain(text: string): IdentifierPart[] {
  const parts: IdentifierPart[] = [];
  const n = text.length;
  let i = 0;
  i = skipWhitespace(text, i);
  if (i === n) throw new IdentifierSyntaxError('empty name');
  for (;;) {
    i = skipWhitespace(text, i);
    if (i === n) throw new IdentifierSyntaxError(`missing name after "." in "${text}"`);
    const ch = text[i]!;
    let part: IdentifierPart;
    if (ch === '"') {
      let name = '';
      i++;
      for (;;) {
        if (i >= n) throw new IdentifierSyntaxError(`unterminated quoted identifier in "${text}"`);
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') {
            name += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        name += c;
        i++;
      }
      if (name.length === 0) throw new IdentifierSyntaxError(`zero-length quoted identifier in "${text}"`);
      part = { name, quoted: true };
    } else if (isIdentStart(ch)) {
      const start = i;
      while (i < n && isIdentCont(text[i]!)) i++;
      part = { name: foldAscii(text.slice(start, i)), quoted: false };
    } else {
      throw new IdentifierSyntaxError(`unexpected character ${JSON.stringify(ch)} at position ${i + 1} in "${text}"`);
    }
    if (part.name.includes('\u0000')) throw new IdentifierSyntaxError('an identifier cannot contain a NUL character');
    if (Buffer.byteLength(part.name, 'utf8') > MAX_IDENTIFIER_BYTES) {
      throw new IdentifierSyntaxError(
        `identifier "${part.name}" is longer than ${MAX_IDENTIFIER_BYTES} bytes (Postgres would truncate it)`,
      );
    }
    parts.push(part);
    i = skipWhitespace(text, i);
    if (i === n) return parts;
    if (text[i] !== '.') {
      throw new IdentifierSyntaxError(
        `unexpected character ${JSON.stringify(text[i])} at position ${i + 1} in "${text}"`,
      );
    }
    i++;
  }
}

export interface TableName {
  readonly schema: string;
  readonly name: string;
}

/**
 * Parses `table` or `schema.table` (Postgres syntax, case folding, quoting). A bare name gets the
 * `public` schema. Throws IdentifierSyntaxError for anything else (including `a.b.c`).
 */
export function parseTableName(text: string): TableName {
  const parts = parseIdentifierChain(text);
  if (parts.length > 2) {
    throw new IdentifierSyntaxError(
      `"${text}" has ${parts.length} parts; expected "table" or "schema.table" (catalog-qualified names are not supported)`,
    );
  }
  const first = parts[0]!;
  if (!first.quoted && isReservedForNames(first.name)) {
    throw new IdentifierSyntaxError(`"${first.name}" is a reserved keyword; quote it ("\\"${first.name}\\"") to use it as a name`);
  }
  if (parts.length === 1) return { schema: 'public', name: first.name };
  return { schema: first.name, name: parts[1]!.name };
}

/** Canonical printed form `schema.table` (each part quoted only if required). */
export function printTableName(table: TableName): string {
  return `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;
}

/** Parses one column identifier (`id`, `"userId"`) to its raw name. */
export function parseColumnName(text: string): string {
  const parts = parseIdentifierChain(text);
  if (parts.length !== 1) {
    throw new IdentifierSyntaxError(`"${text}" is not a single column name (qualified names are not allowed)`);
  }
  const part = parts[0]!;
  if (!part.quoted && isReservedForNames(part.name)) {
    throw new IdentifierSyntaxError(`"${part.name}" is a reserved keyword; quote it ("\\"${part.name}\\"") to use it as a column name`);
  }
  return part.name;
}
