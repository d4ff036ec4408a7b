// ValidatingAdmissionPolicy semantics without a server: which writes a policy and binding match,
// how match conditions, variables, validations and failurePolicy decide, what a policy object must
// hold; and the decisions of deploy/'s policies for writers a server test cannot play (kube's
// namespace controller emptying a terminating namespace).
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { type MatchTarget, resourcesMatch } from "../../../dev_apiserver/admission/matching.ts";
import { type Activation, evaluatePolicy } from "../../../dev_apiserver/admission/evaluate.ts";
import {
  bindingProblems,
  compilePolicy,
  policyProblems,
} from "../../../dev_apiserver/admission/policy.ts";
import type { KubeObject } from "../../../dev_apiserver/types.ts";

const OPERATOR = "system:serviceaccount:kleff-system:kleff-tenant-operator";

function target(overrides: Partial<MatchTarget> = {}): MatchTarget {
  return {
    operation: "UPDATE",
    group: "networking.k8s.io",
    version: "v1",
    resource: "networkpolicies",
    equivalentVersions: [],
    subresource: "",
    namespace: "ns-a",
    name: "kleff-isolation",
    objectLabels: {},
    oldObjectLabels: {},
    namespaceLabels: () => ({ team: "a" }),
    ...overrides,
  };
}

const RULE = {
  apiGroups: ["networking.k8s.io"],
  apiVersions: ["v1"],
  operations: ["UPDATE", "DELETE"],
  resources: ["networkpolicies"],
};

Deno.test("resource rules match operation, group, version, resource, subresource, scope and names", () => {
  const match = (rule: Record<string, unknown>, overrides: Partial<MatchTarget> = {}) =>
    resourcesMatch({ resourceRules: [{ ...RULE, ...rule }] }, target(overrides), {
      binding: false,
    });
  assert.equal(match({}), true);
  assert.equal(match({}, { operation: "CREATE" }), false);
  assert.equal(match({ operations: ["*"] }, { operation: "CREATE" }), true);
  assert.equal(match({}, { group: "" }), false);
  assert.equal(match({ apiGroups: ["*"] }, { group: "" }), true);
  assert.equal(match({}, { version: "v2" }), false);
  assert.equal(match({}, { version: "v2", equivalentVersions: ["v1"] }), true, "Equivalent");
  assert.equal(
    resourcesMatch(
      { matchPolicy: "Exact", resourceRules: [RULE] },
      target({ version: "v2", equivalentVersions: ["v1"] }),
      { binding: false },
    ),
    false,
  );
  assert.equal(match({}, { subresource: "status" }), false, "the main resource only");
  assert.equal(match({ resources: ["networkpolicies/status"] }, { subresource: "status" }), true);
  assert.equal(match({ resources: ["networkpolicies/*"] }, { subresource: "status" }), true);
  assert.equal(match({ resources: ["*"] }, { subresource: "status" }), false);
  assert.equal(match({ resources: ["*/*"] }, { subresource: "status" }), true);
  assert.equal(match({ scope: "Namespaced" }), true);
  assert.equal(match({ scope: "Cluster" }), false);
  assert.equal(match({ scope: "Cluster" }, { namespace: "" }), true);
  const namespaceTarget = { group: "", resource: "namespaces", namespace: "ns-a", name: "ns-a" };
  assert.equal(
    match({ apiGroups: [""], resources: ["namespaces"], scope: "Cluster" }, namespaceTarget),
    true,
    "a Namespace is cluster-scoped even though its request namespace is its name",
  );
  assert.equal(
    match({ apiGroups: [""], resources: ["namespaces"], scope: "Namespaced" }, namespaceTarget),
    false,
  );
  assert.equal(match({ resourceNames: ["kleff-isolation"] }), true);
  assert.equal(match({ resourceNames: ["other"] }), false);
  assert.equal(
    resourcesMatch(
      {
        resourceRules: [RULE],
        excludeResourceRules: [{ ...RULE, resourceNames: ["kleff-isolation"] }],
      },
      target(),
      { binding: false },
    ),
    false,
    "exclusions win",
  );
  assert.equal(resourcesMatch({}, target(), { binding: false }), false, "a policy needs rules");
  assert.equal(resourcesMatch({}, target(), { binding: true }), true, "a binding does not");
});

