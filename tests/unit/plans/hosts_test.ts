// Gateway hosts: rendering from templates and the overlap rule HostConflict rests on.
import assert from "node:assert/strict";
import { hostsOverlap, renderHosts } from "../../../lib/plans/mod.ts";

Deno.test("hostsOverlap: equal names, names under a wildcard, nested wildcards", () => {
  const cases: [string, string, boolean][] = [
    ["*.alice.apps.example.com", "*.alice.apps.example.com", true],
    ["*.ALICE.apps.example.com", "*.alice.apps.example.com", true],
    ["www.alice.apps.example.com", "*.alice.apps.example.com", true],
    ["a.b.alice.apps.example.com", "*.alice.apps.example.com", true],
    ["*.x.alice.apps.example.com", "*.alice.apps.example.com", true],
    ["alice.apps.example.com", "*.alice.apps.example.com", false],
    ["*.xalice.apps.example.com", "*.alice.apps.example.com", false],
    ["*.alice-b.apps.example.com", "*.alice.apps.example.com", false],
    ["alice.example.com", "bob.example.com", false],
    ["alice.example.com", "alice.example.com", true],
    ["*.example.com", "alice.example.com", true],
    ["*.example.com", "*.apps.example.com", true],
  ];
  for (const [a, b, overlap] of cases) {
    assert.equal(hostsOverlap(a, b), overlap, `${a} / ${b}`);
    assert.equal(hostsOverlap(b, a), overlap, `${b} / ${a}`);
  }
});

Deno.test("renderHosts: case and _ are normalised, so look-alike user names give equal hosts", () => {
  const render = (username: string) =>
    renderHosts(["*.{username}.apps.example.com"], { username, userId: "u", tenant: "t" });
  assert.deepEqual(render("ALICE"), render("alice"));
  assert.deepEqual(render("Alice_B"), render("alice-b"));
  assert.deepEqual(render("x.alice"), ["*.x.alice.apps.example.com"]);
  assert.equal(render("-bad"), undefined);
  assert.deepEqual(
    renderHosts(["{tenant}.example.com", "{tenant}.example.com"], {
      username: "u",
      userId: "u",
      tenant: "t",
    }),
    ["t.example.com"],
    "duplicates collapse",
  );
});
