// resourceVersions ordered as KEP-5504 defines it: canonical decimal integers of any length.
import assert from "node:assert/strict";
import { compareResourceVersions } from "../../../lib/client/mod.ts";

Deno.test("resourceVersions compare as integers of any length", () => {
  assert.equal(compareResourceVersions("9", "10"), -1);
  assert.equal(compareResourceVersions("10", "9"), 1);
  assert.equal(compareResourceVersions("123", "123"), 0);
  assert.equal(
    compareResourceVersions("18446744073709551616", "18446744073709551615"),
    1,
    "beyond 64 bits",
  );
});

Deno.test("anything but a canonical positive integer cannot be ordered", () => {
  for (
    const [a, b] of [["0", "1"], ["01", "2"], ["", "1"], ["abc", "1"], ["1", "-2"], ["1.0", "1"]]
  ) {
    assert.equal(compareResourceVersions(a, b), undefined, `${a} vs ${b}`);
  }
});
