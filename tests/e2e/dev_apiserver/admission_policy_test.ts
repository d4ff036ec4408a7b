// ValidatingAdmissionPolicies on the dev API server, over HTTP: every kind of write is checked
// (create, update, patch, status, delete, deletecollection, dry runs), denials carry kube's Status,
// Warn bindings answer with Warning headers, and bad policies are refused when written.
import assert from "node:assert/strict";
import { api, withServer } from "./support.ts";

const POLICIES = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies";
const BINDINGS = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings";
const CONFIGMAPS = "/api/v1/namespaces/default/configmaps";

/** A policy: config maps of namespaces labelled `guarded=yes` need data.ok == "yes". */
const POLICY = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicy",
  metadata: { name: "ok-only" },
  spec: {
    matchConstraints: {
      resourceRules: [{
        apiGroups: [""],
        apiVersions: ["v1"],
        operations: ["CREATE", "UPDATE", "DELETE"],
        resources: ["configmaps"],
      }],
      namespaceSelector: { matchLabels: { guarded: "yes" } },
    },
    matchConditions: [{ name: "not-exempt", expression: "request.name != 'exempt'" }],
    validations: [{
      expression:
        "request.operation == 'DELETE' ? oldObject.data.ok == 'yes' : object.data.ok == 'yes'",
      messageExpression: "'data.ok of ' + request.name + ' must be yes'",
    }],
  },
};

function binding(name: string, actions: string[], extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name },
    spec: { policyName: "ok-only", validationActions: actions, ...extra },
  };
}

const map = (name: string, ok: string) => ({ metadata: { name }, data: { ok } });

Deno.test("a Deny binding refuses every kind of write with kube's Status", async () => {
  await withServer(async (server) => {
    assert.equal((await api(server, "POST", POLICIES, POLICY)).status, 201);
    assert.equal((await api(server, "POST", BINDINGS, binding("deny", ["Deny"]))).status, 201);
    assert.equal((await api(server, "POST", CONFIGMAPS, map("before", "no"))).status, 201);
    assert.equal(
      (await api(server, "PATCH", "/api/v1/namespaces/default", {
        metadata: { labels: { guarded: "yes" } },
      })).status,
      200,
    );
    const denied = await api(server, "POST", CONFIGMAPS, map("bad", "no"));
    assert.equal(denied.status, 422);
    const why =
      "ValidatingAdmissionPolicy 'ok-only' with binding 'deny' denied request: data.ok of bad must be yes";
    assert.deepEqual(denied.body, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: `configmaps "bad" is forbidden: ${why}`,
      reason: "Invalid",
      details: { name: "bad", kind: "configmaps", causes: [{ message: why }] },
      code: 422,
    });
    assert.equal(
      (await api(server, "POST", `${CONFIGMAPS}?dryRun=All`, map("dry", "no"))).status,
      422,
      "dry runs are admitted the same way",
    );
    assert.equal((await api(server, "POST", CONFIGMAPS, map("good", "yes"))).status, 201);
    assert.equal((await api(server, "POST", CONFIGMAPS, map("exempt", "no"))).status, 201);
    const path = `${CONFIGMAPS}/good`;
    assert.equal((await api(server, "PATCH", path, { data: { ok: "no" } })).status, 422);
    const current = (await api(server, "GET", path)).body;
    assert.equal(
      (await api(server, "PUT", path, { ...current, data: { ok: "nope" } })).status,
      422,
    );
    assert.equal((await api(server, "DELETE", `${CONFIGMAPS}/before`)).status, 422);
    const collection = await api(server, "DELETE", CONFIGMAPS);
    assert.equal(collection.status, 422, "deletecollection admits each item");
    assert.match(collection.body.message, /configmaps "before" is forbidden/);
    assert.equal((await api(server, "GET", `${CONFIGMAPS}/before`)).status, 200);
    assert.equal((await api(server, "DELETE", path)).status, 200);
    assert.equal(
      (await api(server, "POST", "/api/v1/namespaces/kube-system/configmaps", map("x", "no")))
        .status,
      201,
      "the namespace selector leaves other namespaces alone",
    );
    assert.equal((await api(server, "DELETE", `${BINDINGS}/deny`)).status, 200);
    assert.equal((await api(server, "DELETE", `${CONFIGMAPS}/before`)).status, 200);
  });
});

