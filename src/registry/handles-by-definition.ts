import { definitionKey, type ShapeDefinition } from '../shapes/definition.ts';
import { definitionHash } from '../shapes/handle.ts';
import { HandleBuckets } from '../shapes/where-index/handle-buckets.ts';

/**
 * Definition -> handle without keeping the definition's key string (about 110 B a shape): a
 * handle is `<hash of its definition's key>-<micros>` (SPEC), so its shapes are filed under that
 * hash, read off the handle, and a lookup hashes the key it is given and compares it with the
 * key of each shape filed there (built again from its definition: lookups are rare, adds at
 * restore are 100k). A handle of another form (tests') is filed under its key's hash.
 */
export class HandlesByDefinition {
  readonly #buckets = new HandleBuckets<number>();

  constructor(private readonly definitionOf: (handle: string) => ShapeDefinition | undefined) {}

  add(handle: string, definition: ShapeDefinition): void {
    this.#buckets.add(bucketOf(handle, definition), handle);
  }

  delete(handle: string, definition: ShapeDefinition): void {
    this.#buckets.delete(bucketOf(handle, definition), handle);
  }

  /** The first shape filed with this definition key. */
  handleFor(key: string): string | undefined {
    const held = this.#buckets.get(bucket(definitionHash(key)));
    if (held === undefined) return undefined;
    for (const handle of typeof held === 'string' ? [held] : held) {
      const definition = this.definitionOf(handle);
      if (definition && definitionKey(definition) === key) return handle;
    }
    return undefined;
  }
}

const WELL_FORMED = /^(\d{1,10})-\d{1,20}$/;

function bucketOf(handle: string, definition: ShapeDefinition): number {
  const prefix = WELL_FORMED.exec(handle)?.[1];
  return bucket(prefix ?? definitionHash(definitionKey(definition)));
}

/** A small integer (a Smi: no boxed number per shape in the Map). */
function bucket(hash: string): number {
  return Number(hash) & 0x3fffffff;
}
