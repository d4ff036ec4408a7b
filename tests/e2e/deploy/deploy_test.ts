// Renders deploy/ with kubectl's kustomize and checks what platform teams audit: least-privilege
// RBAC, admission policies, the metrics NetworkPolicy, a hardened two-replica Deployment, common
// labels, and an image with narrowed permissions.
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import type { Container, PodSpec } from "kubernetes-types/core/v1.d.ts";
import type { PolicyRule } from "kubernetes-types/rbac/v1.d.ts";
import { SERVICE_ACCOUNT_DIR } from "../../../lib/client/mod.ts";
import type { KubeObject } from "../../../dev_apiserver/types.ts";
import { OPERATOR_ENV, OPERATOR_V8_FLAGS } from "../../../tools/operator_process.ts";
import { imageProcess, instructions } from "../../support/dockerfile.ts";

const ROOT = new URL("../../../", import.meta.url);
const DEPLOY = new URL("deploy/", ROOT);
const COMMON_LABELS = {
  "app.kubernetes.io/name": "kleff-tenant-operator",
  "app.kubernetes.io/part-of": "kleff",
};
const OPERATOR_SA = {
  kind: "ServiceAccount",
  name: "kleff-tenant-operator",
  namespace: "kleff-system",
};

type Obj = KubeObject & Record<string, unknown>;

