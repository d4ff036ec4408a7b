// The chaos suite's own logic: seeded schedules replay, flags round-trip into
// the replay command, and the checks do catch what they are meant to catch.
import assert from "node:assert/strict";
import type { Namespace } from "kubernetes-types/core/v1.d.ts";
import { parseChaosOptions, Prng, replayCommand } from "../../tools/chaos/mod.ts";
import { checkCluster, type ClusterState } from "../../tools/chaos/invariants.ts";
import { checkHostClaims, checkSquatters } from "../../tools/chaos/isolation_invariants.ts";
import { Ledger } from "../../tools/chaos/ledger.ts";
import { checkSingleWriter } from "../../tools/chaos/processes.ts";
import type { Tenant } from "../../lib/api/mod.ts";

Deno.test("Prng: equal seeds give equal sequences, different seeds differ", () => {
  const draw = (seed: number) => {
    const prng = new Prng(seed);
    return Array.from({ length: 20 }, () => prng.between(0, 1000));
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
  const forked = [new Prng(5).fork(1).next(), new Prng(5).fork(2).next()];
  assert.notEqual(forked[0], forked[1]);
});

Deno.test("Prng.weighted never picks a zero weight", () => {
  const prng = new Prng(1);
  for (let i = 0; i < 500; i++) assert.notEqual(prng.weighted({ a: 1, b: 0, c: 3 }), "b");
});

Deno.test("chaos flags round-trip through the replay command", () => {
  const options = parseChaosOptions(["--seed", "9", "--duration", "90s", "--replicas", "3"]);
  assert.equal(options.seed, 9);
  assert.equal(options.durationMs, 90_000);
  const replay = replayCommand(options).replace("deno task chaos ", "").split(" ");
  assert.deepEqual(parseChaosOptions(replay), options);
  assert.throws(() => parseChaosOptions(["--replicas", "0"]), /--replicas/);
  assert.throws(() => parseChaosOptions(["--duration", "soon"]), /--duration/);
});

Deno.test("checkSingleWriter flags overlapping writers and ignores Lease traffic", () => {
  const write = (replica: string, at: number, path = "/api/v1/namespaces") => ({
    replica,
    at,
    method: "POST",
    path,
    status: 201,
  });
  const apart = checkSingleWriter([write("a", 1), write("a", 5), write("b", 9), write("b", 12)]);
  assert.deepEqual(apart.violations, []);
  const leases = "/apis/coordination.k8s.io/v1/namespaces/kleff-system/leases/x";
  const leaseOnly = checkSingleWriter([write("a", 1), write("b", 2, leases), write("a", 5)]);
  assert.deepEqual(leaseOnly.violations, []);
  const overlap = checkSingleWriter([write("a", 1), write("b", 3), write("a", 5)]);
  assert.equal(overlap.violations.length, 1);
  assert.match(overlap.violations[0], /a \(2 writes\) and b/);
});

Deno.test("checkCluster catches a touched foreign namespace and a leaked namespace", () => {
  const ledger = new Ledger();
  ledger.foreignNamespaces.set("foreign-0", {
    namespace: "",
    name: "foreign-0",
    uid: "f0",
    resourceVersion: "10",
  });
  const namespace = (name: string, uid: string, rv: string, owner?: string): Namespace => ({
    metadata: {
      name,
      uid,
      resourceVersion: rv,
      annotations: owner ? { "kleff.io/tenant-uid": owner } : undefined,
    },
  });
  const state: ClusterState = {
    tenants: new Map<string, Tenant>(),
    namespaces: new Map([
      ["foreign-0", namespace("foreign-0", "f0", "11")],
      ["u-1", namespace("u-1", "n1", "5", "uid-of-a-deleted-tenant")],
    ]),
    objects: new Map(),
  };
  const results = new Map(checkCluster(ledger, state).map((r) => [r.name, r.violations]));
  const violations = [...results.values()].flat();
  assert.ok(
    violations.some((v) => v.startsWith("namespace foreign-0: modified")),
    violations.join(),
  );
  assert.ok(violations.some((v) => v.startsWith("Namespace u-1: owner uid")), violations.join());
});

Deno.test("the isolation checks catch a tenant sharing hosts and a reserved namespace given out", () => {
  const tenant = (name: string, username: string, created: string, reason: string): Tenant => ({
    metadata: { name, uid: `uid-${name}`, creationTimestamp: created },
    spec: { userId: `ns-${name}`, username, plan: "free" },
    status: {
      namespace: `ns-${name}`,
      namespaceUID: `nsuid-${name}`,
      conditions: [
        {
          type: "NamespaceReady",
          status: "True",
          reason: "NamespaceActive",
          message: "",
          lastTransitionTime: created,
        },
        {
          type: "PoliciesReady",
          status: reason === "PoliciesApplied" ? "True" : "False",
          reason,
          message: reason === "HostConflict" ? "... of Tenant first, which claimed it first" : "",
          lastTransitionTime: created,
        },
      ],
    },
  });
  const state: ClusterState = {
    tenants: new Map([
      ["first", tenant("first", "alice", "2025-01-01T00:00:00Z", "PoliciesApplied")],
      ["second", tenant("second", "ALICE", "2025-01-02T00:00:00Z", "PoliciesApplied")],
      ["third", tenant("third", "x.alice", "2025-01-03T00:00:00Z", "HostConflict")],
      ["bob", tenant("bob", "bob", "2025-01-04T00:00:00Z", "HostConflict")],
    ]),
    namespaces: new Map([[
      "platform-1",
      {
        metadata: {
          name: "platform-1",
          uid: "p1",
          annotations: { "kleff.io/tenant-uid": "uid-bob" },
        },
      },
    ]]),
    objects: new Map(),
  };
  const hosts = checkHostClaims(state);
  assert.deepEqual(hosts.violations, [
    "second: hosts overlap first's but PoliciesReady PoliciesApplied",
    "bob: HostConflict without an earlier overlapping tenant",
  ]);
  const squatters = checkSquatters(new Ledger(), state);
  assert.deepEqual(squatters.violations, [
    "namespace platform-1 carries the annotation of tenant uid uid-bob",
  ]);
});

Deno.test("checkCluster catches a live tenant whose mesh guard rails are weakened or missing", () => {
  const ledger = new Ledger();
  ledger.tenants.set("t", {
    name: "t",
    uid: "uid-t",
    userId: "u-1",
    plan: "pro",
    username: "t",
    policy: "Delete",
    state: "live",
  });
  const owned = (kind: string, name: string, spec: unknown) =>
    [`${kind} u-1/${name}`, {
      metadata: {
        name,
        namespace: "u-1",
        labels: { "kleff.io/tenant": "t" },
        annotations: { "kleff.io/tenant-uid": "uid-t" },
      },
      spec: spec as Record<string, unknown>,
    }] as const;
  const state = (
    mesh: (readonly [string, { spec?: Record<string, unknown> }])[],
  ): ClusterState => ({
    tenants: new Map([["t", { metadata: { name: "t", uid: "uid-t" } } as Tenant]]),
    namespaces: new Map([["u-1", {
      metadata: { name: "u-1", uid: "n1", annotations: { "kleff.io/tenant-uid": "uid-t" } },
    }]]),
    objects: new Map([
      owned("ResourceQuota", "kleff-quota", {}),
      owned("LimitRange", "kleff-limits", {}),
      owned("NetworkPolicy", "kleff-isolation", {}),
      ...mesh,
    ]),
  });
  const objectProblems = (cluster: ClusterState) =>
    checkCluster(ledger, cluster).find((result) => result.name.startsWith("live tenant has"))!
      .violations.join();
  const intact = objectProblems(state([
    owned("PeerAuthentication", "kleff-mtls", { mtls: { mode: "STRICT" } }),
    owned("Sidecar", "kleff-egress", { egress: [{ hosts: ["./*", "istio-system/*"] }] }),
  ]));
  assert.doesNotMatch(intact, /kleff-mtls|kleff-egress/);
  const weakened = objectProblems(state([
    owned("PeerAuthentication", "kleff-mtls", { mtls: { mode: "PERMISSIVE" } }),
  ]));
  assert.match(weakened, /kleff-mtls spec \{"mtls":\{"mode":"PERMISSIVE"\}\}/);
  assert.match(weakened, /kleff-egress missing/);
});