Deno.test("namespace and object selectors decide as kube's admission matchers", () => {
  const selected = (selector: Record<string, unknown>, overrides: Partial<MatchTarget> = {}) =>
    resourcesMatch({ ...selector }, target(overrides), { binding: true });
  const team = { namespaceSelector: { matchLabels: { team: "a" } } };
  assert.equal(selected(team), true);
  assert.equal(selected(team, { namespaceLabels: () => ({ team: "b" }) }), false);
  assert.equal(selected(team, { namespace: "" }), true, "cluster-scoped objects always match");
  assert.throws(() => selected(team, { namespaceLabels: () => undefined }), /not found/);
  const creating = {
    group: "",
    resource: "namespaces",
    namespace: "",
    operation: "CREATE" as const,
    objectLabels: { team: "a" },
    namespaceLabels: () => undefined,
  };
  assert.equal(selected(team, creating), true, "a new namespace by its own labels");
  assert.equal(
    selected(team, {
      ...creating,
      operation: "DELETE",
      namespace: "ns-a",
      objectLabels: undefined,
      oldObjectLabels: { team: "a" },
      namespaceLabels: () => ({ team: "b" }),
    }),
    false,
    "a namespace being deleted by its stored labels",
  );
  assert.equal(
    selected(
      {
        namespaceSelector: {
          matchExpressions: [{ key: "team", operator: "NotIn", values: ["b"] }],
        },
      },
    ),
    true,
  );
  const owned = { objectSelector: { matchLabels: { owner: "op" } } };
  assert.equal(selected(owned), false);
  assert.equal(selected(owned, { objectLabels: { owner: "op" } }), true);
  assert.equal(
    selected(owned, { objectLabels: {}, oldObjectLabels: { owner: "op" } }),
    true,
    "stripping the label is still matched by the old object",
  );
  assert.equal(
    selected({ objectSelector: { matchExpressions: [{ key: "owner", operator: "Exists" }] } }, {
      objectLabels: undefined,
      oldObjectLabels: undefined,
    }),
    false,
  );
});

function activation(overrides: Partial<Activation> = {}): Activation {
  return {
    object: { metadata: { name: "x", labels: { a: "1" } } },
    oldObject: null,
    request: { operation: "CREATE", name: "x", userInfo: { username: "u", groups: ["g"] } },
    namespaceObject: null,
    ...overrides,
  };
}

function policy(spec: Record<string, unknown>): KubeObject {
  return {
    metadata: { name: "p" },
    spec: { matchConstraints: { resourceRules: [RULE] }, ...spec },
  };
}

