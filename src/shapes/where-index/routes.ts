/**
 * How a where clause is found from a row: its routes. A row may match the clause only if it
 * takes one of them; the clause itself is checked after (the residual), so a route may be wider
 * than its part of the clause, never narrower.
 * - `value`: the column's value shares a key (equality-keys.ts) with one of `keys`
 *   (`col = c`, `c = col`, `col IN (c1, ...)`, `col IS NOT DISTINCT FROM c`, a bare boolean column);
 * - `null`: the column is NULL or absent (`col IS NULL`);
 * - `link`: the test columns' link key is among the current values of dependency `dependency`
 *   (`col IN (SELECT ...)`, `(a, b) IN (SELECT ...)`).
 * `A AND B` takes the routes of its most selective indexable side; `A OR B` the routes of every
 * branch (all must be indexable); a clause that can never be TRUE (`col = NULL`) has no route.
 * Everything else (ranges, LIKE, NOT IN, comparisons of two columns, ...) is `linear`: checked
 * against every row of its table.
 */
import type { WhereExpr } from '../where/ast.ts';
import { constKeys, type EqualityKey } from './equality-keys.ts';

export type Route =
  | { readonly kind: 'value'; readonly column: string; readonly keys: readonly EqualityKey[] }
  | { readonly kind: 'null'; readonly column: string }
  | { readonly kind: 'link'; readonly columns: readonly string[]; readonly dependency: number };

export type RoutePlan = { readonly kind: 'linear' } | { readonly kind: 'routes'; readonly routes: readonly Route[] };

const LINEAR: RoutePlan = { kind: 'linear' };
/** The keys of the booleans (a bool column's values: see equalityKey). */
const TRUE_KEYS: readonly EqualityKey[] = ['b1'];
const FALSE_KEYS: readonly EqualityKey[] = ['b0'];
const NEVER: RoutePlan = { kind: 'routes', routes: [] };

/** The routes of a where clause (O(size of the clause)). */
export function planRoutes(expr: WhereExpr): RoutePlan {
  switch (expr.kind) {
    case 'compare': {
      if (expr.op !== '=') return LINEAR;
      const [column, constant] = expr.left.kind === 'column' ? [expr.left, expr.right] : [expr.right, expr.left];
      if (column.kind !== 'column' || constant.kind !== 'const') return LINEAR;
      return valuePlan(column.name, constKeys(constant));
    }
    case 'distinct': {
      if (!expr.negated) return LINEAR;
      const [column, constant] = expr.left.kind === 'column' ? [expr.left, expr.right] : [expr.right, expr.left];
      if (column.kind !== 'column' || constant.kind !== 'const') return LINEAR;
      return constant.value === null ? { kind: 'routes', routes: [{ kind: 'null', column: column.name }] } : valuePlan(column.name, constKeys(constant));
    }
    case 'inList': {
      if (expr.negated || expr.expr.kind !== 'column') return LINEAR;
      const keys = new Set<EqualityKey>();
      for (const item of expr.list) {
        if (item.kind !== 'const') return LINEAR;
        for (const key of constKeys(item)) keys.add(key);
      }
      return valuePlan(expr.expr.name, [...keys]);
    }
    case 'isNull':
      return expr.negated || expr.expr.kind !== 'column' ? LINEAR : { kind: 'routes', routes: [{ kind: 'null', column: expr.expr.name }] };
    case 'column':
      // A bare column is TRUE only when it holds the boolean true.
      return valuePlan(expr.name, TRUE_KEYS);
    case 'isBool':
      if (expr.negated || expr.test === 'unknown' || expr.expr.kind !== 'column') return LINEAR;
      return valuePlan(expr.expr.name, expr.test === 'true' ? TRUE_KEYS : FALSE_KEYS);
    case 'not':
      return expr.arg.kind === 'column' ? valuePlan(expr.arg.name, FALSE_KEYS) : LINEAR;
    case 'sublink':
      return { kind: 'routes', routes: [{ kind: 'link', columns: expr.test.map((c) => c.name), dependency: expr.dependency }] };
    case 'const':
      // TRUE matches every row (linear, checked cheaply); FALSE and NULL match none.
      return expr.value === true ? LINEAR : NEVER;
    case 'and': {
      let best: RoutePlan | null = null;
      for (const arg of expr.args) {
        const plan = planRoutes(arg);
        if (plan.kind === 'routes' && (best === null || cost(plan) < cost(best))) best = plan;
      }
      return best ?? LINEAR;
    }
    case 'or': {
      const routes: Route[] = [];
      for (const arg of expr.args) {
        const plan = planRoutes(arg);
        if (plan.kind === 'linear') return LINEAR;
        routes.push(...plan.routes);
      }
      return { kind: 'routes', routes };
    }
    default:
      return LINEAR;
  }
}

function valuePlan(column: string, keys: readonly EqualityKey[]): RoutePlan {
  return keys.length === 0 ? NEVER : { kind: 'routes', routes: [{ kind: 'value', column, keys }] };
}

/**
 * Lower is more selective: a value route costs one per key, a link route a little more (its
 * dependency's values move), a NULL route most (NULL is often the common value).
 */
function cost(plan: RoutePlan): number {
  if (plan.kind === 'linear') return Infinity;
  let total = 0;
  for (const route of plan.routes) total += route.kind === 'value' ? route.keys.length : route.kind === 'link' ? 2 : 8;
  return total;
}
