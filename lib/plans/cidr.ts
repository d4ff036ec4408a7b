// CIDR blocks of the network profile: parsed and checked to be canonical (no host bits), so the
// NetworkPolicy the operator writes is accepted and compares equal to what the API server stores.
import { parseIpAddress } from "../ip.ts";

/** A parsed CIDR block. */
export interface Cidr {
  /** `4` or `6`. */
  family: 4 | 6;
  /** The text as written (canonical). */
  text: string;
}

/**
 * Parses `a.b.c.d/n` or `x::y/n`; returns a problem description instead when it is not a CIDR or
 * has host bits set.
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf("/");
  if (slash < 0) return `"${text}" is not a CIDR block (address/prefix, e.g. 10.0.0.0/8)`;
  let bytes: Uint8Array;
  try {
    bytes = parseIpAddress(text.slice(0, slash));
  } catch {
    return `"${text}" is not a CIDR block: bad address`;
  }
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  const bits = bytes.length * 8;
  if (!/^\d{1,3}$/.test(prefixText) || prefix > bits) {
    return `"${text}" is not a CIDR block: prefix must be 0 to ${bits}`;
  }
  for (let bit = prefix; bit < bits; bit++) {
    if (bytes[bit >> 3] & (0x80 >> (bit & 7))) {
      return `"${text}" has host bits set after /${prefix}`;
    }
  }
  return { family: bytes.length === 4 ? 4 : 6, text };
}
