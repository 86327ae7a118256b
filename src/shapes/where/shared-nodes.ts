import type { ColumnExpr, SublinkExpr, WhereExpr } from './ast.ts';

/**
 * Where clauses that share their leaves: every column and subquery test that `share` has seen
 * before is given back as the node it saw first, so that many where clauses that differ only in
 * a constant (one shape per user: `user_id = 7`, `user_id = 8`, ...) hold one `user_id` column
 * node between them, and their subqueries one sublink. A node is rebuilt only on the path to a
 * replaced leaf; the rest is kept as given. Sharing is safe because expressions are read-only
 * and what is cached per node (constants.ts, evaluate.ts) depends on the node's content alone.
 * Constants are not shared: they are what such clauses differ in (a Map of every constant cost
 * restore more than it saved).
 */
export class SharedWhereNodes {
  readonly #columns = new Map<string, ColumnExpr>();
  /** By dependency index, then by the test's column (or the JSON of its columns, for a row comparison). */
  readonly #sublinks: Map<string, SublinkExpr>[] = [];

  share(expr: WhereExpr): WhereExpr {
    switch (expr.kind) {
      case 'column':
        return this.#column(expr);
      case 'const':
        return expr;
      case 'sublink':
        return this.#sublink(expr);
      case 'compare': {
        const left = this.share(expr.left);
        const right = this.share(expr.right);
        return left === expr.left && right === expr.right ? expr : { kind: 'compare', op: expr.op, left, right };
      }
      case 'distinct': {
        const left = this.share(expr.left);
        const right = this.share(expr.right);
        return left === expr.left && right === expr.right ? expr : { kind: 'distinct', left, right, negated: expr.negated };
      }
      case 'and':
      case 'or': {
        const args = this.#all(expr.args);
        return args === expr.args ? expr : { kind: expr.kind, args };
      }
      case 'not': {
        const arg = this.share(expr.arg);
        return arg === expr.arg ? expr : { kind: 'not', arg };
      }
      case 'inList': {
        const inner = this.share(expr.expr);
        const list = this.#all(expr.list);
        return inner === expr.expr && list === expr.list ? expr : { kind: 'inList', expr: inner, list, negated: expr.negated };
      }
      case 'isNull': {
        const inner = this.share(expr.expr);
        return inner === expr.expr ? expr : { kind: 'isNull', expr: inner, negated: expr.negated };
      }
      case 'isBool': {
        const inner = this.share(expr.expr);
        return inner === expr.expr ? expr : { kind: 'isBool', expr: inner, test: expr.test, negated: expr.negated };
      }
      case 'between': {
        const inner = this.share(expr.expr);
        const low = this.share(expr.low);
        const high = this.share(expr.high);
        return inner === expr.expr && low === expr.low && high === expr.high ? expr : { kind: 'between', expr: inner, low, high, negated: expr.negated, symmetric: expr.symmetric };
      }
      case 'like': {
        const inner = this.share(expr.expr);
        const pattern = this.share(expr.pattern);
        return inner === expr.expr && pattern === expr.pattern ? expr : { kind: 'like', expr: inner, pattern, negated: expr.negated, caseInsensitive: expr.caseInsensitive };
      }
    }
  }

  /** The list itself when none of its items changed; else a copy of its length (a list grown by push keeps spare capacity). */
  #all(items: readonly WhereExpr[]): readonly WhereExpr[] {
    let out: WhereExpr[] | null = null;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const shared = this.share(item);
      if (shared !== item) (out ??= items.slice())[i] = shared;
    }
    return out ?? items;
  }

  #column(expr: ColumnExpr): ColumnExpr {
    const held = this.#columns.get(expr.name);
    if (held !== undefined) return held;
    this.#columns.set(expr.name, expr);
    return expr;
  }

  #sublink(expr: SublinkExpr): SublinkExpr {
    const byTest = (this.#sublinks[expr.dependency] ??= new Map());
    const key = expr.test.length === 1 ? expr.test[0]!.name : JSON.stringify(expr.test.map((c) => c.name));
    const held = byTest.get(key);
    if (held !== undefined && held.test.length === expr.test.length) return held;
    const test = expr.test.map((c) => this.#column(c));
    const shared: SublinkExpr = test.every((c, i) => c === expr.test[i]) ? expr : { kind: 'sublink', test, dependency: expr.dependency };
    if (held === undefined) byTest.set(key, shared);
    return shared;
  }
}
