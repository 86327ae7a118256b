import type { ShapeDefinition } from '../shapes/definition.ts';
import type { WhereExpr } from '../shapes/where/ast.ts';
import { SharedWhereNodes } from '../shapes/where/shared-nodes.ts';
import type { StoredShape } from '../storage/storage.ts';

const NO_HANDLES: readonly string[] = Object.freeze([]);
const NO_DEFINITIONS: readonly ShapeDefinition[] = Object.freeze([]);

/**
 * What the records of one restore can share, decoded once per shape from the metadata log:
 * table names, where texts, the parsed where clause of each where text (the parser of one
 * AST version gives one expression per text, and expressions are read-only; the evaluator's
 * caches are keyed by node and depend on nothing else) and, between where clauses of different
 * texts, their columns, constants and subquery tests (SharedWhereNodes); the column lists; a
 * subquery shape's dependency definitions and dependency handle list (its dependents all name
 * a dependency shape the same way); and the empty lists. Lives as long as the restore that
 * reads the log; the records keep only what they share.
 */
export class ShapeInterner {
  readonly #strings = new Map<string, string>();
  readonly #wheres = new Map<string, WhereExpr>();
  readonly #nodes = new SharedWhereNodes();
  readonly #columns = new Map<string, readonly string[]>();
  /** Dependency definitions by their where text (or table, without one), and a one-definition list by its definition. */
  readonly #dependencies = new Map<string, ShapeDefinition[]>();
  readonly #dependencyLists = new Map<ShapeDefinition, readonly ShapeDefinition[]>();
  /** Dependency handle lists by their handles. */
  readonly #handleLists = new Map<string, readonly string[]>();

  string(s: string): string {
    const held = this.#strings.get(s);
    if (held !== undefined) return held;
    this.#strings.set(s, s);
    return s;
  }

  /** The expression first seen for this where text; a new text's expression with the leaves seen before. */
  where(text: string | undefined, expr: WhereExpr | undefined): WhereExpr | undefined {
    if (text === undefined || expr === undefined) return expr;
    const held = this.#wheres.get(text);
    if (held !== undefined) return held;
    const shared = this.#nodes.share(expr);
    this.#wheres.set(text, shared);
    return shared;
  }

  definition(d: ShapeDefinition): ShapeDefinition {
    const table = this.string(d.table);
    if (d.where === undefined) return d.columns === undefined ? { table, replica: d.replica } : { table, columns: this.#columnList(d.columns), replica: d.replica };
    const where = this.string(d.where);
    return d.columns === undefined ? { table, where, replica: d.replica } : { table, where, columns: this.#columnList(d.columns), replica: d.replica };
  }

  stored(s: StoredShape): StoredShape {
    return { handle: s.handle, definition: this.definition(s.definition), dependencyHandles: this.#handleList(s.dependencyHandles), requested: s.requested };
  }

  dependencies(ds: readonly ShapeDefinition[]): readonly ShapeDefinition[] {
    if (ds.length === 0) return NO_DEFINITIONS;
    if (ds.length > 1) return ds.map((d) => this.#dependency(d));
    const only = this.#dependency(ds[0]!);
    let held = this.#dependencyLists.get(only);
    if (held === undefined) this.#dependencyLists.set(only, (held = [only]));
    return held;
  }

  #dependency(d: ShapeDefinition): ShapeDefinition {
    const key = d.where ?? d.table;
    let held = this.#dependencies.get(key);
    if (held === undefined) this.#dependencies.set(key, (held = []));
    for (const h of held) if (sameDefinition(h, d)) return h;
    const interned = this.definition(d);
    held.push(interned);
    return interned;
  }

  #columnList(columns: readonly string[]): readonly string[] {
    const key = columns.length === 1 ? columns[0]! : `\u0000${JSON.stringify(columns)}`;
    let held = this.#columns.get(key);
    if (held === undefined) this.#columns.set(key, (held = columns));
    return held;
  }

  #handleList(handles: readonly string[]): readonly string[] {
    if (handles.length === 0) return NO_HANDLES;
    // (a NUL, which no handle holds, sets a list of several apart from one handle)
    const key = handles.length === 1 ? handles[0]! : `\u0000${JSON.stringify(handles)}`;
    let held = this.#handleLists.get(key);
    if (held === undefined) this.#handleLists.set(key, (held = handles));
    return held;
  }
}

function sameDefinition(a: ShapeDefinition, b: ShapeDefinition): boolean {
  if (a.table !== b.table || a.where !== b.where || a.replica !== b.replica) return false;
  if (a.columns === undefined || b.columns === undefined) return a.columns === b.columns;
  return a.columns.length === b.columns.length && a.columns.every((c, i) => c === b.columns![i]);
}
