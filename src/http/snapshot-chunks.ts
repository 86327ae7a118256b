import type { LogOffset } from '../shapes/log-offset.ts';

/** A page of a shape's log as the body's messages (JSON, without the array's brackets). */
export interface EncodedPage {
  readonly messages: string;
  readonly next: LogOffset;
  readonly snapshotEnded: boolean;
  readonly entries: number;
}

/**
 * Encoded snapshot chunks, kept (about `maxBytes` of them, least recently used dropped first):
 * a handle's snapshot never changes (a shape created again gets a new handle), so every later
 * client of a shape gets its initial sync without it being read and encoded again, as a CDN
 * would serve Electric's week-long `offset=-1` responses. Concurrent first readers share one read.
 */
export class SnapshotChunkCache {
  readonly #chunks = new Map<string, { page: Promise<EncodedPage>; bytes: number }>();
  #bytes = 0;

  constructor(readonly maxBytes = 64 * 1024 * 1024) {}

  get(handle: string, offset: LogOffset, chunkBytes: number, load: () => Promise<EncodedPage>): Promise<EncodedPage> {
    const key = `${handle} ${offset.tx}_${offset.op} ${chunkBytes}`;
    const cached = this.#chunks.get(key);
    if (cached) {
      this.#chunks.delete(key);
      this.#chunks.set(key, cached);
      return cached.page;
    }
    const entry = { page: load(), bytes: 0 };
    this.#chunks.set(key, entry);
    entry.page.then(
      (page) => {
        if (this.#chunks.get(key) !== entry) return;
        entry.bytes = page.messages.length;
        this.#bytes += entry.bytes;
        for (const [k, e] of this.#chunks) {
          if (this.#bytes <= this.maxBytes) break;
          this.#chunks.delete(k);
          this.#bytes -= e.bytes;
        }
      },
      () => this.#chunks.get(key) === entry && this.#chunks.delete(key),
    );
    return entry.page;
  }
}
