/**
 * Experiment (issue 12 item 1): what adding and removing one shape costs in the where-clause
 * index as the table's shape count grows. Electric needed two changes (#3160, #4594) before a
 * removal from 60k shapes stopped costing 12.8 ms; here add and remove must cost the size of the
 * shape's where clause whatever N. For N = 1k, 10k, 100k shapes `user_id = k` on one table (and
 * 20% `user_id IN (SELECT ...)` shapes linked to their own dependency): CPU µs per remove + add
 * of one shape, over shapes picked across the table, medians of 5 rounds, in this process; beside
 * it a floor: the same deletes and sets on one plain Map of N entries (what any O(1) bookkeeping
 * of N shapes pays as the maps outgrow the caches).
 *
 * Run: node --expose-gc --import tsx bench/experiments/index-add-remove.ts
 */
import { WhereIndex, type IndexedShape } from '../../src/shapes/where-index/where-index.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { parseWhere } from '../../src/shapes/where/parse.ts';
import { fullGc, median, round, Stopwatch } from '../lib/stats.ts';

await loadSqlParser();
const TABLE = 'public.items';
const eq = parseWhere('user_id = 1').expr;
const sub = parseWhere('user_id IN (SELECT user_id FROM public.memberships WHERE org_id = 1)').expr;
const OPS = 20_000;

function shapes(n: number): IndexedShape[] {
  const out: IndexedShape[] = [];
  for (let k = 0; k < n; k++) {
    // The same clause objects, a different constant per shape: what the index keys on.
    const where = k % 5 === 4 ? sub : { ...eq, right: { kind: 'const' as const, value: k } };
    out.push({ handle: `s${k}`, table: TABLE, where, dependencyHandles: k % 5 === 4 ? [`d${k}`] : [] });
  }
  return out;
}

const rows: string[] = [];
for (const n of [1_000, 10_000, 100_000]) {
  const all = shapes(n);
  const index = new WhereIndex();
  for (const s of all) index.add(s);
  for (const s of all) if (s.dependencyHandles.length > 0) index.seedLinks(s.dependencyHandles[0]!, [`["n${s.handle}"]`]);
  const plain = new Map(all.map((s) => [s.handle, s]));
  const perOp: number[] = [];
  const floor: number[] = [];
  for (let round_ = 0; round_ < 5; round_++) {
    fullGc();
    const floorWatch = new Stopwatch();
    for (let i = 0; i < OPS; i++) {
      const shape = all[(i * 7_919) % n]!;
      plain.delete(shape.handle);
      plain.set(shape.handle, shape);
    }
    floor.push((floorWatch.stop().cpuMs * 1000) / OPS);
    fullGc();
    const watch = new Stopwatch();
    for (let i = 0; i < OPS; i++) {
      const shape = all[(i * 7_919) % n]!;
      index.remove(shape.handle);
      index.add(shape);
    }
    perOp.push((watch.stop().cpuMs * 1000) / OPS);
  }
  rows.push(
    `N = ${n.toLocaleString('en-US')}: ${round(median(perOp), 2)} µs per remove + add (rounds: ${perOp.map((v) => round(v, 2)).join(', ')}); ` +
      `floor (delete + set on one Map of N) ${round(median(floor), 3)} µs; ratio ${round(median(perOp) / median(floor), 1)}x`,
  );
}
console.log(rows.join('\n'));
