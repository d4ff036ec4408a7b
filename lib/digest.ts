// The digest the operator remembers instead of an object (the audits' planned content, the
// watches' last seen content): collision-resistant, so that no object a tenant admin crafts can
// pass for another, and computed at once, so that a watch is read as fast as it arrives. Outside
// the pure core, next to `hash.ts` (names), since it needs `node:crypto`.
import { createHash } from "node:crypto";

/** SHA-256 of `text`, its first 128 bits as 32 lower-case hex digits. */
export function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}
