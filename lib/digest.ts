// The digest the operator remembers instead of an object (the audits' planned content, the
// watches' last seen content): collision-resistant, so that no object a tenant admin crafts can
// pass for another, and computed at once, so that a watch is read as fast as it arrives. Outside
// the pure core, next to `hash.ts` (names), since it needs `node:crypto`.
import type { Buffer } from "node:buffer";
import { createHash } from "node:crypto";

/** Bytes of a {@linkcode digestBytes} result. */
export const DIGEST_BYTES = 16;

/**
 * SHA-256 of `text`, its first 128 bits as 32 lower-case hex digits (a string of its own, not a
 * slice that would keep the whole 64-digit one alive).
 */
export function digest(text: string): string {
  return digestBytes(text).toString("hex", 0, DIGEST_BYTES);
}

/**
 * SHA-256 of `text`: its first {@linkcode DIGEST_BYTES} bytes are the digest (the rest is
 * ignored).
 */
export function digestBytes(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
