// End-to-end: the mesh guard rails (PeerAuthentication kleff-mtls, Sidecar kleff-egress) with
// Istio's CRDs installed while the operator runs and without them, the plan's mesh settings and
// the lockdown, the version each kind is served at, a tenant admin's attempts to weaken them, and
// teardown with Delete and Retain.
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import {
  customResourceDefinitions,
  isNotFound,
  type KubeClient,
  type KubeObject,
  type ResourceDescriptor,
} from "../../../lib/client/mod.ts";
import { loadPlans } from "../../../lib/operator/plan_source.ts";
import { devOnly, eventually, OperatorEnv } from "../../support/operator_env.ts";
import { connectAs, grantTenantAdmin } from "../../support/identities.ts";

const PEER_AUTHENTICATIONS: ResourceDescriptor = {
  group: "security.istio.io",
  version: "v1",
  plural: "peerauthentications",
  kind: "PeerAuthentication",
  namespaced: true,
};
const SIDECARS: ResourceDescriptor = {
  group: "networking.istio.io",
  version: "v1",
  plural: "sidecars",
  kind: "Sidecar",
  namespaced: true,
};
const MESH_CRDS = ["istio_peer_authentication.yaml", "istio_sidecar.yaml"];
const OTHER_CRDS = ["istio_gateway.yaml", "istio_authorization_policy.yaml"];

/** Plans: `basic` with the mesh defaults, `open` with PERMISSIVE mTLS and a shared namespace. */
const PLANS = `plans:
  basic: {}
  open:
    mesh:
      mtls: PERMISSIVE
      egressHosts: [shared/*, ./api.example.com]
`;

