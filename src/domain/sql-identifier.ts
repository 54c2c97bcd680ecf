/**
 * Table aliases are the only names the domain splices into SQL text (values and property
 * names are always bound), so they are held to a plain identifier pattern.
 */
const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function assertSqlIdentifier(name: string, what: string): string {
  if (!SQL_IDENTIFIER.test(name)) {
    throw new TypeError(`${what} must match ${SQL_IDENTIFIER.source}; got ${JSON.stringify(name)}`);
  }
  return name;
}
