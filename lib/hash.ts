// One short, stable, non-cryptographic hash for names and cache keys (event names, OpenAPI URLs).

const encoder = new TextEncoder();

/**
 * FNV-1a 64-bit over the UTF-8 bytes of `text`, as 16 lower-case hex digits. Computed in four
 * 16-bit limbs, so it needs no BigInt arithmetic per byte.
 */
export function fnv1a64(text: string): string {
  // offset basis 0xcbf29ce484222325, least significant limb first
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  for (const byte of encoder.encode(text)) {
    h0 ^= byte;
    // multiply by the prime 0x100000001b3 = 2^40 + 0x1b3, modulo 2^64
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + h0 * 0x100 + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + h1 * 0x100 + (t2 >>> 16);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return [h3, h2, h1, h0].map((limb) => limb.toString(16).padStart(4, "0")).join("");
}
