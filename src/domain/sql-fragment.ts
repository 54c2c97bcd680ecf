/**
 * SQL text with its bound values kept apart. The `sql` tag turns every interpolated value
 * into a parameter; only other fragments and `trusted` text (names the compiler owns) become
 * SQL text. Placeholders are written only when a fragment is rendered for a dialect, so the
 * same fragment renders as `?` for SQLite and `$n` for PostgreSQL.
 */

/** A bound value. Arrays are for PostgreSQL (`text[]` paths, `ANY($n)` lists). */
export type SqlParam = string | number | null | readonly string[];

export class Sql {
  /** `chunks.length === params.length + 1`: a placeholder stands between each two chunks. */
  constructor(
    readonly chunks: readonly string[],
    readonly params: readonly SqlParam[],
  ) {}

  /** Text with placeholders `placeholder(first)`, `placeholder(first + 1)`, … */
  render(placeholder: (index: number) => string, first = 1): { text: string; params: SqlParam[] } {
    let text = this.chunks[0] ?? '';
    this.params.forEach((_, i) => {
      text += placeholder(first + i) + (this.chunks[i + 1] ?? '');
    });
    return { text, params: [...this.params] };
  }
}

function concat(pieces: readonly (Sql | string)[]): Sql {
  const chunks: string[] = [''];
  const params: SqlParam[] = [];
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      chunks[chunks.length - 1] += piece;
      continue;
    }
    chunks[chunks.length - 1] += piece.chunks[0] ?? '';
    for (let i = 0; i < piece.params.length; i++) {
      params.push(piece.params[i]!);
      chunks.push(piece.chunks[i + 1] ?? '');
    }
  }
  return new Sql(chunks, params);
}

/** Interpolated values are bound as parameters; only `Sql` fragments are inlined. */
export function sql(strings: TemplateStringsArray, ...parts: (Sql | SqlParam)[]): Sql {
  const pieces: (Sql | string)[] = [strings[0] ?? ''];
  parts.forEach((part, index) => {
    pieces.push(part instanceof Sql ? part : new Sql(['', ''], [part]), strings[index + 1] ?? '');
  });
  return concat(pieces);
}

/** For the few names the compiler itself owns (aliases, operators), never for input. */
export function trusted(text: string): Sql {
  return new Sql([text], []);
}

export function join(fragments: readonly Sql[], operator: 'AND' | 'OR'): Sql {
  const pieces: (Sql | string)[] = ['('];
  fragments.forEach((fragment, i) => pieces.push(...(i === 0 ? [] : [` ${operator} `]), fragment));
  pieces.push(')');
  return concat(pieces);
}

export function not(fragment: Sql): Sql {
  return sql`(NOT ${fragment})`;
}
