// One digest for everything the operator remembers of an object instead of the object itself (the
// audits' planned content, the watches' last seen content): collision-resistant, so that no object
// a tenant admin crafts can pass for another, and computed at once, so that a watch is read as fast
// as it arrives.
import { createHash } from "node:crypto";

/** SHA-256 of `content`, its first 128 bits in hex. */
export function digest(content: string): string {
  return createHash("sha256").update(content).digest("hex").slice(0, 32);
}
