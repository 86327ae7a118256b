/**
 * What `add` refuses once the tables' column types are known: a where clause Postgres itself
 * would reject (`invalid-where`: no such column, no such operator, a literal its type cannot
 * read), and one the runtime cannot judge as Postgres does (`unsupported-where`). Columns of a
 * table without declared types are typed per row by their values; what involves them is judged
 * then (see evaluate.ts), and only what does not depend on them is checked here.
 */
import type { ColumnTypesOf, TableColumnTypes } from '../column-types.ts';
import type { ShapeDefinition } from '../definition-key.ts';
import { ShapeDefinitionError } from '../errors.ts';
import type { WhereExpr } from './ast.ts';
import { childrenOf } from './ast.ts';
import { referencedColumns } from './columns.ts';
import { castConst, constType } from './constants.ts';
import { inListPlan } from './evaluate.ts';
import { parseWhere } from './parse.ts';
import { printWhere } from './print.ts';
import { parseIdentifierChain } from '../identifiers.ts';
import { InputError } from './sql-input.ts';
import type { SqlType } from './sql-types.ts';
import { commonType, comparisonType, isExactType, isFloatType, sqlTypeName, sqlTypeOf } from './sql-types.ts';
import { convertValue, INVALID } from './sql-values.ts';

/** A column of a table without declared types: its type is its value's, per row. */
const DYNAMIC = 'dynamic';
type StaticType = SqlType | typeof DYNAMIC;

class Checker {
  constructor(
    readonly table: string,
    readonly types: TableColumnTypes | undefined,
    readonly dependencies: readonly ShapeDefinition[],
    readonly typesOf: ColumnTypesOf,
  ) {}

  fail(code: 'invalid-where' | 'unsupported-where', problem: string, at: WhereExpr): never {
    const shown = printWhere(at, this.dependencies);
    throw new ShapeDefinitionError(code, `${code}: ${problem} in "${shown.length > 200 ? `${shown.slice(0, 197)}...` : shown}" (table ${this.table})`, shown);
  }

  typeOf(e: WhereExpr): StaticType {
    if (e.kind === 'column') {
      if (!this.types) return DYNAMIC;
      const t = this.types[e.name];
      if (!t) this.fail('invalid-where', `column ${JSON.stringify(e.name)} does not exist`, e);
      return sqlTypeOf(t);
    }
    if (e.kind === 'const') return constType(e);
    return 'bool';
  }

  /** A node where a boolean is expected (WHERE, AND, OR, NOT, IS TRUE...). */
  boolean(e: WhereExpr, position: string): void {
    const t = this.typeOf(e);
    if (t !== DYNAMIC && t !== 'bool' && t !== 'unknown') {
      this.fail(t.startsWith('unsupported:') ? 'unsupported-where' : 'invalid-where', `argument of ${position} must be type boolean, not type ${sqlTypeName(t)}`, e);
    }
    this.node(e);
  }

  /** The type `l op r` compares in (null: it depends on a row's values); refuses what Postgres would not run. */
  comparison(l: WhereExpr, r: WhereExpr, op: string, at: WhereExpr): SqlType | null {
    const lt = this.typeOf(l);
    const rt = this.typeOf(r);
    if (lt === DYNAMIC || rt === DYNAMIC) return null;
    const c = comparisonType(lt, rt);
    if (c === null) {
      const odd = [lt, rt].find((t) => t.startsWith('unsupported:') || (t.startsWith('opaque:') && (lt === 'unknown' || rt === 'unknown')));
      if (odd) this.fail('unsupported-where', `comparing a value of type ${sqlTypeName(odd)} this way is not supported`, at);
      this.fail('invalid-where', `operator does not exist: ${sqlTypeName(lt)} ${op} ${sqlTypeName(rt)}`, at);
    }
    for (const side of [l, r]) this.castable(side, c, at);
    if (c === 'text' && op !== '=' && op !== '<>' && [l, r].some((side) => this.collated(side))) {
      this.fail('unsupported-where', `${op} on text under a collation other than C (the runtime orders text by code point)`, at);
    }
    return c;
  }

  castable(e: WhereExpr, to: SqlType, at: WhereExpr): void {
    if (e.kind !== 'const') return;
    const v = castConst(e, to);
    if (v instanceof InputError) this.fail(v.unsupported ? 'unsupported-where' : 'invalid-where', v.message, at);
  }

  /** A column of a non-C collation. */
  collated(e: WhereExpr): boolean {
    return e.kind === 'column' && this.types?.[e.name]?.collation !== undefined;
  }

