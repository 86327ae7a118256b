/**
 * LIKE and ILIKE as Postgres matches them (`like_match.c`, `MatchText`): `%` any run of
 * characters, `_` one character, `\` makes the next pattern character literal. A pattern ending in
 * a lone `\` is an error in Postgres only when matching reaches it (`'b' LIKE 'a\'` is false,
 * `'ab' LIKE 'a\'` raises): here that row's match is UNKNOWN.
 *
 * ILIKE lowers both sides first, as Postgres does under the C collation: ASCII letters only
 * (`'é' ILIKE 'É'` is false). Under another collation Postgres folds by that locale: the runtime
 * refuses ILIKE on such columns at `add`.
 */

/** true / false, or 'error' where Postgres would raise "LIKE pattern must not end with escape character". */
export type LikeResult = boolean | 'error';

const TRUE = 1;
const FALSE = 0;
const ABORT = -1;
const ERROR = -2;

export function likeMatch(text: string, pattern: string, caseInsensitive: boolean): LikeResult {
  const t = Array.from(caseInsensitive ? asciiLower(text) : text);
  const p = Array.from(caseInsensitive ? asciiLower(pattern) : pattern);
  const r = match(t, 0, p, 0);
  return r === ERROR ? 'error' : r === TRUE;
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** MatchText over code points (Postgres walks UTF-8 bytes in lockstep; the outcome is the same). */
function match(t: readonly string[], ti: number, p: readonly string[], pi: number): number {
  if (p.length - pi === 1 && p[pi] === '%') return TRUE;
  while (ti < t.length && pi < p.length) {
    const pc = p[pi]!;
    if (pc === '\\') {
      pi++;
      if (pi >= p.length) return ERROR;
      if (p[pi] !== t[ti]) return FALSE;
    } else if (pc === '%') {
      pi++;
      while (pi < p.length) {
        if (p[pi] === '%') pi++;
        else if (p[pi] === '_') {
          if (ti >= t.length) return ABORT;
          ti++;
          pi++;
        } else break;
      }
      if (pi >= p.length) return TRUE;
      let first: string;
      if (p[pi] === '\\') {
        if (p.length - pi < 2) return ERROR;
        first = p[pi + 1]!;
      } else first = p[pi]!;
      while (ti < t.length) {
        if (t[ti] === first) {
          const matched = match(t, ti, p, pi);
          if (matched !== FALSE) return matched;
        }
        ti++;
      }
      return ABORT;
    } else if (pc === '_') {
      ti++;
      pi++;
      continue;
    } else if (pc !== t[ti]) return FALSE;
    ti++;
    pi++;
  }
  if (ti < t.length) return FALSE;
  while (pi < p.length && p[pi] === '%') pi++;
  return pi >= p.length ? TRUE : ABORT;
}
