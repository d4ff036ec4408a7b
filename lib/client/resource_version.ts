// Orders two resourceVersions of one resource, as Kubernetes defines it since 1.35 (KEP-5504,
// client-go's `CompareResourceVersion`): decimal integers without leading zeros, compared as
// numbers of any length. Anything else (another server's opaque versions) is not comparable.

const CANONICAL = /^[1-9][0-9]*$/;

/**
 * -1, 0 or 1 as resourceVersion `a` is older than, the same as or newer than `b` (both of one
 * resource), or `undefined` when either is not a canonical positive decimal integer: then
 * nothing may be concluded from their order.
 */
export function compareResourceVersions(a: string, b: string): -1 | 0 | 1 | undefined {
  if (!CANONICAL.test(a) || !CANONICAL.test(b)) return undefined;
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}
