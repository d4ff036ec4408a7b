// The operator's tenant index: events map to the tenant owning their namespace (never to a label),
// and the host claims that decide HostConflict, in claim order, with the tenants to wake on a change.
import assert from "node:assert/strict";
import { HostIndex } from "../../../lib/operator/host_index.ts";
import { TenantIndex, type WatchedTenant } from "../../../lib/operator/tenant_index.ts";
import { hostsOverlap } from "../../../lib/plans/mod.ts";

function tenant(
  name: string,
  username: string,
  options: { created?: string; namespace?: string; uid?: string } = {},
): WatchedTenant {
  return {
    metadata: {
      name,
      uid: options.uid ?? `uid-${name}`,
      creationTimestamp: options.created ?? "2025-01-01T00:00:00Z",
    },
    spec: { userId: `ns-${name}`, username, plan: "basic" },
    status: options.namespace === undefined ? undefined : { namespace: options.namespace },
  };
}

Deno.test("HostIndex finds exactly the claims hostsOverlap says overlap", () => {
  const hosts = [
    "*.alice.apps.example.com",
    "alice.apps.example.com",
    "www.alice.apps.example.com",
    "*.x.alice.apps.example.com",
    "*.bob.apps.example.com",
    "*.apps.example.com",
    "*.example.org",
    "a.b.example.org",
  ];
  const index = new HostIndex();
  hosts.forEach((host, i) => index.add(`t${i}`, host));
  for (const host of [...hosts, "*.carol.apps.example.com", "example.org", "*.b.example.org"]) {
    const expected = hosts.flatMap((other, i) => hostsOverlap(host, other) ? [`t${i}`] : []);
    assert.deepEqual([...index.overlapping(host)].sort(), expected.sort(), host);
  }
  hosts.forEach((host, i) => index.remove(`t${i}`, host));
  for (const host of hosts) assert.equal(index.overlapping(host).size, 0, host);
});

Deno.test("events map to the tenant whose status names the namespace; labels are not asked", () => {
  const index = new TenantIndex({ gatewayHosts: ["*.{username}.apps.example.com"] });
  index.update(tenant("a", "alice", { namespace: "ns-a" }));
  index.update(tenant("b", "bob"));
  assert.deepEqual([...index.tenantsIn("ns-a")], ["a"]);
  assert.deepEqual([...index.tenantsIn("ns-b")], [], "no status yet: nobody");
  index.claimNamespace("b", "ns-b");
  assert.deepEqual([...index.tenantsIn("ns-b")], ["b"], "a decision's claim counts at once");
  index.update(tenant("b", "bob"));
  assert.deepEqual([...index.tenantsIn("ns-b")], ["b"], "a lagging watch event does not undo it");
  index.claimNamespace("b", undefined);
  assert.deepEqual([...index.tenantsIn("ns-b")], []);
  index.remove("a");
  assert.deepEqual([...index.tenantsIn("ns-a")], []);
  assert.equal(
    index.ownerOf({ metadata: { annotations: { "kleff.io/tenant-uid": "uid-b" } } }),
    "b",
    "cluster-scoped objects still map by annotation",
  );
});

Deno.test("host claims come from earlier tenants only, in claim order; changes wake later ones", () => {
  const index = new TenantIndex({ gatewayHosts: ["*.{username}.apps.example.com"] });
  assert.deepEqual(index.update(tenant("first", "alice", { created: "2025-01-01T00:00:00Z" })), []);
  assert.deepEqual(
    index.update(tenant("second", "ALICE", { created: "2025-01-02T00:00:00Z" })),
    [],
    "a later claim changes nothing for the first claimant",
  );
  index.update(tenant("nested", "x.alice", { created: "2025-01-03T00:00:00Z" }));
  index.update(tenant("b-same-time", "Alice", { created: "2025-01-01T00:00:00Z" }));
  index.update(tenant("other", "bob", { created: "2024-01-01T00:00:00Z" }));
  const claims = (name: string, created: string, hosts: string[]) =>
    index.hostClaims({ metadata: { name, creationTimestamp: created } }, hosts);
  assert.deepEqual(claims("other", "2024-01-01T00:00:00Z", ["*.alice.apps.example.com"]), []);
  assert.deepEqual(
    claims("first", "2025-01-01T00:00:00Z", ["*.alice.apps.example.com"]).map((c) => c.tenant),
    ["b-same-time"],
    "created in the same second: the name decides",
  );
  assert.deepEqual(
    claims("second", "2025-01-02T00:00:00Z", ["*.alice.apps.example.com"]).map((c) => c.tenant),
    ["b-same-time", "first"],
    "older first; same time: by name",
  );
  assert.deepEqual(
    claims("nested", "2025-01-03T00:00:00Z", ["*.x.alice.apps.example.com"]),
    [
      { tenant: "b-same-time", hosts: ["*.alice.apps.example.com"] },
      { tenant: "first", hosts: ["*.alice.apps.example.com"] },
      { tenant: "second", hosts: ["*.alice.apps.example.com"] },
    ],
  );
  assert.deepEqual(
    index.remove("first").sort(),
    ["nested", "second"],
    "a deleted claim wakes the later claimants, not b-same-time, which came before it",
  );
  assert.deepEqual(
    index.update(tenant("second", "carol", { created: "2025-01-02T00:00:00Z" })).sort(),
    ["nested"],
    "a user name change wakes the later tenants its old hosts overlapped",
  );
  assert.deepEqual(
    index.update(tenant("second", "carol", { created: "2025-01-02T00:00:00Z" })),
    [],
  );
});
