import { describe, expect, it } from 'vitest';
import { encodeFramedLines } from '../../../src/storage/framed-lines.ts';
import { decodeMetadata, encodeMetadataDelete as deleteOf, encodeMetadataHeader as headerOf, encodeMetadataLog, encodeMetadataPut as putOf, type MetadataVersion } from '../../../src/storage/metadata-codec.ts';
import type { ShapeMetadata, StoredShape } from '../../../src/storage/storage.ts';

const shape = (handle: string, extra: Partial<StoredShape> = {}): StoredShape => ({ handle, definition: { table: 'public.t', where: 'k = 1', replica: 'default' }, dependencyHandles: [], requested: true, ...extra });
const parsed = { version: 1, where: { kind: 'compare', op: '=', left: { kind: 'column', name: 'k' }, right: { kind: 'const', value: 1 } }, dependencies: [] } as const;
const put = (s: StoredShape): ShapeMetadata => ({ shape: s, parsed });
const same = (m: ShapeMetadata): ShapeMetadata => m;

describe.each([1, 2] as const)('metadata log codec, version %i (this runtime writes 2, reads both)', (version: MetadataVersion) => {
  const encodeMetadataHeader = (): string => headerOf(version);
  const encodeMetadataPut = (m: ShapeMetadata): string => putOf(m, version);
  const encodeMetadataDelete = (handle: string): string => deleteOf(handle, version);

  it('names its version in its header', () => {
    const decoded = decodeMetadata(Buffer.from(encodeMetadataHeader() + encodeMetadataPut(put(shape('1-1')))), same);
    expect(decoded.ok && decoded.version).toBe(version);
  });

  it('folds puts and deletes: the latest record of a handle wins, a delete forgets it', () => {
    const text = encodeMetadataHeader() + encodeMetadataPut(put(shape('1-1'))) + encodeMetadataPut(put(shape('2-2'))) + encodeMetadataPut({ shape: shape('1-1', { requested: false }) }) + encodeMetadataDelete('2-2');
    const decoded = decodeMetadata(Buffer.from(text), same);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect([...decoded.shapes.keys()]).toEqual(['1-1']);
    expect(decoded.shapes.get('1-1')).toEqual({ shape: shape('1-1', { requested: false }) });
    expect(decoded.records).toBe(4);
    expect(decoded.damage).toBeUndefined();
  });

  it('hands each put record to its reader as it is read, and keeps what the reader made of the latest one per handle', () => {
    const text = encodeMetadataHeader() + encodeMetadataPut(put(shape('1-1'))) + encodeMetadataPut({ shape: shape('1-1', { requested: false }) }) + encodeMetadataPut(put(shape('2-2')));
    const taken: string[] = [];
    const decoded = decodeMetadata(Buffer.from(text), (m) => {
      taken.push(`${m.shape.handle}:${m.shape.requested}`);
      return m.shape.requested;
    });
    expect(taken).toEqual(['1-1:true', '1-1:false', '2-2:true']);
    expect(decoded.ok && [...decoded.shapes]).toEqual([['1-1', false], ['2-2', true]]);
  });

  it('reads a log with non-ASCII text (decoded per line) as it reads an ASCII one (decoded once), damage at the same line', () => {
    const where = (text: string) => shape('1-1', { definition: { table: 'public.t', where: `name = '${text}'`, replica: 'default' } });
    const log = (text: string) => encodeMetadataHeader() + encodeMetadataPut({ shape: where(text) }) + encodeMetadataPut(put(shape('2-2'))) + encodeMetadataDelete('2-2') + encodeMetadataPut(put(shape('3-3')));
    for (const text of ['plain', 'grüße 日本 🙂']) {
      const buffer = Buffer.from(log(text));
      const decoded = decodeMetadata(buffer, same);
      expect(decoded.ok && [...decoded.shapes]).toEqual([['1-1', { shape: where(text) }], ['3-3', put(shape('3-3'))]]);
      expect(decoded.ok && decoded.validBytes).toBe(buffer.length);
      // A flipped byte in the third record (a delete): its checksum fails there, and the two before it count.
      const third = buffer.indexOf('"delete"');
      const damaged = Buffer.from(buffer);
      damaged[third + 2] = 'x'.charCodeAt(0);
      const read = decodeMetadata(damaged, same);
      expect(read.ok && read.damage).toEqual({ line: 4, reason: 'checksum mismatch', torn: false });
      expect(read.ok && [...read.shapes.keys()]).toEqual(['1-1', '2-2']);
    }
  });


  it('a torn last line is an interrupted append: the records before it count, and it is cut back to the whole lines', () => {
    const whole = encodeMetadataHeader() + encodeMetadataPut(put(shape('1-1')));
    const torn = Buffer.from(whole + encodeMetadataPut(put(shape('2-2'))).slice(0, 30));
    const decoded = decodeMetadata(torn, same);
    expect(decoded.ok && [...decoded.shapes.keys()]).toEqual(['1-1']);
    expect(decoded.ok && decoded.damage).toMatchObject({ line: 3, torn: true });
    expect(decoded.ok && decoded.validBytes).toBe(Buffer.byteLength(whole));
  });

  it('a damaged line in the middle stops the reading there (those shapes are read from their directories)', () => {
    const lines = [encodeMetadataHeader(), encodeMetadataPut(put(shape('1-1'))), encodeMetadataPut(put(shape('2-2'))), encodeMetadataPut(put(shape('3-3')))];
    lines[2] = lines[2]!.replace('2-2', '2-3'); // checksum no longer matches
    const decoded = decodeMetadata(Buffer.from(lines.join('')), same);
    expect(decoded.ok && [...decoded.shapes.keys()]).toEqual(['1-1']);
    expect(decoded.ok && decoded.damage).toMatchObject({ line: 3, torn: false, reason: 'checksum mismatch' });
  });

  it('a record of the wrong form is damage, named', () => {
    const wrong = version === 1 ? { op: 'put', shape: { handle: 'x' } } : ['put', 'x', 'public.t', null, null, 'default', [], true, null];
    const bad = encodeMetadataHeader() + encodeFramedLines([wrong]) + encodeMetadataPut(put(shape('1-1')));
    const decoded = decodeMetadata(Buffer.from(bad), same);
    expect(decoded.ok && decoded.damage).toMatchObject({ line: 2, reason: expect.stringMatching(/^put record: /) });
    // A record of the other version's form is damage too (a log is read in the version its header names).
    const other = encodeMetadataHeader() + putOf(put(shape('1-1')), version === 1 ? 2 : 1);
    const read = decodeMetadata(Buffer.from(other), same);
    expect(read.ok && read.damage).toMatchObject({ line: 2, reason: version === 1 ? 'unknown record' : 'not a record' });
  });

  it('a header in the middle makes the log unusable', () => {
    const text = encodeMetadataHeader() + encodeMetadataPut(put(shape('1-1'))) + encodeMetadataHeader();
    expect(decodeMetadata(Buffer.from(text), same)).toEqual({ ok: false, reason: 'a header in the middle of the log' });
  });
});

