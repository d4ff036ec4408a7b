// Supported Kubernetes versions against a real server: the operator reads /version and says what
// it gets, refuses a server older than the minimum unless --allow-unsupported-kubernetes, and the
// CRD installs the way the README says for the server's version.
import assert from "node:assert/strict";
import {
  assessKubernetesVersion,
  MINIMUM_KUBERNETES_VERSION,
} from "../../lib/operator/kubernetes_version.ts";
import { onPath } from "../support/fs.ts";
import { denoRun, OperatorProcess } from "../support/operator_process.ts";
import { DEPLOY_DIR, OperatorEnv } from "../support/operator_env.ts";
import { KUBE_ASSETS, realCluster, realOnly } from "../support/test_apiserver.ts";

const FLAGS = ["--health-probe-bind-address", "127.0.0.1:0", "--metrics-bind-address", "0"];

function assessment() {
  const { major, minor, version } = KUBE_ASSETS!;
  return assessKubernetesVersion({ major, minor, gitVersion: version });
}

Deno.test({
  name: "the operator reads /version, says what it gets, and refuses an unsupported server",
  ...realOnly(),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  const { supported, missing } = assessment();
  const version = KUBE_ASSETS!.version;
  const plain = new OperatorProcess(
    ["--kubeconfig", env.operatorKubeconfigPath, ...FLAGS],
    denoRun,
  );
  if (supported) {
    const line = await plain.waitForLog(/^Kubernetes .*: supported/, 30_000);
    assert.equal(line.properties?.version, version);
    plain.kill("SIGTERM");
    assert.equal(await plain.exited(), 0);
    return;
  }
  assert.equal(await plain.exited(), 1, "an unsupported server is refused");
  const fatal = plain.lines.find((line) => line.level === "FATAL");
  assert.ok(fatal, plain.lines.map((line) => line.message).join("\n"));
  assert.match(
    String(fatal.properties?.error),
    new RegExp(
      `Kubernetes ${version.replaceAll(".", "\\.")} is older than the minimum supported ` +
        `v${MINIMUM_KUBERNETES_VERSION.major}\\.${MINIMUM_KUBERNETES_VERSION.minor}`,
    ),
  );
  assert.match(String(fatal.properties?.error), /--allow-unsupported-kubernetes/);

  const allowed = new OperatorProcess([
    "--kubeconfig",
    env.operatorKubeconfigPath,
    "--allow-unsupported-kubernetes",
    ...FLAGS,
  ], denoRun);
  try {
    await allowed.waitForLog(/^running on unsupported Kubernetes/, 30_000);
    await allowed.waitForLog(/^tenant controller started/, 30_000);
    const lacking = allowed.lines.filter((line) => /^Kubernetes .* lacks /.test(line.message))
      .map((line) => line.properties?.feature);
    assert.deepEqual(lacking, missing.map((feature) => feature.name));
    await env.createTenant("old-server", { userId: "ns-old", username: "u", plan: "basic" });
    await env.waitForCondition("old-server", "TenantReady", "True", undefined, 30_000);
  } finally {
    allowed.kill("SIGTERM");
    assert.equal(await allowed.exited(), 0);
  }
});

/** Runs kubectl with the test's admin kubeconfig. */
async function kubectl(kubeconfig: string, args: string[]) {
  const output = await new Deno.Command("kubectl", {
    args: ["--kubeconfig", kubeconfig, ...args],
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { success: output.success, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test({
  name: "deploy/crd.yaml installs with kubectl as the README says for the server's version",
  ignore: realOnly().ignore || !onPath("kubectl"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  await realCluster!.deleteCrd("tenants.kleff.kleff.io");
  const crd = new URL("crd.yaml", DEPLOY_DIR).pathname;
  const rules = assessment().available.some((feature) => feature.name.startsWith("CRD validation"));
  const strict = await kubectl(env.kubeconfigPath, ["apply", "-f", crd]);
  if (!rules) {
    assert.equal(
      strict.success,
      false,
      "kubectl refuses the CEL rules an old server does not know",
    );
    assert.match(strict.stderr, /unknown field "x-kubernetes-validations"/);
    const lax = await kubectl(env.kubeconfigPath, ["apply", "--validate=false", "-f", crd]);
    assert.ok(lax.success, lax.stderr);
  } else {
    assert.ok(strict.success, strict.stderr);
  }
  const established = await kubectl(env.kubeconfigPath, [
    "wait",
    "--for=condition=Established",
    "--timeout=30s",
    "crd/tenants.kleff.kleff.io",
  ]);
  assert.ok(established.success, established.stderr);
  await env.createTenant("t", { userId: "ns-t", username: "u", plan: "basic" });
  const change = env.tenants.patch("t", { spec: { userId: "ns-other" } });
  if (rules) {
    await assert.rejects(change, /immutable/);
  } else {
    // The server takes the change; the operator refuses it (InvalidSpec, tests/e2e/operator).
    assert.equal((await change).spec?.userId, "ns-other");
  }
});
