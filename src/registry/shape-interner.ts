import type { ShapeDefinition } from '../shapes/definition.ts';
import type { WhereExpr } from '../shapes/where/ast.ts';
import type { StoredShape } from '../storage/storage.ts';

const NO_HANDLES: readonly string[] = Object.freeze([]);
const NO_DEFINITIONS: readonly ShapeDefinition[] = Object.freeze([]);

/**
 * What the records of one restore can share, decoded once per shape from the metadata log:
 * table names, where texts, and the parsed where clause of each where text (the parser of one
 * AST version gives one expression per text, and expressions are read-only; the evaluator's
 * caches are keyed by node and depend on nothing else), and the empty lists. Lives as long as
 * the restore that reads the log; the records keep only what they share.
 */
export class ShapeInterner {
  readonly #strings = new Map<string, string>();
  readonly #wheres = new Map<string, WhereExpr>();

  string(s: string): string {
    const held = this.#strings.get(s);
    if (held !== undefined) return held;
    this.#strings.set(s, s);
    return s;
  }

  /** The expression first seen for this where text. */
  where(text: string | undefined, expr: WhereExpr | undefined): WhereExpr | undefined {
    if (text === undefined || expr === undefined) return expr;
    const held = this.#wheres.get(text);
    if (held !== undefined) return held;
    this.#wheres.set(text, expr);
    return expr;
  }

  definition(d: ShapeDefinition): ShapeDefinition {
    const table = this.string(d.table);
    if (d.where === undefined) return d.columns === undefined ? { table, replica: d.replica } : { table, columns: d.columns, replica: d.replica };
    const where = this.string(d.where);
    return d.columns === undefined ? { table, where, replica: d.replica } : { table, where, columns: d.columns, replica: d.replica };
  }

  stored(s: StoredShape): StoredShape {
    return { handle: s.handle, definition: this.definition(s.definition), dependencyHandles: s.dependencyHandles.length === 0 ? NO_HANDLES : s.dependencyHandles, requested: s.requested };
  }

  dependencies(ds: readonly ShapeDefinition[]): readonly ShapeDefinition[] {
    return ds.length === 0 ? NO_DEFINITIONS : ds.map((d) => this.definition(d));
  }
}
