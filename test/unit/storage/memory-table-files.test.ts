import { describe, expect, it } from 'vitest';
import { MemoryTableFiles } from '../../../src/storage/rows/table-files.ts';

describe('MemoryTableFiles: files in memory behave like the disk', () => {
  it('appends, truncates, replaces and reads back exactly the bytes written, whatever the growth', async () => {
    const files = new MemoryTableFiles();
    let expected = '';
    for (let i = 0; i < 2_000; i++) {
      const line = `line ${i} ${'é'.repeat(i % 7)}\n`; // multi-byte: lengths are bytes, not characters
      await files.append('t.jsonl', line);
      expected += line;
    }
    expect((await files.read('t.jsonl'))!.toString('utf8')).toBe(expected);
    const cut = Buffer.byteLength(expected.slice(0, 100));
    await files.truncate('t.jsonl', cut);
    await files.append('t.jsonl', 'after\n');
    expect((await files.read('t.jsonl'))!.toString('utf8')).toBe(`${expected.slice(0, 100)}after\n`);
    await files.replace('t.jsonl', 'new\n');
    await files.append('t.jsonl', 'more\n');
    expect((await files.read('t.jsonl'))!.toString('utf8')).toBe('new\nmore\n');
  });

  it('hands out a copy: a later append or truncate does not change bytes already read', async () => {
    const files = new MemoryTableFiles();
    await files.create('t.jsonl', 'a\n');
    const before = await files.read('t.jsonl');
    await files.append('t.jsonl', 'b\n');
    await files.truncate('t.jsonl', 0);
    expect(before!.toString('utf8')).toBe('a\n');
    expect((await files.read('t.jsonl'))!.length).toBe(0);
    expect(await files.read('missing')).toBeNull();
    await expect(files.create('t.jsonl', 'x')).rejects.toThrow('exists');
  });
});
