/**
 * Property names in criteria: 1 to 5 dot-separated segments, each a letter or _ followed by
 * up to 63 letters, digits or _. A dot steps into a nested object (`address.city`), so a
 * top-level key that itself contains a dot cannot be addressed. The pattern is what makes
 * the JSON path built from a name (`$."address"."city"`) safe: no quote, backslash or `$`.
 */
export const MAX_PROPERTY_SEGMENTS = 5;

const SEGMENT = '[A-Za-z_][A-Za-z0-9_]{0,63}';

export const PROPERTY_NAME_PATTERN = new RegExp(`^${SEGMENT}(?:\\.${SEGMENT}){0,${MAX_PROPERTY_SEGMENTS - 1}}$`);

export const PROPERTY_NAME_RULE =
  `a property name is 1 to ${MAX_PROPERTY_SEGMENTS} dot-separated segments of letters, digits and _, ` +
  'each starting with a letter or _ and at most 64 characters long';

export function propertyPathSegments(property: string): string[] {
  if (!PROPERTY_NAME_PATTERN.test(property)) {
    throw new TypeError(`invalid property name ${JSON.stringify(property)}; validate criteria with parseCriteria`);
  }
  return property.split('.');
}
