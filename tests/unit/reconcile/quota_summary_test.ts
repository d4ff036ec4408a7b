// status.quota, the one-line summary of the hard limits the operator applies (the Quota column of
// `kubectl get tenants -o wide`): its format, and when a decision writes it.
import assert from "node:assert/strict";
import { TENANT_UID_ANNOTATION } from "../../../lib/api/mod.ts";
import { builtinCatalogue } from "../../../lib/plans/mod.ts";
import { decide, planQuotaSummary, quotaSummary } from "../../../lib/reconcile/mod.ts";
import { BUILTIN, type Json, ownedTenant, tenantNamespace } from "./support.ts";

const NOW = new Date("2025-01-01T00:00:00Z");

function tenant(plan: string, status: unknown = null): Json {
  return ownedTenant({ spec: { plan }, status });
}

function namespace(annotations: Record<string, string>, plan = "basic"): Json {
  return tenantNamespace({ annotations, plan });
}

Deno.test("quotaSummary: pods, CPU and memory as requests/limits, PVCs, storage, then a count", () => {
  assert.equal(
    quotaSummary({
      pods: "20",
      "requests.cpu": "1",
      "requests.memory": "2Gi",
      "limits.cpu": "2",
      "limits.memory": "4Gi",
      persistentvolumeclaims: "5",
      "requests.storage": "20Gi",
      "services.loadbalancers": "0",
      "services.nodeports": "0",
    }),
    "pods=20 cpu=1/2 memory=2Gi/4Gi pvcs=5 storage=20Gi (+2 more)",
  );
  assert.equal(quotaSummary({ cpu: "500m", "limits.memory": "1Gi" }), "cpu=500m/- memory=-/1Gi");
  assert.equal(quotaSummary({ "count/deployments.apps": "3" }), "(+1 more)");
  assert.equal(quotaSummary({}), "");
});

Deno.test("planQuotaSummary: the plan's quota, the lockdown for an unknown plan, none without one", () => {
  const plans = builtinCatalogue().plans;
  assert.equal(
    planQuotaSummary(plans.get("free")),
    "pods=4 cpu=250m/500m memory=256Mi/512Mi pvcs=1 storage=1Gi (+2 more)",
  );
  assert.equal(
    planQuotaSummary(undefined),
    "pods=0 cpu=0/0 memory=0/0 pvcs=0 storage=0 (+2 more)",
  );
  assert.equal(planQuotaSummary({ ...plans.get("free")!, resourceQuota: undefined }), undefined);
});

Deno.test("decide writes status.quota once the namespace is ours, and not again when unchanged", () => {
  // The tenant created the namespace: its uid is the one recorded in the status.
  const created = { namespace: "ns-t", namespaceUID: "uid-ns" };
  const first = decide(tenant("basic", created), {
    namespace: namespace({ [TENANT_UID_ANNOTATION]: "uid-t" }),
  }, {
    now: NOW,
    context: BUILTIN,
  });
  assert.equal(
    first.status.quota,
    "pods=20 cpu=1/2 memory=2Gi/4Gi pvcs=5 storage=20Gi (+2 more)",
  );
  assert.equal(first.writeStatus, true);
  const again = decide(
    tenant("basic", first.status),
    { namespace: namespace({ [TENANT_UID_ANNOTATION]: "uid-t" }) },
    { now: NOW, context: BUILTIN },
  );
  assert.equal(again.status.quota, first.status.quota);
  assert.equal(again.writeStatus, false);
  const unknown = decide(
    tenant("gold", first.status),
    { namespace: namespace({ [TENANT_UID_ANNOTATION]: "uid-t" }, "gold") },
    { now: NOW, context: BUILTIN },
  );
  assert.equal(unknown.status.quota, "pods=0 cpu=0/0 memory=0/0 pvcs=0 storage=0 (+2 more)");
  assert.equal(unknown.writeStatus, true);
  const conflict = decide(tenant("basic"), { namespace: namespace({}) }, {
    now: NOW,
    context: BUILTIN,
  });
  assert.equal(conflict.status.quota, undefined, "nothing is applied to a namespace not ours");
});
