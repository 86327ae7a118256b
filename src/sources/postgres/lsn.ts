import { PostgresSourceError } from './errors.ts';

/**
 * Postgres WAL positions (`16/B374D848`) as JS numbers, so a commit LSN can be
 * the runtime's transaction id. 2^53 bytes of WAL (8 PiB) is far beyond any
 * real server; a position past it is refused rather than rounded.
 */
export function parseLsn(text: string): number {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!match) throw new PostgresSourceError('protocol', `not a WAL position: ${JSON.stringify(text)}`);
  const high = Number.parseInt(match[1]!, 16);
  const low = Number.parseInt(match[2]!, 16);
  if (high >= 2 ** 21) {
    throw new PostgresSourceError('lsn-range', `WAL position ${text} is past 2^53 bytes: it cannot be a transaction id of this runtime`);
  }
  return high * 2 ** 32 + low;
}

export function formatLsn(lsn: number): string {
  if (!Number.isSafeInteger(lsn) || lsn < 0) throw new RangeError(`not a WAL position: ${lsn}`);
  const high = Math.floor(lsn / 2 ** 32);
  const low = lsn - high * 2 ** 32;
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}