Deno.test("match conditions, variables, validations and messages decide as kube's validator", () => {
  const evaluate = (spec: Record<string, unknown>, input = activation()) =>
    evaluatePolicy(compilePolicy(policy(spec)), input);
  const validations = [
    { expression: "object.metadata.labels.a == '1'" },
    {
      expression: "object.metadata.name == 'y'",
      messageExpression: "'name ' + object.metadata.name",
    },
    { expression: "false", message: "plain message" },
    {
      expression: "false",
      messageExpression: "1",
      message: "fallback message",
      reason: "Forbidden",
    },
    { expression: "false", messageExpression: "'   '" },
    { expression: "object.missing" },
    { expression: "'not a bool'" },
  ];
  assert.deepEqual(evaluate({ validations }), [
    { action: "admit", message: "", reason: "" },
    { action: "deny", message: "name x", reason: "Invalid" },
    { action: "deny", message: "plain message", reason: "Invalid" },
    { action: "deny", message: "fallback message", reason: "Forbidden" },
    { action: "deny", message: "failed expression: false", reason: "Invalid" },
    {
      action: "deny",
      message: "expression 'object.missing' resulted in error: no such key: missing",
      reason: "Invalid",
    },
    { action: "deny", message: "failed expression: 'not a bool'", reason: "Invalid" },
  ]);
  const erring = [{ expression: "object.missing" }];
  assert.deepEqual(evaluate({ validations: erring, failurePolicy: "Ignore" }), []);

  const conditions = (...expressions: string[]) =>
    expressions.map((expression, i) => ({ name: `c${i}`, expression }));
  const deny = [{ expression: "false", message: "denied" }];
  assert.deepEqual(evaluate({ matchConditions: conditions("true"), validations: deny }), [
    { action: "deny", message: "denied", reason: "Invalid" },
  ]);
  assert.deepEqual(
    evaluate({ matchConditions: conditions("object.missing", "false"), validations: deny }),
    [],
    "a false condition skips the policy even when another one fails",
  );
  assert.deepEqual(
    evaluate({ matchConditions: conditions("object.missing", "true"), validations: deny }),
    [{
      action: "deny",
      message: "expression 'object.missing' resulted in error: no such key: missing",
      reason: "Invalid",
    }],
  );
  assert.deepEqual(
    evaluate({
      matchConditions: conditions("object.missing"),
      validations: deny,
      failurePolicy: "Ignore",
    }),
    [],
  );

  let evaluations = 0;
  const counting = {
    ...activation(),
    object: {
      metadata: {
        name: "x",
        get labels() {
          evaluations++;
          return { a: "1" };
        },
      },
    },
  };
  const variables = [
    { name: "labels", expression: "object.metadata.labels" },
    { name: "a", expression: "variables.labels.a" },
    { name: "broken", expression: "object.missing" },
  ];
  assert.deepEqual(
    evaluate({
      variables,
      validations: [
        { expression: "variables.a == '1'" },
        { expression: "variables.labels.a == '1' && variables.a == '1'" },
      ],
    }, counting),
    [
      { action: "admit", message: "", reason: "" },
      { action: "admit", message: "", reason: "" },
    ],
  );
  assert.equal(evaluations, 1, "a variable is evaluated once, and only when used");
  assert.deepEqual(
    evaluate({ variables, validations: [{ expression: "variables.broken == 1" }] }),
    [{
      action: "deny",
      message:
        `expression 'variables.broken == 1' resulted in error: composited variable "broken" fails to evaluate: no such key: missing`,
      reason: "Invalid",
    }],
  );
  assert.deepEqual(
    evaluate({
      validations: [{ expression: "oldObject == null && request.userInfo.groups == ['g']" }],
    }),
    [{ action: "admit", message: "", reason: "" }],
  );
});

Deno.test("policies and bindings are validated when written", () => {
  assert.deepEqual(policyProblems(policy({ validations: [{ expression: "true" }] })), []);
  const messages = (causes: { field?: string; message?: string }[]) =>
    causes.map((cause) => `${cause.field}: ${cause.message}`);
  assert.deepEqual(
    messages(policyProblems({
      metadata: { name: "p" },
      spec: {
        failurePolicy: "Sometimes",
        matchConstraints: {
          resourceRules: [{ apiGroups: ["*", "x"], apiVersions: ["v1"], operations: ["READ"] }],
        },
        paramKind: { apiVersion: "v1", kind: "ConfigMap" },
        variables: [{ name: "not-an-identifier", expression: "1" }],
        validations: [
          { expression: "object.x ==" },
          { expression: "quantity('1') > 0" },
          { expression: "true", message: "two\nlines", reason: "Teapot" },
        ],
      },
    })),
    [
      'spec.matchConstraints.resourceRules[0].apiGroups: Invalid value: ["*","x"]: if \'*\' is present, must not specify other values',
      "spec.matchConstraints.resourceRules[0].resources: Required value",
      'spec.matchConstraints.resourceRules[0].operations: Unsupported value: "READ": supported values: "*", "CREATE", "UPDATE", "DELETE", "CONNECT"',
      'spec.failurePolicy: Unsupported value: "Sometimes": supported values: "Fail", "Ignore"',
      "spec.paramKind: Forbidden: parameter resources are not supported by the dev API server",
      'spec.variables[0].name: Invalid value: "not-an-identifier": name is not a valid CEL identifier',
      'spec.validations[0].expression: Invalid value: "object.x ==": compilation failed: unsupported CEL expression "object.x ==": unexpected end of expression (the dev API server evaluates a subset of CEL)',
      "spec.validations[1].expression: Invalid value: \"quantity('1') > 0\": compilation failed: unsupported CEL expression \"quantity('1') > 0\": function quantity (the dev API server evaluates a subset of CEL)",
      'spec.validations[2].message: Invalid value: "two\\nlines": message must not contain line breaks',
      'spec.validations[2].reason: Unsupported value: "Teapot": supported values: "Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge"',
    ],
  );
  assert.deepEqual(messages(policyProblems({ metadata: { name: "p" }, spec: {} })), [
    "spec.matchConstraints: Required value",
    "spec.validations: Required value",
  ]);
  assert.deepEqual(
    bindingProblems({ spec: { policyName: "p", validationActions: ["Deny"] } }),
    [],
  );
  assert.deepEqual(
    messages(bindingProblems({ spec: { validationActions: ["Deny", "Warn", "Shout"] } })),
    [
      "spec.policyName: Required value",
      'spec.validationActions: Unsupported value: "Shout": supported values: "Deny", "Warn", "Audit"',
      'spec.validationActions: Invalid value: ["Deny","Warn","Shout"]: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)',
    ],
  );
  assert.deepEqual(messages(bindingProblems({ spec: { policyName: "p" } })), [
    "spec.validationActions: Required value",
  ]);
});