  inList(e: Extract<WhereExpr, { kind: 'inList' }>): void {
    const plan = inListPlan(e);
    const lt = this.typeOf(e.expr);
    let rest = plan.vars;
    if (plan.constants.length > 0) {
      const itemTypes = plan.constants.map((c) => this.typeOf(c));
      const common = lt === DYNAMIC ? null : commonType([lt, ...(itemTypes as SqlType[])]);
      if (lt === DYNAMIC) rest = [];
      else if (common === null) rest = e.list;
      else {
        const c = comparisonType(lt, common);
        if (c === null) this.fail('invalid-where', `operator does not exist: ${sqlTypeName(lt)} = ${sqlTypeName(common)}`, e);
        for (const item of plan.constants) {
          this.castable(item, common, e);
          if (item.kind === 'const' && convertValue(castConst(item, common), common, c) === INVALID) {
            this.fail('invalid-where', `${printWhere(item, this.dependencies)} is out of range for type ${sqlTypeName(c)}`, e);
          }
        }
      }
    }
    for (const item of rest) this.comparison(e.expr, item, '=', e);
    for (const child of childrenOf(e)) this.node(child);
  }

  sublink(e: Extract<WhereExpr, { kind: 'sublink' }>): void {
    const dep = this.dependencies[e.dependency]!;
    const depTypes = this.typesOf(dep.table);
    const columns = (dep.columns ?? []).map((c) => parseIdentifierChain(c)[0]!.name);
    e.test.forEach((test, i) => {
      const t = this.typeOf(test);
      const column = columns[i]!;
      const declared = depTypes?.[column];
      if (depTypes && !declared) this.fail('invalid-where', `column ${JSON.stringify(column)} does not exist in ${dep.table}`, e);
      if (t === DYNAMIC || !declared) return;
      const d = sqlTypeOf(declared);
      const c = comparisonType(t, d);
      if (c === null) {
        const odd = [t, d].find((x) => x.startsWith('unsupported:'));
        if (odd) this.fail('unsupported-where', `IN (SELECT ...) on a value of type ${sqlTypeName(odd)} is not supported`, e);
        this.fail('invalid-where', `operator does not exist: ${sqlTypeName(t)} = ${sqlTypeName(d)}`, e);
      }
      const lossy = (x: SqlType): boolean => x === 'int8' || x === 'numeric';
      if ((isFloatType(t) && lossy(d)) || (lossy(t) && isFloatType(d))) {
        this.fail(
          'unsupported-where',
          `linking a ${sqlTypeName(t)} column to a ${sqlTypeName(d)} one (Postgres compares them as double precision, rounding the ${isExactType(t) ? 'first' : 'second'}; link columns of one kind)`,
          e,
        );
      }
    });
    if (dep.where !== undefined && depTypes) {
      for (const name of referencedColumns(parseWhere(dep.where).expr)) {
        if (depTypes[name]) continue;
        if (this.types?.[name]) {
          this.fail('unsupported-where', `a correlated subquery (${JSON.stringify(name)} is a column of ${this.table}, not of ${dep.table})`, e);
        }
        this.fail('invalid-where', `column ${JSON.stringify(name)} does not exist in ${dep.table}`, e);
      }
    }
  }

  node(e: WhereExpr): void {
    switch (e.kind) {
      case 'column':
        this.typeOf(e);
        return;
      case 'const':
        if (constType(e) !== 'unknown') this.castable(e, constType(e), e);
        return;
      case 'and':
      case 'or':
        for (const a of e.args) this.boolean(a, e.kind.toUpperCase());
        return;
      case 'not':
        this.boolean(e.arg, 'NOT');
        return;
      case 'isBool':
        this.boolean(e.expr, `IS ${e.negated ? 'NOT ' : ''}${e.test.toUpperCase()}`);
        return;
      case 'compare':
        this.comparison(e.left, e.right, e.op, e);
        break;
      case 'distinct':
        this.comparison(e.left, e.right, '=', e);
        break;
      case 'between':
        this.comparison(e.expr, e.low, '>=', e);
        this.comparison(e.expr, e.high, '<=', e);
        break;
      case 'inList':
        this.inList(e);
        return;
      case 'like':
        this.like(e);
        break;
      case 'sublink':
        this.sublink(e);
        break;
      case 'isNull':
        break;
    }
    for (const child of childrenOf(e)) this.node(child);
  }

  like(e: Extract<WhereExpr, { kind: 'like' }>): void {
    const op = e.caseInsensitive ? '~~*' : '~~';
    for (const side of [e.expr, e.pattern]) {
      const t = this.typeOf(side);
      if (t === DYNAMIC || t === 'text' || t === 'unknown') continue;
      this.fail(t.startsWith('unsupported:') ? 'unsupported-where' : 'invalid-where', `operator does not exist: ${sqlTypeName(t)} ${op} text`, e);
    }
    if (e.caseInsensitive && [e.expr, e.pattern].some((side) => this.collated(side))) {
      this.fail('unsupported-where', 'ILIKE under a collation other than C (Postgres folds case by that locale; the runtime folds ASCII letters only)', e);
    }
  }
}

/**
 * Checks a shape's where clause against the column types of its table and of its subqueries'
 * tables; throws ShapeDefinitionError (`invalid-where`, `unsupported-where`) naming the part.
 */
export function checkWhereTypes(table: string, where: WhereExpr, dependencies: readonly ShapeDefinition[], typesOf: ColumnTypesOf): void {
  const checker = new Checker(table, typesOf(table), dependencies, typesOf);
  checker.boolean(where, 'WHERE');
}
