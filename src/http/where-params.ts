/**
 * Positional parameters of a where clause (`id = $1`, Electric's `params[1]=7`): each `$n`
 * outside string literals, quoted identifiers and comments becomes its value as a quoted
 * literal (`'7'`, quotes doubled), a constant of unknown type that takes the type of what it
 * is compared with, as in Postgres. The shape's definition is the substituted clause, so the
 * same clause with other values is another shape.
 */
export function substituteParams(where: string, params: ReadonlyMap<number, string>): { ok: true; sql: string } | { ok: false; reason: string } {
  let out = '';
  const used = new Set<number>();
  let i = 0;
  const n = where.length;
  while (i < n) {
    const ch = where[i]!;
    const next = where[i + 1];
    let end = i + 1;
    if (ch === "'" || ((ch === 'E' || ch === 'e') && next === "'")) {
      end = stringEnd(where, ch === "'" ? i : i + 1, ch !== "'");
    } else if (ch === '"') {
      end = where.indexOf('"', i + 1);
      while (end !== -1 && where[end + 1] === '"') end = where.indexOf('"', end + 2);
      end = end === -1 ? n : end + 1;
    } else if (ch === '-' && next === '-') {
      end = where.indexOf('\n', i);
      end = end === -1 ? n : end;
    } else if (ch === '/' && next === '*') {
      end = where.indexOf('*/', i + 2);
      end = end === -1 ? n : end + 2;
    } else if (ch === '$') {
      const digits = /^\$(\d+)(?![\w$])/.exec(where.slice(i));
      const tag = digits ? null : /^\$([A-Za-z_][\w]*)?\$/.exec(where.slice(i));
      if (digits) {
        const index = Number(digits[1]);
        const value = params.get(index);
        if (value === undefined) return { ok: false, reason: `$${index} has no value: give params[${index}]` };
        used.add(index);
        out += `'${value.replaceAll("'", "''")}'`;
        i += digits[0].length;
        continue;
      }
      if (tag) {
        // A dollar-quoted string: copied as it is, up to its closing tag.
        const close = where.indexOf(tag[0], i + tag[0].length);
        end = close === -1 ? n : close + tag[0].length;
      }
    } else if (/[\w]/.test(ch)) {
      // A whole word (an identifier may contain `$`: `a$1` is one name).
      const word = /^[\w$]+/.exec(where.slice(i))!;
      end = i + word[0].length;
    }
    out += where.slice(i, end);
    i = end;
  }
  for (const index of params.keys()) if (!used.has(index)) return { ok: false, reason: `params[${index}] is given but the where clause has no $${index}` };
  return { ok: true, sql: out };
}

/** The end of a string literal starting with the quote at `quote` (`''` doubles a quote; `\` escapes in E'...'). */
function stringEnd(text: string, quote: number, backslashes: boolean): number {
  for (let i = quote + 1; i < text.length; i++) {
    if (backslashes && text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === "'") {
      if (text[i + 1] === "'") {
        i++;
        continue;
      }
      return i + 1;
    }
  }
  return text.length;
}
