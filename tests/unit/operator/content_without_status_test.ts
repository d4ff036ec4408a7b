// Unit: what a per-tenant object's watch compares between events, so that a change of nothing but
// its status (a quota's usage) wakes no tenant while every other change does.
import assert from "node:assert/strict";
import { contentWithoutStatus } from "../../../lib/operator/sources.ts";

const quota = (extra: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: {
    name: "kleff-quota",
    namespace: "ns-1",
    uid: "u1",
    resourceVersion: "10",
    labels: { "app.kubernetes.io/managed-by": "kleff-tenant-operator" },
    managedFields: [{ manager: "kleff", operation: "Update" }],
    ...metadata,
  },
  spec: { hard: { pods: "20" } },
  ...extra,
});

Deno.test("status, resourceVersion and managedFields do not count; everything else does", () => {
  const base = contentWithoutStatus(quota({ status: { used: { pods: "1" } } }));
  assert.equal(
    contentWithoutStatus(quota({ status: { used: { pods: "2" } } }, {
      resourceVersion: "11",
      managedFields: [{ manager: "kube-controller-manager", subresource: "status" }],
    })),
    base,
  );
  assert.equal(contentWithoutStatus(quota()), base, "no status at all");
  for (
    const changed of [
      quota({ spec: { hard: { pods: "21" } } }),
      quota({}, { labels: { "app.kubernetes.io/managed-by": "kleff-tenant-operator", x: "y" } }),
      quota({}, { annotations: { a: "b" } }),
      quota({}, { deletionTimestamp: "2026-01-01T00:00:00Z" }),
      quota({}, { finalizers: ["x.io/hold"] }),
      quota({}, { uid: "u2" }),
    ]
  ) {
    assert.notEqual(contentWithoutStatus(changed), base, JSON.stringify(changed));
  }
});

Deno.test("an item of a LIST (no kind, no apiVersion) reads as the same object's watch event", () => {
  const { kind: _kind, apiVersion: _apiVersion, ...listed } = quota({ status: { used: {} } });
  assert.equal(contentWithoutStatus(listed), contentWithoutStatus(quota()));
});