Deno.test("Warn bindings answer with Warning headers; reasons choose the status code", async () => {
  await withServer(async (server) => {
    const forbidding = structuredClone(POLICY);
    Object.assign(forbidding.spec.validations[0], { reason: "Forbidden" });
    delete (forbidding.spec.matchConstraints as Record<string, unknown>).namespaceSelector;
    assert.equal((await api(server, "POST", POLICIES, forbidding)).status, 201);
    assert.equal((await api(server, "POST", BINDINGS, binding("warn", ["Warn"]))).status, 201);
    const warned = await api(server, "POST", CONFIGMAPS, map("w", "no"));
    assert.equal(warned.status, 201);
    assert.equal(
      warned.headers.get("warning"),
      `299 - "Validation failed for ValidatingAdmissionPolicy 'ok-only' with binding 'warn': data.ok of w must be yes"`,
    );
    assert.equal(
      (await api(server, "POST", BINDINGS, binding("deny-audit", ["Deny", "Audit"]))).status,
      201,
    );
    const denied = await api(server, "POST", CONFIGMAPS, map("d", "no"));
    assert.equal(denied.status, 403);
    assert.equal(denied.body.reason, "Forbidden");
    assert.equal(
      denied.body.message,
      `configmaps "d" is forbidden: ValidatingAdmissionPolicy 'ok-only' with binding 'deny-audit' denied request: data.ok of d must be yes`,
    );
    const narrowed = binding("deny-audit", ["Deny"], {
      matchResources: { objectSelector: { matchLabels: { strict: "true" } } },
    });
    const stored = (await api(server, "GET", `${BINDINGS}/deny-audit`)).body;
    assert.equal(
      (await api(server, "PUT", `${BINDINGS}/deny-audit`, {
        ...narrowed,
        metadata: stored.metadata,
      })).status,
      200,
    );
    assert.equal((await api(server, "POST", CONFIGMAPS, map("loose", "no"))).status, 201);
    const strict = { metadata: { name: "strict", labels: { strict: "true" } }, data: { ok: "no" } };
    assert.equal((await api(server, "POST", CONFIGMAPS, strict)).status, 403);
  });
});

Deno.test("subresources, the policy kinds themselves and bindings to missing policies", async () => {
  await withServer(async (server) => {
    const everything = {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name: "freeze" },
      spec: {
        matchConstraints: {
          resourceRules: [{
            apiGroups: ["*"],
            apiVersions: ["*"],
            operations: ["*"],
            resources: ["*"],
          }],
        },
        validations: [{ expression: "false", message: "frozen" }],
      },
    };
    assert.equal((await api(server, "POST", POLICIES, everything)).status, 201);
    const frozen = {
      ...binding("freeze", ["Deny"]),
      spec: { policyName: "freeze", validationActions: ["Deny"] },
    };
    assert.equal((await api(server, "POST", BINDINGS, frozen)).status, 201);
    assert.equal((await api(server, "POST", CONFIGMAPS, map("x", "yes"))).status, 422);
    assert.equal(
      (await api(server, "PATCH", "/api/v1/namespaces/default/status", { status: {} })).status,
      200,
      'resources: ["*"] does not match subresources',
    );
    const statusOnly = structuredClone(everything);
    statusOnly.metadata.name = "status-only";
    statusOnly.spec.matchConstraints.resourceRules[0].resources = ["namespaces/status"];
    assert.equal((await api(server, "POST", POLICIES, statusOnly)).status, 201);
    assert.equal(
      (await api(server, "POST", BINDINGS, {
        ...frozen,
        metadata: { name: "status-only" },
        spec: { policyName: "status-only", validationActions: ["Deny"] },
      })).status,
      201,
    );
    const status = await api(server, "PATCH", "/api/v1/namespaces/default/status", { status: {} });
    assert.equal(status.status, 422, "a rule for the subresource matches it");
    assert.match(status.body.message, /ValidatingAdmissionPolicy 'status-only'/);
    assert.equal(
      (await api(server, "DELETE", `${BINDINGS}/freeze`)).status,
      200,
      "no policy matches the policy kinds, so a bad one can be undone",
    );
    assert.equal((await api(server, "POST", CONFIGMAPS, map("x", "yes"))).status, 201);
    assert.equal(
      (await api(server, "POST", BINDINGS, {
        ...frozen,
        spec: { ...frozen.spec, policyName: "absent" },
      }))
        .status,
      201,
    );
    assert.equal((await api(server, "POST", CONFIGMAPS, map("y", "yes"))).status, 201);
  });
});

Deno.test("policies and bindings the server cannot enforce are refused when written", async () => {
  await withServer(async (server) => {
    const bad = structuredClone(POLICY);
    bad.spec.validations[0].expression = "object.data.ok ==";
    const refused = await api(server, "POST", POLICIES, bad);
    assert.equal(refused.status, 422);
    assert.equal(refused.body.details.causes[0].field, "spec.validations[0].expression");
    assert.match(refused.body.message, /compilation failed/);
    const noActions = await api(server, "POST", BINDINGS, {
      metadata: { name: "b" },
      spec: { policyName: "ok-only" },
    });
    assert.equal(noActions.status, 422);
    assert.match(noActions.body.message, /spec\.validationActions: Required value/);
    assert.equal((await api(server, "GET", POLICIES)).body.items.length, 0);
  });
});