/** deploy/'s policy `name`, compiled. */
async function deployPolicy(file: string) {
  const text = await Deno.readTextFile(new URL(`../../../deploy/${file}`, import.meta.url));
  const objects = parseAllDocuments(text).map((doc) => doc.toJS() as KubeObject);
  const object = objects.find((o) => o.kind === "ValidatingAdmissionPolicy")!;
  assert.deepEqual(policyProblems(object), [], `${file} is valid`);
  return compilePolicy(object);
}

const TENANT_LABELS = { "app.kubernetes.io/managed-by": "kleff-tenant-operator" };

function namespaceObject(phase: string, labels: Record<string, string> = TENANT_LABELS) {
  return {
    metadata: { name: "ns-a", labels },
    spec: { finalizers: ["kubernetes"] },
    status: { phase },
  };
}

function objectWrite(
  operation: "CREATE" | "UPDATE" | "DELETE",
  username: string,
  options: { name?: string; phase?: string; groups?: string[]; labels?: Record<string, string> } =
    {},
): Activation {
  const object = { metadata: { name: options.name ?? "kleff-isolation", namespace: "ns-a" } };
  return {
    object: operation === "DELETE" ? null : object,
    oldObject: operation === "CREATE" ? null : object,
    request: {
      operation,
      name: object.metadata.name,
      namespace: "ns-a",
      resource: { group: "networking.k8s.io", version: "v1", resource: "networkpolicies" },
      userInfo: { username, groups: options.groups ?? ["system:authenticated"] },
    },
    namespaceObject: namespaceObject(options.phase ?? "Active", options.labels),
  };
}

Deno.test("deploy/'s kleff-tenant-objects policy: tenants, the operator, the namespace controller", async () => {
  const policy = await deployPolicy("policy_tenant_objects.yaml");
  const denied = (input: Activation) =>
    evaluatePolicy(policy, input).filter((decision) => decision.action === "deny")
      .map((decision) => `${decision.reason}: ${decision.message}`);
  const tenant = "system:serviceaccount:ns-a:admin";
  assert.deepEqual(denied(objectWrite("DELETE", tenant)), [
    "Forbidden: kleff-isolation in tenant namespace ns-a belongs to the kleff tenant operator: only the operator and cluster admins may create, change or delete it",
  ]);
  assert.equal(denied(objectWrite("CREATE", tenant, { name: "kleff-decoy" })).length, 1);
  assert.deepEqual(denied(objectWrite("UPDATE", tenant, { name: "allow-web" })), []);
  assert.deepEqual(
    denied(objectWrite("UPDATE", tenant, { labels: {} })),
    [],
    "outside tenant namespaces, kleff-* names are nobody's",
  );
  assert.deepEqual(
    denied(objectWrite("DELETE", "system:serviceaccount:kube-system:namespace-controller", {
      phase: "Terminating",
    })),
    [],
    "the namespace controller empties a terminating tenant namespace",
  );
  assert.equal(denied(objectWrite("UPDATE", tenant, { phase: "Terminating" })).length, 1);
  for (const operation of ["CREATE", "UPDATE", "DELETE"] as const) {
    assert.deepEqual(denied(objectWrite(operation, OPERATOR)), [], operation);
  }
  assert.deepEqual(denied(objectWrite("DELETE", OPERATOR, { name: "allow-web" })), [
    "Forbidden: the kleff tenant operator may write networkpolicies only in tenant namespaces and only under kleff-* names, not allow-web in namespace ns-a",
  ]);
  assert.equal(denied(objectWrite("CREATE", OPERATOR, { labels: {} })).length, 1);
  assert.deepEqual(
    evaluatePolicy(policy, objectWrite("DELETE", "admin", { groups: ["system:masters"] })),
    [],
    "cluster admins are not matched",
  );
});

