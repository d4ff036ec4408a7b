// Tenants as kubectl shows them, against the dev API server with the CRD of deploy/ and the
// operator running: `get tenants` and its `-o wide` columns (the TenantReady reason, the quota
// summary), and `kubectl explain` of the Tenant fields. Skipped, with a note, without kubectl.
import assert from "node:assert/strict";
import { needsKubernetes, OperatorEnv } from "../../support/operator_env.ts";
import { runTool, toolsPresent } from "../../support/tools.ts";

const KUBECTL = toolsPresent(["kubectl"], "the kubectl Tenant tests");

async function kubectl(env: OperatorEnv, ...args: string[]): Promise<string> {
  const run = await runTool("kubectl", ["--kubeconfig", env.kubeconfigPath, ...args]);
  assert.equal(run.code, 0, `kubectl ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

/** The rows of a kubectl table as column name -> cell, split on the header's column starts. */
function table(text: string): Record<string, string>[] {
  const [header, ...rows] = text.trimEnd().split("\n");
  const starts = [...header.matchAll(/\S+/g)].map((match) => match.index!);
  const names = [...header.matchAll(/\S+/g)].map((match) => match[0]);
  return rows.map((row) =>
    Object.fromEntries(
      names.map((name, i) => [name, row.slice(starts[i], starts[i + 1]).trim()]),
    )
  );
}

Deno.test({
  name: "kubectl get tenants -o wide adds the TenantReady reason and the quota summary",
  ignore: !KUBECTL,
  fn: async () => {
    // TLS: kubectl sends bearer tokens over HTTPS only.
    await using env = await OperatorEnv.start({ server: { tls: true } });
    await env.namespaces.create({ metadata: { name: "taken" } });
    await env.createTenant("good", { userId: "good-ns", username: "alice", plan: "basic" });
    await env.createTenant("gold", { userId: "gold-ns", username: "bob", plan: "gold" });
    await env.createTenant("clash", { userId: "taken", username: "carol", plan: "free" });
    await env.waitForCondition("good", "TenantReady", "True");
    await env.waitForCondition("gold", "TenantReady", "False", "UnknownPlan");
    await env.waitForCondition("clash", "TenantReady", "False", "NamespaceConflict");

    const narrow = table(await kubectl(env, "get", "tenants"));
    assert.deepEqual(Object.keys(narrow[0]), [
      "NAME",
      "USERNAME",
      "PLAN",
      "NAMESPACE",
      "READY",
      "AGE",
    ]);
    const wide = table(await kubectl(env, "get", "tenants", "-o", "wide"));
    assert.deepEqual(
      wide.map(({ NAME, READY, REASON, QUOTA }) => ({ NAME, READY, REASON, QUOTA })),
      [
        { NAME: "clash", READY: "False", REASON: "NamespaceConflict", QUOTA: "" },
        {
          NAME: "gold",
          READY: "False",
          REASON: "UnknownPlan",
          QUOTA: "pods=0 cpu=0/0 memory=0/0 pvcs=0 storage=0 (+2 more)",
        },
        {
          NAME: "good",
          READY: "True",
          REASON: "Ready",
          QUOTA: "pods=20 cpu=1/2 memory=2Gi/4Gi pvcs=5 storage=20Gi (+2 more)",
        },
      ],
    );
  },
});

Deno.test({
  name: "kubectl explain describes the Tenant's spec and status fields from the CRD",
  // kubectl explain prints its GROUP line from OpenAPI v3, served from Kubernetes 1.27 on.
  ignore: !KUBECTL || needsKubernetes(27, "OpenAPI v3 for kubectl explain").ignore,
  fn: async () => {
    await using env = await OperatorEnv.start({ operator: false, server: { tls: true } });
    const spec = await kubectl(env, "explain", "tenant.spec");
    assert.match(spec, /^GROUP:\s+kleff\.kleff\.io$/m);
    assert.match(spec, /^KIND:\s+Tenant$/m);
    for (const field of ["deletionPolicy\t<string>", "plan\t<string> -required-"]) {
      assert.ok(spec.includes(field), `${field} in:\n${spec}`);
    }
    for (const field of ["userId", "username"]) {
      assert.match(spec, new RegExp(`^  ${field}\\t<string> -required-$`, "m"));
    }
    const quota = await kubectl(env, "explain", "tenant.status.quota");
    assert.match(quota, /FIELD: quota <string>/);
    assert.match(quota, /hard limits of the ResourceQuota kleff-quota/);
  },
});
