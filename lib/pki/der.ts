// A minimal DER (ITU-T X.690) encoder: only the ASN.1 types an X.509 certificate needs,
// so certificates can be built without a third-party ASN.1 dependency.

/** Thrown when a value cannot be represented in the requested ASN.1 type. */
export class DerEncodingError extends Error {
  /** Builds the error from a description of the offending value. */
  constructor(message: string) {
    super(message);
    this.name = "DerEncodingError";
  }
}

/** Concatenates byte arrays into one. */
function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Encodes one tag-length-value element with a single-byte tag. */
function tlv(tag: number, content: Uint8Array): Uint8Array<ArrayBuffer> {
  return concatBytes([Uint8Array.of(tag), encodeLength(content.length), content]);
}

/** The minimal big-endian bytes of a non-negative integer (none for 0). */
function bigEndian(value: number): number[] {
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return bytes;
}

function encodeLength(length: number): Uint8Array<ArrayBuffer> {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes = bigEndian(length);
  return Uint8Array.from([0x80 | bytes.length, ...bytes]);
}

/** SEQUENCE of already-encoded elements. */
export function sequence(elements: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  return tlv(0x30, concatBytes(elements));
}

/** SET of already-encoded elements (DER order: sorted by encoding). */
export function set(elements: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const sorted = [...elements].sort(compareBytes);
  return tlv(0x31, concatBytes(sorted));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** BOOLEAN. */
export function boolean(value: boolean): Uint8Array<ArrayBuffer> {
  return tlv(0x01, Uint8Array.of(value ? 0xff : 0x00));
}

/** Non-negative INTEGER from its big-endian magnitude, minimally encoded. */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array<ArrayBuffer> {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.length === 0 ? Uint8Array.of(0) : magnitude.subarray(start);
  const content = trimmed[0] & 0x80 ? concatBytes([Uint8Array.of(0), trimmed]) : trimmed;
  return tlv(0x02, content);
}

/** Small non-negative INTEGER (e.g. a version number). */
export function smallInteger(value: number): Uint8Array<ArrayBuffer> {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new DerEncodingError(`INTEGER: ${value} is not a non-negative safe integer`);
  }
  return unsignedInteger(Uint8Array.from(bigEndian(value)));
}

/** OBJECT IDENTIFIER from dotted notation, e.g. "2.5.4.3". */
export function objectIdentifier(dotted: string): Uint8Array<ArrayBuffer> {
  const arcs = dotted.split(".").map((arc) => /^\d+$/.test(arc) ? Number(arc) : NaN);
  if (arcs.length < 2 || arcs.some((arc) => !Number.isSafeInteger(arc)) || arcs[0] > 2) {
    throw new DerEncodingError(`OBJECT IDENTIFIER: "${dotted}" is not a dotted OID`);
  }
  const bytes: number[] = [];
  for (const arc of [arcs[0] * 40 + arcs[1], ...arcs.slice(2)]) {
    const base128 = [arc % 128];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) {
      base128.unshift(0x80 | (rest % 128));
    }
    bytes.push(...base128);
  }
  return tlv(0x06, Uint8Array.from(bytes));
}

/** BIT STRING whose last `unusedBits` bits are padding. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Uint8Array<ArrayBuffer> {
  return tlv(0x03, concatBytes([Uint8Array.of(unusedBits), bytes]));
}

/** BIT STRING of named bits (bit 0 is the most significant), trailing zeros dropped. */
export function namedBits(bits: readonly number[]): Uint8Array<ArrayBuffer> {
  const highest = Math.max(-1, ...bits);
  const bytes = new Uint8Array(Math.ceil((highest + 1) / 8));
  for (const bit of bits) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  return bitString(bytes, bytes.length * 8 - (highest + 1));
}

/** OCTET STRING. */
export function octetString(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return tlv(0x04, bytes);
}

/** UTF8String. */
export function utf8String(text: string): Uint8Array<ArrayBuffer> {
  return tlv(0x0c, new TextEncoder().encode(text));
}

/** ASCII bytes of `text`; throws {@linkcode DerEncodingError} for other characters. */
export function asciiBytes(text: string, type: string): Uint8Array<ArrayBuffer> {
  if ([...text].some((char) => char.charCodeAt(0) > 0x7f)) {
    throw new DerEncodingError(`${type}: "${text}" contains non-ASCII characters`);
  }
  return new TextEncoder().encode(text);
}

/** X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
export function time(date: Date): Uint8Array<ArrayBuffer> {
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 1950 || year > 9999) {
    throw new DerEncodingError(`Time: ${date} is outside 1950..9999`);
  }
  const rest = [date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours()]
    .concat([date.getUTCMinutes(), date.getUTCSeconds()])
    .map((part) => String(part).padStart(2, "0")).join("");
  return year < 2050
    ? tlv(0x17, asciiBytes(`${String(year % 100).padStart(2, "0")}${rest}Z`, "UTCTime"))
    : tlv(0x18, asciiBytes(`${year}${rest}Z`, "GeneralizedTime"));
}

/** Context-specific constructed tag [number] wrapping an encoded element (EXPLICIT). */
export function explicit(tagNumber: number, element: Uint8Array): Uint8Array<ArrayBuffer> {
  return tlv(0xa0 | tagNumber, element);
}

/** Context-specific primitive tag [number] over raw content (IMPLICIT primitive). */
export function implicit(tagNumber: number, content: Uint8Array): Uint8Array<ArrayBuffer> {
  return tlv(0x80 | tagNumber, content);
}
