// IP address parsing for iPAddress subjectAltNames, and which hosts are loopback.
import assert from "node:assert/strict";
import { InvalidIpAddressError, isLoopbackHost, parseIpAddress } from "../../lib/ip.ts";

const text = (bytes: Uint8Array) => Array.from(bytes).join(",");

Deno.test("parses IPv4", () => {
  assert.equal(text(parseIpAddress("127.0.0.1")), "127,0,0,1");
  assert.equal(text(parseIpAddress("255.255.255.0")), "255,255,255,0");
});

Deno.test("parses IPv6 with and without compression", () => {
  assert.equal(text(parseIpAddress("::1")), "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1");
  assert.equal(text(parseIpAddress("::")), "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0");
  assert.equal(text(parseIpAddress("fe80::a:B")), "254,128,0,0,0,0,0,0,0,0,0,0,0,10,0,11");
  assert.equal(
    text(parseIpAddress("2001:db8:0:0:1:0:0:1")),
    "32,1,13,184,0,0,0,0,0,1,0,0,0,0,0,1",
  );
  assert.equal(text(parseIpAddress("::ffff:10.1.2.3")), "0,0,0,0,0,0,0,0,0,0,255,255,10,1,2,3");
});

Deno.test("rejects what is not an address", () => {
  for (
    const bad of [
      "",
      "localhost",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "1:2:3:4::5:6:7:8",
      "12345::",
      "1.2.3.4::",
      "::g",
    ]
  ) {
    assert.throws(() => parseIpAddress(bad), InvalidIpAddressError, bad);
  }
});

Deno.test("loopback hosts: localhost, 127.0.0.0/8, ::1 and its IPv4-mapped form", () => {
  for (const host of ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"]) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  assert.equal(isLoopbackHost("::ffff:127.0.0.1"), true);
  for (
    const host of [
      "10.0.0.1",
      "0.0.0.0",
      "::",
      "::2",
      "::ffff:10.0.0.1",
      "k.example",
      "localhost.evil.com",
      "128.0.0.1",
    ]
  ) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});