async function renderDeploy(): Promise<Obj[] | undefined> {
  const kubeconfig = await Deno.makeTempFile({ suffix: ".kubeconfig" });
  try {
    const output = await new Deno.Command("kubectl", {
      args: ["kustomize", DEPLOY.pathname, "--kubeconfig", kubeconfig],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(`kubectl kustomize failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    return parseAllDocuments(new TextDecoder().decode(output.stdout)).map((doc) => doc.toJS());
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  } finally {
    await Deno.remove(kubeconfig);
  }
}

const rendered = await renderDeploy();
if (!rendered) console.log("note: kubectl not found on PATH, skipping the deploy/ rendering tests");

function only(kind: string, name?: string): Obj {
  const found = rendered!.filter((o) => o.kind === kind && (!name || o.metadata?.name === name));
  assert.equal(found.length, 1, `exactly one ${kind} ${name ?? ""}`);
  return found[0];
}

function operatorPod(): { spec: PodSpec; labels: Record<string, string>; container: Container } {
  const deployment = only("Deployment");
  const template = (deployment.spec as {
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  }).template;
  assert.equal(template.spec.containers.length, 1);
  return {
    spec: template.spec,
    labels: template.metadata.labels,
    container: template.spec.containers[0],
  };
}

const renderTest = (name: string, fn: () => void) =>
  Deno.test({ name, ignore: rendered === undefined, fn });

renderTest("deploy/ renders every piece of the base, each with the common labels", () => {
  const kinds = rendered!.map((o) => o.kind).sort();
  assert.deepEqual(kinds, [
    "ClusterRole",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "Deployment",
    "Namespace",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Role",
    "Role",
    "RoleBinding",
    "RoleBinding",
    "Service",
    "ServiceAccount",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingAdmissionPolicyBinding",
  ]);
  for (const object of rendered!) {
    for (const [key, value] of Object.entries(COMMON_LABELS)) {
      assert.equal(
        object.metadata?.labels?.[key],
        value,
        `${object.kind} ${object.metadata?.name}: ${key}`,
      );
    }
  }
  const namespace = only("Namespace");
  assert.equal(namespace.metadata?.name, "kleff-system");
  // The operator watches namespaces by this label: its own namespace must never look like a tenant's.
  assert.equal(namespace.metadata?.labels?.["app.kubernetes.io/managed-by"], undefined);
  assert.equal(namespace.metadata?.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
  for (
    const kind of [
      "ServiceAccount",
      "Deployment",
      "Service",
      "PodDisruptionBudget",
      "NetworkPolicy",
    ]
  ) {
    assert.equal(only(kind).metadata?.namespace, "kleff-system", kind);
  }
});

renderTest("the Deployment runs two hardened replicas with leader election and probes", () => {
  const deployment = only("Deployment");
  const spec = deployment.spec as {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
  };
  assert.equal(spec.replicas, 2);
  const { spec: pod, labels, container } = operatorPod();
  for (const [key, value] of Object.entries(spec.selector.matchLabels)) {
    assert.equal(labels[key], value);
  }
  assert.equal(pod.serviceAccountName, "kleff-tenant-operator");
  assert.equal(pod.automountServiceAccountToken, true);
  assert.equal(pod.terminationGracePeriodSeconds, 30);
  assert.ok(
    pod.topologySpreadConstraints?.length || pod.affinity?.podAntiAffinity,
    "replicas spread",
  );

  assert.match(container.image ?? "", /^ghcr\.io\/kleff\/tenant-operator:\d+\.\d+\.\d+$/);
  for (
    const arg of [
      "--leader-elect",
      "--health-probe-bind-address=:8081",
      "--metrics-bind-address=:8443",
    ]
  ) {
    assert.ok(container.args?.includes(arg), arg);
  }
  const env = Object.fromEntries(
    (container.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
  );
  assert.equal(env.POD_NAME, "metadata.name");
  assert.equal(env.POD_NAMESPACE, "metadata.namespace");

  const security = { ...pod.securityContext, ...container.securityContext };
  assert.equal(security.runAsNonRoot, true);
  assert.equal(security.runAsUser, 1993);
  assert.equal(security.seccompProfile?.type, "RuntimeDefault");
  assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
  assert.notEqual(container.securityContext?.privileged, true);
  assert.deepEqual(container.securityContext?.capabilities?.drop, ["ALL"]);
  assert.equal(container.securityContext?.capabilities?.add, undefined);

  const ports: Record<string, number | undefined> = Object.fromEntries(
    (container.ports ?? []).map((p) => [p.name, p.containerPort]),
  );
  assert.deepEqual({ ...ports }, { metrics: 8443, health: 8081 });
  assert.ok(
    !container.args?.some((arg) => arg.startsWith("--metrics-secure")),
    "secure metrics (the default)",
  );
  for (
    const [probe, path] of [[container.livenessProbe, "/healthz"], [
      container.readinessProbe,
      "/readyz",
    ]] as const
  ) {
    assert.equal(probe?.httpGet?.path, path);
    const port = probe?.httpGet?.port;
    assert.equal(typeof port === "string" ? ports[port] : port, 8081, path);
  }
  for (const kind of ["requests", "limits"] as const) {
    assert.ok(container.resources?.[kind]?.cpu, `${kind}.cpu`);
    assert.ok(container.resources?.[kind]?.memory, `${kind}.memory`);
  }
});

renderTest("the metrics Service and the PodDisruptionBudget select the operator's pods", () => {
  const { labels } = operatorPod();
  const service = only("Service").spec as {
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: unknown }[];
  };
  const pdb = only("PodDisruptionBudget").spec as {
    minAvailable: number;
    selector: { matchLabels: Record<string, string> };
  };
  for (const selector of [service.selector, pdb.selector.matchLabels]) {
    assert.ok(Object.keys(selector).length > 0);
    for (const [key, value] of Object.entries(selector)) assert.equal(labels[key], value, key);
  }
  assert.deepEqual(service.ports.map((p) => [p.name, p.port, p.targetPort]), [[
    "metrics",
    8443,
    "metrics",
  ]]);
  assert.equal(pdb.minAvailable, 1);
});

function assertNarrow(rules: PolicyRule[], where: string) {
  assert.ok(rules.length > 0, where);
  for (const rule of rules) {
    const values = [
      rule.verbs,
      rule.apiGroups,
      rule.resources,
      rule.resourceNames,
      rule.nonResourceURLs,
    ]
      .flatMap((list) => list ?? []);
    assert.ok(
      !values.some((v) => v.includes("*")),
      `${where}: wildcard in ${JSON.stringify(rule)}`,
    );
    assert.ok(
      !(rule.resources ?? []).some((r) => r.split("/")[0] === "secrets"),
      `${where}: secrets`,
    );
    assert.equal(rule.nonResourceURLs, undefined, `${where}: discovery is granted by default`);
    for (const verb of ["escalate", "bind", "impersonate", "deletecollection"]) {
      assert.ok(!rule.verbs.includes(verb), `${where}: ${verb}`);
    }
  }
}

renderTest("RBAC: no wildcards, no secrets, bound only to the operator's service account", () => {
  const clusterRole = only("ClusterRole", "kleff-tenant-operator");
  assertNarrow(clusterRole.rules as PolicyRule[], "ClusterRole");
  const roles = rendered!.filter((o) => o.kind === "Role");
  for (const role of roles) assertNarrow(role.rules as PolicyRule[], `Role ${role.metadata?.name}`);
  assert.deepEqual(
    roles.map((r) => `${r.metadata?.namespace}/${r.metadata?.name}`).sort(),
    ["default/kleff-tenant-operator-events", "kleff-system/kleff-tenant-operator-leader-election"],
  );
  const rbacBindings = rendered!.filter((o) =>
    o.apiVersion === "rbac.authorization.k8s.io/v1" && o.kind?.endsWith("Binding")
  );
  for (const binding of rbacBindings) {
    assert.deepEqual(binding.subjects, [OPERATOR_SA], `${binding.kind} ${binding.metadata?.name}`);
    const ref = binding.roleRef as { kind: string; name: string };
    const target = rendered!.find((o) =>
      o.kind === ref.kind && o.metadata?.name === ref.name &&
      (ref.kind === "ClusterRole" || o.metadata?.namespace === binding.metadata?.namespace)
    );
    assert.ok(target, `${binding.metadata?.name} refers to a role in the base`);
  }
});

renderTest(
  "metrics: a reader ClusterRole for scrapers, and only monitoring namespaces get in",
  () => {
    const reader = only("ClusterRole", "kleff-tenant-operator-metrics-reader");
    assert.deepEqual(reader.rules, [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }]);
    assert.ok(
      !rendered!.some((o) =>
        (o.roleRef as { name?: string } | undefined)?.name === reader.metadata?.name
      ),
      "bound by whoever runs Prometheus, not by the base",
    );
    const { labels, container } = operatorPod();
    const policy = only("NetworkPolicy").spec as {
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      ingress: { from: unknown[]; ports: { port: string | number; protocol: string }[] }[];
    };
    for (const [key, value] of Object.entries(policy.podSelector.matchLabels)) {
      assert.equal(labels[key], value, key);
    }
    assert.deepEqual(policy.policyTypes, ["Ingress"]);
    assert.deepEqual(policy.ingress, [{
      from: [{ namespaceSelector: { matchLabels: { "kleff.io/monitoring": "true" } } }],
      ports: [{ protocol: "TCP", port: "metrics" }],
    }]);
    assert.ok(container.ports?.some((p) => p.name === "metrics"), "the named port exists");
  },
);

renderTest(
  "admission policies: each bound with Deny, failing closed, naming the operator's account",
  () => {
    const policies = rendered!.filter((o) => o.kind === "ValidatingAdmissionPolicy");
    const bindings = rendered!.filter((o) => o.kind === "ValidatingAdmissionPolicyBinding");
    assert.deepEqual(policies.map((p) => p.metadata?.name).sort(), [
      "kleff-tenant-namespaces",
      "kleff-tenant-objects",
    ]);
    const username = `system:serviceaccount:${OPERATOR_SA.namespace}:${OPERATOR_SA.name}`;
    for (const policy of policies) {
      const spec = policy.spec as {
        failurePolicy: string;
        variables: { name: string; expression: string }[];
      };
      assert.equal(spec.failurePolicy, "Fail");
      const operator = spec.variables.find((v) => v.name === "operator");
      assert.equal(operator?.expression, `request.userInfo.username == '${username}'`);
      const bound = bindings.filter((b) =>
        (b.spec as { policyName: string }).policyName === policy.metadata?.name
      );
      assert.equal(bound.length, 1, `${policy.metadata?.name} is bound`);
      assert.deepEqual((bound[0].spec as { validationActions: string[] }).validationActions, [
        "Deny",
      ]);
    }
  },
);

/** `path` relative to `from` (both absolute): kustomize wants relative resource paths. */
function relative(from: string, path: string): string {
  const a = from.split("/").filter(Boolean);
  const b = path.split("/").filter(Boolean);
  let common = 0;
  while (common < a.length && a[common] === b[common]) common++;
  return [...a.slice(common).map(() => ".."), ...b.slice(common)].join("/");
}

Deno.test({
  name: "the without-admission-policies component leaves out the policies and nothing else",
  ignore: rendered === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "kleff-overlay-" });
    const kubeconfig = `${dir}/kubeconfig`;
    try {
      await Deno.writeTextFile(kubeconfig, "");
      await Deno.writeTextFile(
        `${dir}/kustomization.yaml`,
        `resources: [${relative(dir, DEPLOY.pathname)}]\ncomponents: [${
          relative(dir, new URL("without-admission-policies/", DEPLOY).pathname)
        }]\n`,
      );
      const output = await new Deno.Command("kubectl", {
        args: ["kustomize", dir, "--kubeconfig", kubeconfig],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(output.success, new TextDecoder().decode(output.stderr));
      const objects = parseAllDocuments(new TextDecoder().decode(output.stdout))
        .map((doc) => doc.toJS() as Obj);
      const names = (list: Obj[]) => list.map((o) => `${o.kind}/${o.metadata?.name}`).sort();
      assert.deepEqual(
        names(objects),
        names(rendered!.filter((o) => !o.kind?.startsWith("ValidatingAdmissionPolicy"))),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the optional plans Role reads ConfigMaps and writes Events in kleff-system only", async () => {
  const docs = parseAllDocuments(await Deno.readTextFile(new URL("plans_role.yaml", DEPLOY)))
    .map((doc) => doc.toJS() as Obj);
  const role = docs.find((d) => d.kind === "Role")!;
  assert.equal(role.metadata?.namespace, "kleff-system");
  assert.deepEqual(role.rules, [
    { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["events"], verbs: ["create", "get", "patch"] },
  ]);
  const binding = docs.find((d) => d.kind === "RoleBinding")!;
  assert.deepEqual(binding.subjects, [OPERATOR_SA]);
  const kustomization = await Deno.readTextFile(new URL("kustomization.yaml", DEPLOY));
  assert.doesNotMatch(kustomization, /^\s*-\s*plans_role\.yaml/m, "opt-in, not in the base");
});

/** The ENTRYPOINT's `deno run` flags, joined from the Dockerfile's JSON array. */
async function dockerfile(): Promise<{ text: string; flags: string[] }> {
  const text = await Deno.readTextFile(new URL("Dockerfile", ROOT));
  const entry = /^ENTRYPOINT\s+(\[[\s\S]*?\])\s*$/m.exec(text.replace(/\\\n/g, ""));
  assert.ok(entry, "exec-form ENTRYPOINT");
  return { text, flags: JSON.parse(entry[1]) as string[] };
}

Deno.test("the image, deno task start and the operator processes of tests and benchmarks use the same V8 flags and environment", async () => {
  const { text, flags } = await dockerfile();
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    tasks: Record<string, string>;
  };
  const v8 = (words: readonly string[]) => words.filter((word) => word.startsWith("--v8-flags="));
  assert.deepEqual(v8(flags), [`--v8-flags=${OPERATOR_V8_FLAGS}`], "the image's ENTRYPOINT");
  const start = config.tasks.start.split(/\s+/);
  assert.deepEqual(v8(start), [`--v8-flags=${OPERATOR_V8_FLAGS}`]);
  const { env } = imageProcess(instructions(text));
  const assignments = start.slice(0, start.indexOf("deno"));
  for (const [name, value] of Object.entries(OPERATOR_ENV)) {
    assert.equal(env[name], value, `the image's ENV ${name}`);
    assert.ok(assignments.includes(`${name}=${value}`), `deno task start sets ${name}=${value}`);
  }
});

/** Environment variables read by the operator's own modules (its `deno info` module graph). */
async function envReadByOperator(): Promise<Set<string>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "mod.ts"],
    cwd: ROOT.pathname,
    stdout: "piped",
  }).output();
  assert.ok(output.success, "deno info mod.ts");
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: { specifier: string }[];
  };
  const names = new Set<string>();
  for (const { specifier } of graph.modules) {
    if (!specifier.startsWith("file:")) continue;
    const source = await Deno.readTextFile(new URL(specifier));
    for (const m of source.matchAll(/(?:Deno\.env\.get|\benv)\(\s*"([A-Z_][A-Z0-9_]*)"/g)) {
      names.add(m[1]);
    }
    for (const m of source.matchAll(/process\.env\.([A-Z_][A-Z0-9_]*)/g)) names.add(m[1]);
  }
  return names;
}

