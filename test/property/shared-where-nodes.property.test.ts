/**
 * Where clauses that share their leaves (SharedWhereNodes, what restore's interner gives the
 * records of distinct where texts) are the same clauses: on random parsed clauses of the
 * supported grammar, decoded as the metadata log decodes them, each shared clause equals its
 * original, plans the same routes, is filed and found by the where-clause index exactly like it
 * and evaluates the same on random rows and link values; and equal columns are one node.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { childrenOf, type WhereExpr } from '../../src/shapes/where/ast.ts';
import { evaluateTruth, type Row } from '../../src/shapes/where/evaluate.ts';
import { linkKey } from '../../src/shapes/where/link-key.ts';
import { linkSetOf, type TupleIndex } from '../../src/shapes/where/link-set.ts';
import { parseWhere } from '../../src/shapes/where/parse.ts';
import { SharedWhereNodes } from '../../src/shapes/where/shared-nodes.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { planRoutes } from '../../src/shapes/where-index/routes.ts';
import { WhereIndex, type IndexedShape } from '../../src/shapes/where-index/where-index.ts';
import { clauseArb, tableSpec } from '../helpers/where-generator.ts';

await loadSqlParser();

const ITEMS = tableSpec('items');
const VALUES: readonly unknown[] = [null, 0, 1, 7, 5, -1, 1.5, '7', '07', 'a', 'É', '', '1.50', 'NaN', '9007199254740993', true, false];
const rowArb: fc.Arbitrary<Row> = fc.record(Object.fromEntries(Object.keys(ITEMS.columns).map((c) => [c, fc.constantFrom(...VALUES)])), { requiredKeys: [] });
/** Link values of a dependency: keys of one value, or of two for a row comparison. */
const KEYS = [...VALUES.filter((v) => v !== null).map((v) => linkKey([v])!), ...['a', 'É', ''].flatMap((a) => ['7', 'a'].map((b) => linkKey([a, b])!))];
const linksArb = fc.array(fc.subarray(KEYS), { minLength: 4, maxLength: 4 }).map((sets) => sets.map((keys) => linkSetOf(keys)));

/** Parsed clauses, each decoded from its own JSON (as the log holds them: nothing shared yet); the ones the parser refuses left out. */
function parsed(sqls: readonly string[]): WhereExpr[] {
  const out: WhereExpr[] = [];
  for (const sql of sqls) {
    try {
      out.push(JSON.parse(JSON.stringify(parseWhere(sql).expr)) as WhereExpr);
    } catch {
      // (the generator also draws clauses the runtime refuses)
    }
  }
  return out;
}

function columnsOf(expr: WhereExpr, out: WhereExpr[] = []): WhereExpr[] {
  if (expr.kind === 'column') out.push(expr);
  for (const child of childrenOf(expr)) columnsOf(child, out);
  return out;
}

function found(index: WhereIndex, row: Row, links: readonly TupleIndex[], handles: readonly string[]): string[] {
  const matching = new Set<IndexedShape>();
  index.matching('public.items', row, (handle) => links[handles.indexOf(handle)], matching);
  return [...matching].map((s) => s.handle).sort();
}

describe('where clauses sharing their leaves', () => {
  it('are the same clauses: equal, routed, found and evaluated the same, equal columns one node', () => {
    fc.assert(
      fc.property(fc.array(clauseArb, { minLength: 1, maxLength: 8 }), fc.array(rowArb, { minLength: 1, maxLength: 6 }), linksArb, (sqls, rows, links) => {
        const originals = parsed(sqls);
        const nodes = new SharedWhereNodes();
        const shared = parsed(sqls).map((expr) => nodes.share(expr));
        const dependencyHandles = ['dep-0', 'dep-1', 'dep-2', 'dep-3'];
        const plain = new WhereIndex();
        const sharing = new WhereIndex();
        originals.forEach((where, i) => {
          expect(shared[i]).toEqual(where);
          expect(planRoutes(shared[i]!)).toEqual(planRoutes(where));
          plain.add({ handle: `s${i}`, table: 'public.items', where, dependencyHandles });
          sharing.add({ handle: `s${i}`, table: 'public.items', where: shared[i], dependencyHandles });
        });
        for (const row of rows) {
          expect(found(sharing, row, links, dependencyHandles)).toEqual(found(plain, row, links, dependencyHandles));
          originals.forEach((where, i) => expect(evaluateTruth(shared[i]!, row, (d) => links[d]!)).toBe(evaluateTruth(where, row, (d) => links[d]!)));
        }
        const byName = new Map<string, WhereExpr>();
        for (const column of shared.flatMap((expr) => columnsOf(expr))) {
          const name = column.kind === 'column' ? column.name : '';
          expect(column).toBe(byName.get(name) ?? column);
          byName.set(name, column);
        }
        // Removed again from the index through the shared clauses: nothing is left.
        shared.forEach((_, i) => sharing.remove(`s${i}`));
        expect(sharing.size).toBe(0);
        for (const row of rows) expect(found(sharing, row, links, dependencyHandles)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('gives back a clause unchanged where it has no leaf seen before, and shares no constant', () => {
    const nodes = new SharedWhereNodes();
    const first = parsed(['i4 = 7'])[0]!;
    expect(nodes.share(first)).toBe(first);
    const second = parsed(['i4 = 7 AND t = $$a$$'])[0]!;
    const out = nodes.share(second);
    expect(out).not.toBe(second);
    expect(out).toEqual(second);
    if (out.kind !== 'and' || first.kind !== 'compare') throw new Error('unexpected parse');
    const conjunct = out.args[0]!;
    if (conjunct.kind !== 'compare') throw new Error('unexpected parse');
    expect(conjunct.left).toBe(first.left);
    expect(conjunct.right).not.toBe(first.right);
    expect(conjunct.right).toEqual(first.right);
  });
});
