/**
 * Bounds of a user's or an event's `properties`: how deep objects and arrays nest, and how large
 * the whole is as JSON. Checked without recursion, so a hostile 100,000-deep value cannot
 * overflow the stack on its way to a clear 400.
 */
export const MAX_PROPERTY_DEPTH = 8;
export const MAX_PROPERTIES_BYTES = 32 * 1024;

/** Why the value is out of bounds, or null when it is within them. */
export function propertiesProblem(value: unknown): string | null {
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= MAX_PROPERTY_DEPTH) {
      return `nests objects and arrays more than ${MAX_PROPERTY_DEPTH} levels deep`;
    }
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  // Depth is bounded now, so stringify cannot overflow.
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > MAX_PROPERTIES_BYTES) {
    return `is ${bytes} bytes as JSON; at most ${MAX_PROPERTIES_BYTES} are allowed`;
  }
  return null;
}