describe('metadata log codec', () => {
  it('a compacted log holds exactly its records, parsed where clauses included, in this runtime\'s version', () => {
    const decoded = decodeMetadata(Buffer.from(encodeMetadataLog([put(shape('1-1')), put(shape('3-3'))])), same);
    expect(decoded.ok && [...decoded.shapes.values()]).toEqual([put(shape('1-1')), put(shape('3-3'))]);
    expect(decoded.ok && decoded.version).toBe(2);
  });

  it('packs a record in fewer bytes than version 1 wrote', () => {
    const m = put(shape('1-1'));
    expect(Buffer.byteLength(putOf(m, 2))).toBeLessThan(Buffer.byteLength(putOf(m, 1)) * 0.6);
  });

  it('another version, or no header, makes the whole log unusable (restore rebuilds it)', () => {
    const other = encodeFramedLines([{ op: 'header', format: 'shape-actors/metadata', version: 3 }]) + putOf(put(shape('1-1')));
    expect(decodeMetadata(Buffer.from(other), same)).toEqual({ ok: false, reason: 'metadata version 3, this runtime reads versions 1 and 2' });
    expect(decodeMetadata(Buffer.from(putOf(put(shape('1-1')))), same)).toEqual({ ok: false, reason: 'first record is not the metadata header' });
  });
});
