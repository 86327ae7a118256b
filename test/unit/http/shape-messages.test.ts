/**
 * The body's pure parts as Electric writes them: keys (`replication/changes.ex build_key`),
 * values as Postgres text, the change headers, and `$n` substitution of `params[n]`.
 */
import { describe, expect, it } from 'vitest';
import { arrayText, encodeEntries, messageContext, snapshotEndMessage, type Message } from '../../../src/http/shape-messages.ts';
import { substituteParams } from '../../../src/http/where-params.ts';
import type { PositionedEntry } from '../../../src/storage/storage.ts';

const entry = (tx: number, op: number, kind: 'insert' | 'update' | 'delete', row: Record<string, unknown>): PositionedEntry => ({ offset: { tx, op }, entry: { xid: tx, op: kind, key: 'unused', row } });

describe('shape messages', () => {
  it("writes Electric's keys: / and . doubled in names, / doubled in values, NULL as /_, one section per key column", () => {
    const out: Message[] = [];
    const context = messageContext(['my.schema', 'a/b'], ['org', 'id'], [{ name: 'org', type: 'text' }, { name: 'id', type: 'int4' }], false);
    encodeEntries([entry(0, 0, 'insert', { org: 'x/y', id: 7 }), entry(0, 1, 'insert', { org: null, id: 8 })], context, out);
    expect(out.map((m) => m.key)).toEqual(['"my..schema"."a//b"/"x//y"/"7"', '"my..schema"."a//b"/_/"8"']);
  });

  it('sends typed values as Postgres text and untyped ones as held; snapshot rows carry no lsn; a transaction ends with last', () => {
    const out: Message[] = [];
    const columns = [{ name: 'id', type: 'int4' }, { name: 'ok', type: 'bool' }, { name: 'doc', type: 'jsonb' }, { name: 'raw', type: null }];
    const context = messageContext(['public', 't'], ['id'], columns, true);
    encodeEntries(
      [entry(0, 0, 'insert', { id: 1, ok: true, doc: { a: [1] }, raw: 5 }), entry(12, 0, 'update', { id: 1, ok: false }), entry(12, 1, 'delete', { id: 2 }), entry(15, 0, 'insert', { id: 3, ok: null })],
      context,
      out,
    );
    expect(out).toEqual([
      { key: '"public"."t"/"1"', value: { id: '1', ok: 't', doc: '{"a":[1]}', raw: 5 }, headers: { operation: 'insert', relation: ['public', 't'] } },
      { key: '"public"."t"/"1"', value: { id: '1', ok: 'f' }, headers: { operation: 'update', relation: ['public', 't'], lsn: '12', op_position: 0, txids: [12] } },
      { key: '"public"."t"/"2"', value: { id: '2' }, headers: { operation: 'delete', relation: ['public', 't'], lsn: '12', op_position: 1, txids: [12], last: true } },
      { key: '"public"."t"/"3"', value: { id: '3', ok: null }, headers: { operation: 'insert', relation: ['public', 't'], lsn: '15', op_position: 0, txids: [15], last: true } },
    ]);
  });

  it("sends an array column's JSON array as Postgres prints the array (psql's output for the same values), a string as held", () => {
    expect(arrayText(['a b', null, '', 'x', 'NULL', '"q"', 'back\\slash', '{br}', 'c,d'])).toBe('{"a b",NULL,"",x,"NULL","\\"q\\"","back\\\\slash","{br}","c,d"}');
    expect(arrayText([[1, 2], [3, 4]])).toBe('{{1,2},{3,4}}');
    expect(arrayText([true, false])).toBe('{t,f}');
    const out: Message[] = [];
    const context = messageContext(['public', 't'], ['id'], [{ name: 'id', type: 'int4' }, { name: 'tags', type: 'text', dims: 1 }], false);
    encodeEntries([entry(0, 0, 'insert', { id: 1, tags: ['a', null] }), entry(0, 1, 'insert', { id: 2, tags: '{b}' })], context, out);
    expect(out.map((m) => m.value)).toEqual([{ id: '1', tags: '{a,NULL}' }, { id: '2', tags: '{b}' }]);
  });

  it('leaves txids out when the xid is no transaction id (following Postgres: a commit LSN), and claims no transaction visible at snapshot-end', () => {
    const out: Message[] = [];
    encodeEntries([entry(9, 0, 'insert', { id: 1 })], messageContext(['public', 't'], ['id'], [], false), out);
    expect(out[0]!.headers).toEqual({ operation: 'insert', relation: ['public', 't'], lsn: '9', op_position: 0, last: true });
    // A commit LSN as xmin would tell a client awaiting its write's txid (TanStack DB) that it is in the snapshot.
    expect(snapshotEndMessage(123456789, false)).toEqual({ headers: { control: 'snapshot-end', xmin: '0', xmax: '0', xip_list: [] } });
    expect(snapshotEndMessage(7, true)).toEqual({ headers: { control: 'snapshot-end', xmin: '7', xmax: '7', xip_list: [] } });
  });

  it("puts a change's Postgres transaction id in txids, as Electric does (a number), whatever the xid is; a snapshot row has none", () => {
    const fromPostgres = (tx: number, op: number, pgXid: number): PositionedEntry => ({ offset: { tx, op }, entry: { xid: tx, pgXid, op: 'insert', key: 'unused', row: { id: op } } });
    for (const txids of [false, true]) {
      const out: Message[] = [];
      encodeEntries([entry(0, 0, 'insert', { id: 9 }), fromPostgres(23_456_789, 0, 731), fromPostgres(23_456_789, 1, 731), fromPostgres(23_460_000, 0, 4_294_967_295)], messageContext(['public', 't'], ['id'], [], txids), out);
      expect(out.map((m) => (m.headers as { txids?: unknown }).txids)).toEqual([undefined, [731], [731], [4_294_967_295]]);
    }
  });
});

describe('params[n]', () => {
  it('replaces each $n outside literals, quoted identifiers and comments by its value as a quoted literal', () => {
    const params = new Map([[1, "o'k"], [2, '7']]);
    expect(substituteParams(`a = $1 AND "$1" = '$2' AND b = $2 -- $1\n AND c$1 = $$ $1 $$`, params)).toEqual({ ok: true, sql: `a = 'o''k' AND "$1" = '$2' AND b = '7' -- $1\n AND c$1 = $$ $1 $$` });
  });

  it('refuses a $n without its value, and a value without its $n', () => {
    expect(substituteParams('a = $1 OR a = $3', new Map([[1, 'x']]))).toEqual({ ok: false, reason: '$3 has no value: give params[3]' });
    expect(substituteParams('a = $1', new Map([[1, 'x'], [2, 'y']]))).toEqual({ ok: false, reason: 'params[2] is given but the where clause has no $2' });
  });
});
