/**
 * What the where-clause parser (parse.ts) carries while it converts libpg-query's tree: the
 * user's text and its byte offsets (for positions in messages), the dependencies found so far,
 * the nesting depth, and the small readers of libpg-query nodes every part of it uses.
 */
import type { ColumnRef, Node } from 'libpg-query';
import { definitionKey } from '../definition-key.ts';
import type { ShapeDefinition } from '../definition-key.ts';
import { ShapeDefinitionError } from '../errors.ts';
import type { ShapeDefinitionErrorCode } from '../errors.ts';
import type { ColumnExpr } from './ast.ts';

export const PREFIX = 'SELECT 1 FROM t WHERE ';
export const PREFIX_BYTES = Buffer.byteLength(PREFIX, 'utf8');
export const MAX_DEPTH = 200;

/** SelectStmt fields, in words, for error messages. */
export const CLAUSE_NAMES: Readonly<Record<string, string>> = {
  distinctClause: 'DISTINCT',
  intoClause: 'INTO',
  groupClause: 'GROUP BY',
  groupDistinct: 'GROUP BY DISTINCT',
  havingClause: 'HAVING',
  windowClause: 'WINDOW',
  valuesLists: 'VALUES',
  sortClause: 'ORDER BY',
  limitOffset: 'OFFSET',
  limitCount: 'LIMIT',
  lockingClause: 'FOR UPDATE/SHARE',
  withClause: 'WITH',
  larg: 'UNION/INTERSECT/EXCEPT',
  rarg: 'UNION/INTERSECT/EXCEPT',
  all: 'UNION/INTERSECT/EXCEPT ALL',
};
export const ALLOWED_SELECT_KEYS = new Set(['targetList', 'fromClause', 'whereClause', 'limitOption', 'op']);

/** Shortens long SQL for messages. */
export function excerpt(s: string, max = 200): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

export class Ctx {
  readonly deps: ShapeDefinition[] = [];
  private readonly depIndex = new Map<string, number>();
  depth = 0;

  constructor(
    /** The user's where text. */
    readonly where: string,
    /** UTF-8 bytes of PREFIX + where (node locations are byte offsets into it). */
    readonly bytes: Buffer,
  ) {}

  child(): Ctx {
    const c = new Ctx(this.where, this.bytes);
    c.depth = this.depth;
    return c;
  }

  addDependency(def: ShapeDefinition): number {
    const key = definitionKey(def);
    const existing = this.depIndex.get(key);
    if (existing !== undefined) return existing;
    this.deps.push(def);
    this.depIndex.set(key, this.deps.length - 1);
    return this.deps.length - 1;
  }

  /** 1-based character (code point) position in the where text of a node location (a byte offset), if known. */
  position(location: number | undefined): number | undefined {
    if (location === undefined || location < PREFIX_BYTES) return undefined;
    return Array.from(this.bytes.subarray(PREFIX_BYTES, location).toString('utf8')).length + 1;
  }

  fragment(location: number | undefined): string {
    if (location === undefined || location < PREFIX_BYTES) return this.where;
    const rest = this.bytes.subarray(location).toString('utf8');
    return rest.length <= 40 ? rest : `${rest.slice(0, 40)}...`;
  }

  fail(code: ShapeDefinitionErrorCode, problem: string, location?: number): never {
    const pos = this.position(location);
    const at = pos === undefined ? '' : ` (position ${pos})`;
    throw new ShapeDefinitionError(
      code,
      `${code}: ${problem}${at} in "${excerpt(this.where)}"`,
      this.fragment(location),
    );
  }

  unsupported(what: string, location?: number, hint?: string): never {
    return this.fail('unsupported-where', `${what} is not supported${hint === undefined ? '' : `: ${hint}`}`, location);
  }
}

/** The node's type name (`A_Expr`, `FuncCall`, ...). */
export function nodeType(node: Node): string {
  return Object.keys(node)[0] ?? 'unknown node';
}

export function nodeLocation(node: Node): number | undefined {
  const inner = Object.values(node)[0] as { location?: unknown } | undefined;
  return typeof inner?.location === 'number' && inner.location >= 0 ? inner.location : undefined;
}

export function stringValue(node: Node | undefined): string | undefined {
  return node !== undefined && 'String' in node ? node.String.sval : undefined;
}

/** The single operator name of an A_Expr / SubLink (`=`), or undefined if qualified/absent. */
export function operatorName(names: readonly Node[] | undefined): string | undefined {
  if (names === undefined || names.length !== 1) return undefined;
  return stringValue(names[0]);
}

/** A plain, unqualified column reference. */
export function convertColumnRef(ref: ColumnRef, ctx: Ctx): ColumnExpr {
  const fields = ref.fields ?? [];
  if (fields.some((f) => 'A_Star' in f)) return ctx.unsupported('`*` (A_Star)', ref.location);
  if (fields.length !== 1) {
    const text = fields.map((f) => stringValue(f) ?? '?').join('.');
    return ctx.unsupported(
      `the qualified column reference ${text} (ColumnRef)`,
      ref.location,
      "refer to the shape's columns without a qualifier",
    );
  }
  const name = stringValue(fields[0]);
  if (name === undefined) return ctx.unsupported('this column reference (ColumnRef)', ref.location);
  return { kind: 'column', name };
}
