// The dev API server's Table rendering for kubectl: columns, cells and ages.
import assert from "node:assert/strict";
import { humanDuration, renderTable } from "../../../dev_apiserver/tables/table.ts";
import type { KubeObject } from "../../../dev_apiserver/types.ts";

const now = new Date("2024-05-10T12:00:00Z");
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();

Deno.test("humanDuration matches apimachinery's duration.HumanDuration", () => {
  const S = 1000, M = 60 * S, H = 60 * M, D = 24 * H;
  const cases: [number, string][] = [
    [-3 * S, "<invalid>"],
    [-1 * S, "0s"],
    [0, "0s"],
    [45 * S, "45s"],
    [119 * S, "119s"],
    [2 * M, "2m"],
    [5 * M + 30 * S, "5m30s"],
    [10 * M + 30 * S, "10m"],
    [179 * M, "179m"],
    [3 * H, "3h"],
    [3 * H + 20 * M, "3h20m"],
    [8 * H + 20 * M, "8h"],
    [47 * H, "47h"],
    [2 * D, "2d"],
    [2 * D + 3 * H, "2d3h"],
    [8 * D + 3 * H, "8d"],
    [400 * D, "400d"],
    [2 * 365 * D, "2y"],
    [3 * 365 * D + 10 * D, "3y10d"],
    [9 * 365 * D, "9y"],
  ];
  for (const [ms, expected] of cases) assert.equal(humanDuration(ms), expected, String(ms));
});

function meta(name: string, seconds: number, extra: Record<string, unknown> = {}) {
  return { name, creationTimestamp: ago(seconds), resourceVersion: "7", ...extra };
}