async function find(
  client: KubeClient,
  resource: ResourceDescriptor,
  name: string,
  namespace: string,
): Promise<KubeObject | undefined> {
  try {
    return await client.resource<KubeObject>(resource).get(name, { namespace });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Waits until `name` in `namespace` is the operator's (tenant `t`) with exactly `spec`. */
function specOf(
  env: OperatorEnv,
  resource: ResourceDescriptor,
  name: string,
  options: { namespace: string; spec: unknown; tenant?: string },
): Promise<KubeObject> {
  return eventually(
    `${name} in ${options.namespace} is ${JSON.stringify(options.spec)}`,
    async () => {
      const object = await find(env.client, resource, name, options.namespace);
      return object?.metadata?.labels?.["kleff.io/tenant"] === (options.tenant ?? "t") &&
          object.metadata.annotations?.["kleff.io/tenant-uid"] !== undefined &&
          isDeepStrictEqual(object.spec, options.spec)
        ? object
        : undefined;
    },
  );
}

/** Starts the operator on the {@linkcode PLANS} catalogue, written to a file. */
async function startOnPlans(env: OperatorEnv, meshEgressNamespaces?: string[]): Promise<void> {
  const path = await Deno.makeTempFile({ prefix: "kleff-mesh-plans-", suffix: ".yaml" });
  await Deno.writeTextFile(path, PLANS);
  const plans = await loadPlans({ kind: "file", path });
  await Deno.remove(path);
  env.startOperator({ plans, meshEgressNamespaces });
}

/** A fixture CRD serving only `versions` (the first of them stored). */
async function crdServing(file: string, versions: string[]): Promise<CustomResourceDefinition> {
  const crd = parse(
    await Deno.readTextFile(new URL(`../../fixtures/crds/${file}`, import.meta.url)),
  ) as CustomResourceDefinition;
  crd.spec.versions = crd.spec.versions.filter((version) => versions.includes(version.name))
    .map((version) => ({ ...version, storage: version.name === versions[0] }));
  return crd;
}

Deno.test("mesh kinds installed at run time: strict mTLS and a scoped Sidecar, the plan's settings, the lockdown", async () => {
  await using env = await OperatorEnv.start({ operator: false });
  await startOnPlans(env, ["monitoring"]);
  await env.createTenant("t", { userId: "ns-t", username: "t", plan: "basic" });
  // Every tenant's Sidecar imports the --mesh-egress-namespaces: no tenant may own one.
  await env.createTenant("squatter", { userId: "monitoring", username: "m", plan: "basic" });
  const refused = await env.waitForCondition("squatter", "NamespaceReady", "False", "InvalidSpec");
  assert.match(refused.message ?? "", /namespace monitoring is reserved for the platform/);
  const without = await env.waitForCondition("t", "PoliciesReady", "True", "NotInstalled");
  assert.match(
    without.message ?? "",
    /not installed in the cluster, so not enforced: .*security\.istio\.io PeerAuthentication, networking\.istio\.io Sidecar/,
  );
  await env.installIntegrationCrds(OTHER_CRDS);
  await env.waitForCondition("t", "PoliciesReady", "True", "NotInstalled");
  await eventually("only the mesh kinds are missing", async () => {
    const message = (await env.condition("t", "PoliciesReady"))?.message ?? "";
    return /AuthorizationPolicy kleff-authz in place/.test(message) &&
      /enforced: security\.istio\.io PeerAuthentication, networking\.istio\.io Sidecar$/.test(
        message,
      );
  });

  await env.installIntegrationCrds(MESH_CRDS);
  const applied = await env.waitForCondition("t", "PoliciesReady", "True", "PoliciesApplied");
  assert.match(
    applied.message ?? "",
    /PeerAuthentication kleff-mtls \(STRICT\), Sidecar kleff-egress/,
  );
  const mtls = await specOf(env, PEER_AUTHENTICATIONS, "kleff-mtls", {
    namespace: "ns-t",
    spec: { mtls: { mode: "STRICT" } },
  });
  assert.equal(mtls.apiVersion, "security.istio.io/v1", "the preferred version");
  await specOf(env, SIDECARS, "kleff-egress", {
    namespace: "ns-t",
    spec: { egress: [{ hosts: ["./*", "istio-system/*", "monitoring/*"] }] },
  });
  await env.waitForCondition("t", "TenantReady", "True");

  await env.tenants.patch("t", { spec: { plan: "open" } });
  await specOf(env, PEER_AUTHENTICATIONS, "kleff-mtls", {
    namespace: "ns-t",
    spec: { mtls: { mode: "PERMISSIVE" } },
  });
  await specOf(env, SIDECARS, "kleff-egress", {
    namespace: "ns-t",
    spec: {
      egress: [{
        hosts: ["./*", "istio-system/*", "monitoring/*", "shared/*", "./api.example.com"],
      }],
    },
  });

  await env.tenants.patch("t", { spec: { plan: "gold" } });
  const locked = await env.waitForCondition("t", "PoliciesReady", "False", "UnknownPlan");
  assert.match(locked.message ?? "", /PeerAuthentication kleff-mtls \(STRICT\)/);
  await specOf(env, PEER_AUTHENTICATIONS, "kleff-mtls", {
    namespace: "ns-t",
    spec: { mtls: { mode: "STRICT" } },
  });
  await specOf(env, SIDECARS, "kleff-egress", {
    namespace: "ns-t",
    spec: { egress: [{ hosts: ["./*", "istio-system/*", "monitoring/*"] }] },
  });
  const fresh = "fresh";
  await env.createTenant(fresh, { userId: "ns-fresh", username: "f", plan: "gold" });
  await specOf(env, PEER_AUTHENTICATIONS, "kleff-mtls", {
    namespace: "ns-fresh",
    spec: { mtls: { mode: "STRICT" } },
    tenant: fresh,
  });

  // Istio uninstalled: the kind is no longer served, and the condition says so.
  await env.tenants.patch("t", { spec: { plan: "basic" } });
  await env.waitForCondition("t", "TenantReady", "True");
  await env.client.resource(customResourceDefinitions).delete("sidecars.networking.istio.io");
  const gone = await env.waitForCondition("t", "PoliciesReady", "True", "NotInstalled");
  assert.match(gone.message ?? "", /enforced: networking\.istio\.io Sidecar$/);
});

Deno.test({
  name: "the version each mesh kind is served at is the one used, and a new version costs no write",
  ...devOnly("CRDs served the moment they are created, and its request counters"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  const crds = env.client.resource<CustomResourceDefinition>(customResourceDefinitions);
  await crds.create(await crdServing("istio_peer_authentication.yaml", ["v1beta1"]));
  await crds.create(await crdServing("istio_sidecar.yaml", ["v1alpha3"]));
  env.startOperator();
  await env.createTenant("t", { userId: "ns-t", username: "t", plan: "basic" });
  await env.waitForCondition("t", "TenantReady", "True");
  const beta = { ...PEER_AUTHENTICATIONS, version: "v1beta1" };
  const alpha = { ...SIDECARS, version: "v1alpha3" };
  assert.equal(
    (await find(env.client, beta, "kleff-mtls", "ns-t"))?.apiVersion,
    "security.istio.io/v1beta1",
  );
  assert.equal(
    (await find(env.client, alpha, "kleff-egress", "ns-t"))?.apiVersion,
    "networking.istio.io/v1alpha3",
  );
  const paCreates = env.server.counters.count({ verb: "create", resource: "peerauthentications" });
  assert.equal(paCreates, 1);

  // Istio upgraded: v1 is served too and becomes the preferred version.
  for (
    const [file, versions] of [["istio_peer_authentication.yaml", ["v1beta1", "v1"]], [
      "istio_sidecar.yaml",
      ["v1alpha3", "v1beta1", "v1"],
    ]] as const
  ) {
    const current = await crds.get((await crdServing(file, [...versions])).metadata!.name!);
    const next = await crdServing(file, [...versions]);
    await crds.patch(current.metadata!.name!, { spec: { versions: next.spec.versions } });
  }
  await eventually("discovery found v1", () => {
    const { peerAuthentication, sidecar } = env.manager!.context.integrations;
    return peerAuthentication?.version === "v1" && sidecar?.version === "v1";
  });
  const writes = env.writes("peerauthentications") + env.writes("sidecars");
  const seen = env.reconciles();
  await env.tenants.patch("t", { metadata: { labels: { nudge: "1" } } });
  await env.settled({ reconcilesAfter: seen });
  assert.equal(env.writes("peerauthentications") + env.writes("sidecars"), writes);
  assert.match(
    (await env.condition("t", "PoliciesReady"))?.message ?? "",
    /PeerAuthentication kleff-mtls \(STRICT\), Sidecar kleff-egress in place/,
  );
});

Deno.test({
  name: "a tenant admin weakening, disowning, deleting or planting the mesh guard rails: put back",
  ...devOnly("service-account tokens of its own"),
}, async () => {
  await using env = await OperatorEnv.start({
    operator: false,
    server: { serviceAccountTokens: { "ns-t-admin": "ns-t/admin" } },
  });
  await env.installIntegrationCrds(MESH_CRDS);
  env.startOperator();
  await env.createTenant("t", { userId: "ns-t", username: "t", plan: "basic" });
  await env.waitForCondition("t", "TenantReady", "True");
  await grantTenantAdmin(env, "ns-t", "ns-t/admin");
  using admin = await connectAs(env, "ns-t-admin");
  const strict = { mtls: { mode: "STRICT" } };
  const scoped = { egress: [{ hosts: ["./*", "istio-system/*"] }] };
  const at = { namespace: "ns-t" };
  const disown = {
    labels: { "app.kubernetes.io/managed-by": null, "kleff.io/tenant": null },
    annotations: { "kleff.io/tenant-uid": null },
  };

  await admin.resource(PEER_AUTHENTICATIONS).patch("kleff-mtls", {
    metadata: disown,
    spec: {
      mtls: { mode: "DISABLE" },
      selector: { matchLabels: { app: "web" } },
      portLevelMtls: { "8080": { mode: "DISABLE" } },
    },
  }, at);
  await specOf(env, PEER_AUTHENTICATIONS, "kleff-mtls", { ...at, spec: strict });
  await admin.resource(SIDECARS).patch("kleff-egress", {
    spec: {
      egress: [{ hosts: ["*/*"] }],
      workloadSelector: { labels: { app: "web" } },
      outboundTrafficPolicy: { mode: "ALLOW_ANY" },
    },
  }, at);
  await specOf(env, SIDECARS, "kleff-egress", { ...at, spec: scoped });
  await admin.resource(SIDECARS).delete("kleff-egress", at);
  await specOf(env, SIDECARS, "kleff-egress", { ...at, spec: scoped });

  // Planted while the operator is away.
  await env.stopOperator();
  await admin.resource(PEER_AUTHENTICATIONS).delete("kleff-mtls", at);
  await admin.resource<KubeObject>(PEER_AUTHENTICATIONS).create({
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name: "kleff-mtls", namespace: "ns-t" },
    spec: { mtls: { mode: "PERMISSIVE" } },
  }, at);
  env.startOperator();
  await specOf(env, PEER_AUTHENTICATIONS, "kleff-mtls", { ...at, spec: strict });
  await env.settled();
  assert.equal((await env.condition("t", "TenantReady"))?.status, "True");
});

Deno.test({
  name: "with the admission policies a tenant admin cannot touch the mesh guard rails at all",
  ...devOnly("service-account tokens of its own, and ValidatingAdmissionPolicy"),
}, async () => {
  await using env = await OperatorEnv.start({
    operator: false,
    admissionPolicies: true,
    server: { serviceAccountTokens: { "ns-t-admin": "ns-t/admin" } },
  });
  await env.installIntegrationCrds(MESH_CRDS);
  env.startOperator();
  await env.createTenant("t", { userId: "ns-t", username: "t", plan: "basic" });
  await env.waitForCondition("t", "TenantReady", "True");
  await grantTenantAdmin(env, "ns-t", "ns-t/admin");
  using admin = await connectAs(env, "ns-t-admin");
  const denied =
    /ValidatingAdmissionPolicy 'kleff-tenant-objects' with binding 'kleff-tenant-objects' denied request/;
  for (
    const [resource, name] of [[PEER_AUTHENTICATIONS, "kleff-mtls"], [
      SIDECARS,
      "kleff-egress",
    ]] as const
  ) {
    await assert.rejects(
      admin.resource(resource).delete(name, { namespace: "ns-t" }),
      (error: { code?: number; message?: string }) =>
        error.code === 403 && denied.test(error.message ?? ""),
      `deleting ${name}`,
    );
    await assert.rejects(
      admin.resource(resource).patch(name, { spec: { selector: null } }, { namespace: "ns-t" }),
      (error: { code?: number }) => error.code === 403,
      `patching ${name}`,
    );
  }
  // The tenant's own mesh objects under other names are its business.
  await admin.resource<KubeObject>(SIDECARS).create({
    apiVersion: "networking.istio.io/v1",
    kind: "Sidecar",
    metadata: { name: "web", namespace: "ns-t" },
    spec: { workloadSelector: { labels: { app: "web" } }, egress: [{ hosts: ["./*"] }] },
  }, { namespace: "ns-t" });
});

Deno.test("teardown: Delete removes the mesh objects with the namespace, Retain keeps them disowned", async () => {
  await using env = await OperatorEnv.start({ operator: false });
  await env.installIntegrationCrds(MESH_CRDS);
  env.startOperator();
  await env.createTenant("gone", { userId: "ns-gone", username: "g", plan: "basic" });
  await env.createTenant("kept", {
    userId: "ns-kept",
    username: "k",
    plan: "basic",
    deletionPolicy: "Retain",
  });
  for (const name of ["gone", "kept"]) await env.waitForCondition(name, "TenantReady", "True");
  for (const name of ["gone", "kept"]) await env.tenants.delete(name);
  for (const name of ["gone", "kept"]) await env.waitForTenantGone(name);
  assert.equal(await env.namespace("ns-gone"), undefined);
  for (const resource of [PEER_AUTHENTICATIONS, SIDECARS]) {
    const left = await env.client.resource<KubeObject>(resource).list({ namespace: "ns-gone" });
    assert.deepEqual(left.items, [], `${resource.kind} gone with the namespace`);
  }
  for (
    const [resource, name] of [[PEER_AUTHENTICATIONS, "kleff-mtls"], [
      SIDECARS,
      "kleff-egress",
    ]] as const
  ) {
    const object = await find(env.client, resource, name, "ns-kept");
    assert.ok(object, `${name} kept in force`);
    assert.equal(object.metadata?.labels?.["kleff.io/orphaned"], "true");
    assert.equal(object.metadata?.labels?.["kleff.io/tenant"], undefined);
    assert.equal(object.metadata?.annotations?.["kleff.io/tenant-uid"], undefined);
  }
  assert.deepEqual(
    (await find(env.client, PEER_AUTHENTICATIONS, "kleff-mtls", "ns-kept"))?.spec,
    { mtls: { mode: "STRICT" } },
  );
});