Deno.test("the image runs as non-root with narrowed Deno permissions covering what the code reads", async () => {
  const { text, flags } = await dockerfile();
  assert.match(
    text,
    /^FROM denoland\/deno:\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?\s*$/m,
    "pinned base",
  );
  assert.match(text, /^USER (deno|1993)\s*$/m);
  assert.deepEqual(flags.slice(0, 2), ["deno", "run"]);
  assert.equal(flags.at(-1), "mod.ts");
  assert.ok(flags.includes("--cached-only"));
  for (const flag of flags) {
    assert.ok(
      !/^(-A|--allow-all|--allow-write|--allow-run|--allow-ffi|--allow-import)(=|$)/.test(flag),
      flag,
    );
  }
  const list = (name: string) => {
    const flag = flags.find((f) => f.startsWith(`--allow-${name}=`));
    assert.ok(flag, `--allow-${name} must list what it allows`);
    return flag.slice(`--allow-${name}=`.length).split(",");
  };
  assert.ok(list("read").includes(SERVICE_ACCOUNT_DIR));
  assert.deepEqual(list("sys"), ["hostname"]);
  const allowedEnv = new Set(list("env"));
  // USERPROFILE is only read when HOME is unset, and the image sets HOME.
  assert.match(text, /\bHOME=\/home\/deno\b/);
  assert.ok(list("read").includes("/home/deno/.kube"), "the client's ~/.kube/config lookup");
  const read = await envReadByOperator();
  read.delete("USERPROFILE");
  for (const name of ["LOG_TOKENS", "LOG_STREAM"]) read.add(name); // read by the yaml package
  assert.deepEqual(
    [...read].filter((name) => !allowedEnv.has(name)),
    [],
    "env read but not allowed",
  );
});