Deno.test("renderTable renders CRD printer columns like kube-apiserver", () => {
  const objects: KubeObject[] = [{
    apiVersion: "kleff.io/v1",
    kind: "Tenant",
    metadata: meta("acme", 330, { labels: { a: "b" } }),
    spec: { plan: "pro", replicas: 2.7, tags: ["x", "y"], paused: false },
    status: { conditions: [{ type: "TenantReady", status: "True" }], since: ago(7200) },
  }, { metadata: meta("empty", 5) }];
  const table = renderTable(objects, {
    kind: "Tenant",
    group: "kleff.io",
    resourceVersion: "42",
    continue: "abc",
    now,
    printerColumns: [
      { name: "Plan", type: "string", jsonPath: ".spec.plan" },
      {
        name: "Ready",
        type: "string",
        jsonPath: '.status.conditions[?(@.type=="TenantReady")].status',
      },
      { name: "Replicas", type: "integer", jsonPath: ".spec.replicas", priority: 1 },
      { name: "Tags", type: "string", jsonPath: ".spec.tags", description: "the tags" },
      { name: "Paused", type: "boolean", jsonPath: ".spec.paused" },
      { name: "Since", type: "date", jsonPath: ".status.since" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
  });
  assert.equal(table.kind, "Table");
  assert.equal(table.apiVersion, "meta.k8s.io/v1");
  assert.deepEqual(table.metadata, { resourceVersion: "42", continue: "abc" });
  assert.deepEqual(table.columnDefinitions.map((c) => [c.name, c.type, c.format, c.priority]), [
    ["Name", "string", "name", 0],
    ["Plan", "string", "", 0],
    ["Ready", "string", "", 0],
    ["Replicas", "integer", "", 1],
    ["Tags", "string", "", 0],
    ["Paused", "boolean", "", 0],
    ["Since", "date", "", 0],
    ["Age", "date", "", 0],
  ]);
  assert.equal(
    table.columnDefinitions[1].description,
    "Custom resource definition column (in JSONPath format): .spec.plan",
  );
  assert.equal(table.columnDefinitions[4].description, "the tags");
  assert.deepEqual(table.rows[0].cells, [
    "acme",
    "pro",
    "True",
    2,
    "[x y]",
    false,
    "120m",
    "5m30s",
  ]);
  assert.deepEqual(table.rows[1].cells, ["empty", null, null, null, null, null, null, "5s"]);
  assert.deepEqual(table.rows[0].object, {
    kind: "PartialObjectMetadata",
    apiVersion: "meta.k8s.io/v1",
    metadata: objects[0].metadata,
  });
});

Deno.test("renderTable gives a CRD without printer columns an Age column", () => {
  const table = renderTable([{ metadata: meta("a", 3 * 86400) }], {
    kind: "Widget",
    group: "example.com",
    resourceVersion: "1",
    now,
    includeObject: "None",
  });
  assert.deepEqual(table.columnDefinitions.map((c) => [c.name, c.type]), [
    ["Name", "string"],
    ["Age", "date"],
  ]);
  assert.deepEqual(table.rows, [{ cells: ["a", "3d"] }]);
});

Deno.test("renderTable uses kube's columns for built-in kinds", () => {
  const render = (kind: string, group: string, object: KubeObject) =>
    renderTable([object], { kind, group, resourceVersion: "1", now, includeObject: "Object" });
  const cases: [string, string, KubeObject, string[], unknown[]][] = [
    ["Namespace", "", { metadata: meta("ns", 60), status: { phase: "Active" } }, [
      "Name",
      "Status",
      "Age",
    ], ["ns", "Active", "60s"]],
    ["ConfigMap", "", { metadata: meta("cm", 60), data: { a: "1" }, binaryData: { b: "" } }, [
      "Name",
      "Data",
      "Age",
    ], ["cm", 2, "60s"]],
    ["Secret", "", { metadata: meta("s", 60), type: "Opaque", data: { a: "" } }, [
      "Name",
      "Type",
      "Data",
      "Age",
    ], ["s", "Opaque", 1, "60s"]],
    ["Lease", "coordination.k8s.io", { metadata: meta("l", 60), spec: { holderIdentity: "me" } }, [
      "Name",
      "Holder",
      "Age",
    ], ["l", "me", "60s"]],
    [
      "CustomResourceDefinition",
      "apiextensions.k8s.io",
      { metadata: { name: "x.y", creationTimestamp: "2024-05-01T10:00:00Z" } },
      ["Name", "Created At"],
      ["x.y", "2024-05-01T10:00:00Z"],
    ],
    [
      "RoleBinding",
      "rbac.authorization.k8s.io",
      {
        metadata: meta("rb", 60),
        roleRef: { kind: "ClusterRole", name: "admin" },
        subjects: [{ kind: "User", name: "u" }, {
          kind: "ServiceAccount",
          name: "sa",
          namespace: "ns",
        }],
      },
      ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
      ["rb", "ClusterRole/admin", "60s", "u", "", "ns/sa"],
    ],
    ["NetworkPolicy", "networking.k8s.io", { metadata: meta("np", 60) }, ["Name", "Age"], [
      "np",
      "60s",
    ]],
    [
      "Event",
      "",
      {
        metadata: meta("ev.1", 600),
        involvedObject: { kind: "Tenant", name: "acme", fieldPath: "spec" },
        type: "Warning",
        reason: "Failed",
        message: " boom \n",
        firstTimestamp: ago(600),
        lastTimestamp: ago(30),
        count: 4,
        source: { component: "kleff" },
      },
      [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Subobject",
        "Source",
        "Message",
        "First Seen",
        "Count",
        "Name",
      ],
      ["30s", "Warning", "Failed", "tenant/acme", "spec", "kleff", "boom", "10m", 4, "ev.1"],
    ],
    [
      "Event",
      "events.k8s.io",
      {
        metadata: meta("ev.2", 60),
        regarding: { kind: "Namespace", name: "team" },
        type: "Normal",
        reason: "Created",
        note: "made",
        eventTime: ago(60),
        reportingController: "kleff",
        reportingInstance: "pod-1",
      },
      [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Subobject",
        "Source",
        "Message",
        "First Seen",
        "Count",
        "Name",
      ],
      ["60s", "Normal", "Created", "namespace/team", "", "kleff, pod-1", "made", "60s", 1, "ev.2"],
    ],
  ];
  for (const [kind, group, object, columns, cells] of cases) {
    const table = render(kind, group, object);
    assert.deepEqual(table.columnDefinitions.map((c) => c.name), columns, kind);
    assert.deepEqual(table.rows[0].cells, cells, kind);
    assert.equal(table.rows[0].object, object);
  }
  const events = render("Event", "", { metadata: meta("e", 1) });
  assert.deepEqual(
    events.columnDefinitions.filter((c) => c.priority === 1).map((c) => c.name),
    ["Subobject", "Source", "First Seen", "Count", "Name"],
  );
});
