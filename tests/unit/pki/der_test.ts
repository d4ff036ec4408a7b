// Byte-exact checks of the DER encoder against encodings from X.690 and RFC 5280 examples.
import assert from "node:assert/strict";
import {
  DerEncodingError,
  namedBits,
  objectIdentifier,
  octetString,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from "../../../lib/pki/der.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("objectIdentifier encodes multi-byte arcs", () => {
  assert.equal(hex(objectIdentifier("1.2.840.10045.4.3.2")), "06082a8648ce3d040302");
  assert.equal(hex(objectIdentifier("2.5.29.19")), "0603551d13");
  assert.throws(() => objectIdentifier("1"), DerEncodingError);
  assert.throws(() => objectIdentifier("1.2.x"), DerEncodingError);
});

Deno.test("integers are minimal and non-negative", () => {
  assert.equal(hex(smallInteger(0)), "020100");
  assert.equal(hex(smallInteger(2)), "020102");
  assert.equal(hex(smallInteger(128)), "02020080");
  assert.equal(hex(smallInteger(256)), "02020100");
  assert.equal(hex(unsignedInteger(Uint8Array.of(0, 0, 0x7f))), "02017f");
  assert.equal(hex(unsignedInteger(Uint8Array.of(0, 0xff))), "020200ff");
  assert.throws(() => smallInteger(-1), DerEncodingError);
});

Deno.test("lengths switch to the long form from 128 bytes", () => {
  assert.equal(hex(octetString(new Uint8Array(127)).subarray(0, 2)), "047f");
  assert.equal(hex(octetString(new Uint8Array(200)).subarray(0, 3)), "0481c8");
  assert.equal(hex(octetString(new Uint8Array(300)).subarray(0, 4)), "0482012c");
});

Deno.test("named bit strings drop trailing zero bits", () => {
  assert.equal(hex(namedBits([0, 5, 6])), "03020186");
  assert.equal(hex(namedBits([0])), "03020780");
  assert.equal(hex(namedBits([0, 2])), "030205a0");
  assert.equal(hex(namedBits([8])), "0303070080");
});

Deno.test("SET sorts its elements by encoding", () => {
  assert.equal(hex(set([smallInteger(2), smallInteger(1)])), "3106020101020102");
});

Deno.test("times use UTCTime before 2050 and GeneralizedTime after", () => {
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes.subarray(2));
  const utc = time(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
  assert.equal(utc[0], 0x17);
  assert.equal(decode(utc), "260102030405Z");
  const generalized = time(new Date(Date.UTC(2050, 11, 31, 23, 59, 59)));
  assert.equal(generalized[0], 0x18);
  assert.equal(decode(generalized), "20501231235959Z");
  assert.throws(() => time(new Date(NaN)), DerEncodingError);
});

Deno.test("utf8String keeps non-ASCII text", () => {
  assert.equal(hex(utf8String("é")), "0c02c3a9");
});