function namespaceWrite(
  operation: "CREATE" | "UPDATE" | "DELETE",
  username: string,
  labels: { old?: Record<string, string>; new?: Record<string, string> },
  annotations: { old?: Record<string, string>; new?: Record<string, string> } = {},
): Activation {
  const object = (l?: Record<string, string>, a?: Record<string, string>) => ({
    metadata: { name: "ns-a", ...(l ? { labels: l } : {}), ...(a ? { annotations: a } : {}) },
  });
  return {
    object: operation === "DELETE" ? null : object(labels.new, annotations.new),
    oldObject: operation === "CREATE" ? null : object(labels.old, annotations.old),
    request: {
      operation,
      name: "ns-a",
      namespace: operation === "CREATE" ? "" : "ns-a",
      userInfo: { username, groups: ["system:authenticated"] },
    },
    namespaceObject: null,
  };
}

Deno.test("deploy/'s kleff-tenant-namespaces policy: the operator's bounds, the guarded keys", async () => {
  const policy = await deployPolicy("policy_tenant_namespaces.yaml");
  const denied = (input: Activation) =>
    evaluatePolicy(policy, input).filter((decision) => decision.action === "deny")
      .map((decision) => decision.message);
  const tenant = {
    ...TENANT_LABELS,
    "kleff.io/tenant": "a",
    "pod-security.kubernetes.io/enforce": "restricted",
  };
  assert.deepEqual(denied(namespaceWrite("CREATE", OPERATOR, { new: tenant })), []);
  assert.deepEqual(denied(namespaceWrite("CREATE", OPERATOR, { new: { x: "y" } })), [
    "the kleff tenant operator may create only namespaces labelled app.kubernetes.io/managed-by=kleff-tenant-operator",
  ]);
  assert.deepEqual(denied(namespaceWrite("DELETE", OPERATOR, { old: {} })), [
    "the kleff tenant operator may delete only namespaces labelled app.kubernetes.io/managed-by=kleff-tenant-operator",
  ]);
  assert.deepEqual(
    denied(
      namespaceWrite("UPDATE", OPERATOR, { old: tenant, new: { "kleff.io/orphaned": "true" } }),
    ),
    [],
    "the operator disowns a retained namespace",
  );
  const other = "system:serviceaccount:ns-a:admin";
  assert.deepEqual(
    denied(namespaceWrite("UPDATE", other, { old: tenant, new: { ...tenant, team: "x" } })),
    [],
    "other labels are free",
  );
  assert.deepEqual(
    denied(namespaceWrite(
      "UPDATE",
      other,
      {
        old: tenant,
        new: {
          team: "x",
          "kleff.io/tenant": "b",
          "pod-security.kubernetes.io/enforce": "restricted",
        },
      },
      { old: { "kleff.io/tenant-uid": "1" }, new: { "kleff.io/tenant-uid": "2", note: "x" } },
    )),
    [
      "only the kleff tenant operator and cluster admins may change the guard-rail labels and annotations of tenant namespace ns-a: label app.kubernetes.io/managed-by, label kleff.io/tenant, annotation kleff.io/tenant-uid",
    ],
  );
  assert.equal(
    denied(namespaceWrite("CREATE", other, { new: TENANT_LABELS })).length,
    1,
    "nobody else creates a namespace that looks like a tenant's",
  );
  assert.deepEqual(
    denied(namespaceWrite("UPDATE", other, { old: { a: "1" }, new: { "kleff.io/tenant": "x" } })),
    [],
    "kleff.io/* on namespaces that are not tenants' is not guarded",
  );
  assert.deepEqual(denied(namespaceWrite("DELETE", other, { old: tenant })), []);
});
