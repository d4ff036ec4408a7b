// The container's configuration, proven without a container engine: the operator runs as the
// image runs it (the Dockerfile's ENTRYPOINT words, Deno permissions included, its ENV and
// WORKDIR's relative mod.ts) in in-cluster mode against a real API server: a real service-account
// token and the CA mounted at /var/run/secrets/kubernetes.io/serviceaccount (in a private mount
// namespace, laid out as the kubelet writes it), KUBERNETES_SERVICE_HOST/PORT, the Lease
// namespace from POD_NAMESPACE, and the token rotated while it runs.
import assert from "node:assert/strict";
import type { Secret } from "kubernetes-types/core/v1.d.ts";
import type { Lease } from "kubernetes-types/coordination/v1.d.ts";
import { leases, type ResourceDescriptor, SERVICE_ACCOUNT_DIR } from "../../lib/client/mod.ts";
import { imageProcess, instructions } from "../support/dockerfile.ts";
import { type OperatorLauncher, OperatorProcess } from "../support/operator_process.ts";
import {
  eventually,
  OPERATOR_ACCOUNT,
  OPERATOR_USERNAME,
  OperatorEnv,
} from "../support/operator_env.ts";
import { operatorFlagsForTestApiServer, realCluster, realOnly } from "../support/test_apiserver.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** Secrets: the operator never touches them, so lib/ has no descriptor. */
const SECRETS: ResourceDescriptor = {
  group: "",
  version: "v1",
  plural: "secrets",
  kind: "Secret",
  namespaced: true,
};

/** Whether this process may make a private mount namespace (root, or user namespaces allowed). */
function canUnshareMounts(): boolean {
  try {
    return new Deno.Command("unshare", {
      args: ["--mount", "--propagation", "private", "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

/** Options of this test: the real lane, and a private mount namespace for the token folder. */
function inClusterOptions(): { ignore: boolean } {
  const { ignore } = realOnly();
  if (ignore) return { ignore };
  if (canUnshareMounts()) return { ignore: false };
  console.log(
    `note: skipping the in-cluster test: it mounts a token folder at ${SERVICE_ACCOUNT_DIR} in a ` +
      "private mount namespace, and `unshare --mount` is not allowed here",
  );
  return { ignore: true };
}

/**
 * A service-account folder as the kubelet writes a projected volume: files in a timestamped
 * folder, `..data` pointing at it, and each file a link through `..data`, so that an update is
 * one atomic rename.
 */
class ServiceAccountFolder {
  readonly path: string;
  #generation = 0;

  private constructor(path: string) {
    this.path = path;
  }

  static async create(files: Record<string, string>): Promise<ServiceAccountFolder> {
    const folder = new ServiceAccountFolder(await Deno.makeTempDir({ prefix: "kleff-sa-" }));
    await folder.write(files);
    for (const name of Object.keys(files)) {
      await Deno.symlink(`..data/${name}`, `${folder.path}/${name}`);
    }
    return folder;
  }

  /** Replaces the files at once, as the kubelet does on token rotation. */
  async write(files: Record<string, string>): Promise<void> {
    const previous = await Deno.readLink(`${this.path}/..data`).catch(() => undefined);
    const data = `..${new Date().toISOString().replace(/[-:.TZ]/g, "_")}${++this.#generation}`;
    await Deno.mkdir(`${this.path}/${data}`);
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${this.path}/${data}/${name}`, text, { mode: 0o644 });
    }
    await Deno.symlink(data, `${this.path}/..data_tmp`);
    await Deno.rename(`${this.path}/..data_tmp`, `${this.path}/..data`);
    if (previous) await Deno.remove(`${this.path}/${previous}`, { recursive: true });
  }

  async remove(): Promise<void> {
    await Deno.remove(this.path, { recursive: true });
  }
}

/** The host's Deno cache, standing in for the image's DENO_DIR (set by its base image). */
async function denoDir(): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  return JSON.parse(new TextDecoder().decode(output.stdout)).denoDir;
}

/**
 * Runs the Dockerfile's ENTRYPOINT with its ENV and WORKDIR (the repository standing in for
 * /app) in a private mount namespace where `folder` is the service-account folder.
 */
async function imageLauncher(
  folder: string,
  env: Record<string, string>,
): Promise<OperatorLauncher> {
  const image = imageProcess(instructions(await Deno.readTextFile(`${ROOT}Dockerfile`)));
  const [program, ...entrypointArgs] = image.entrypoint;
  assert.equal(program, "deno", "the ENTRYPOINT runs deno");
  assert.equal(image.workdir, "/app");
  const deno = Deno.execPath();
  const mount = `mount -t tmpfs tmpfs /var/run && mkdir -p ${SERVICE_ACCOUNT_DIR} && ` +
    `mount --bind "$0" ${SERVICE_ACCOUNT_DIR} && exec "$@"`;
  const cache = await denoDir();
  return (flags) => ({
    program: "unshare",
    options: {
      args: [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-ec",
        mount,
        folder,
        deno,
        ...entrypointArgs,
        ...flags,
      ],
      cwd: ROOT,
      clearEnv: true,
      env: { ...image.env, DENO_DIR: cache, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...env },
    },
  });
}

Deno.test({
  name:
    "in-cluster mode as the image runs it: a real token and CA from files, rotated while running",
  ...inClusterOptions(),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  const kube = realCluster!.kube;
  const [namespace, account] = OPERATOR_ACCOUNT.split("/");
  const secretClient = env.client.resource<Secret>(SECRETS);
  const bind = async (name: string) => {
    const secret = await secretClient.create({ metadata: { name, namespace } });
    const token = await kube.serviceAccountToken(namespace, account, {
      boundSecret: { name, uid: secret.metadata!.uid! },
    });
    return token;
  };
  const first = await bind("token-holder-1");
  const folder = await ServiceAccountFolder.create({
    token: first,
    "ca.crt": kube.handle.caPem,
    namespace,
  });
  const port = new URL(kube.url).port;
  const operator = new OperatorProcess(
    [
      ...operatorFlagsForTestApiServer(),
      "--health-probe-bind-address",
      "127.0.0.1:0",
      "--metrics-bind-address",
      "127.0.0.1:0",
      "--leader-elect",
      "--leader-elect-lease-duration",
      "4s",
      "--leader-elect-renew-deadline",
      "3s",
      "--leader-elect-retry-period",
      "500ms",
    ],
    await imageLauncher(folder.path, {
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: port,
      POD_NAMESPACE: namespace,
      POD_NAME: "kleff-tenant-operator-0",
    }),
  );
  try {
    const connected = await operator.waitForLog(/^connected to /, 30_000);
    assert.equal(connected.properties?.server, `https://127.0.0.1:${port}`);
    await operator.waitForLog(/^became leader/, 30_000);
    await env.createTenant("inside", { userId: "ns-inside", username: "u", plan: "basic" });
    await env.waitForCondition("inside", "TenantReady", "True", undefined, 30_000);

    const second = await bind("token-holder-2");
    await folder.write({ token: second, "ca.crt": kube.handle.caPem, namespace });
    await secretClient.delete("token-holder-1", { namespace });
    using client = Deno.createHttpClient({ caCerts: [kube.handle.caPem] });
    await eventually("the first token refused", async () => {
      const response = await fetch(`${kube.url}/api/v1/namespaces/${namespace}/serviceaccounts`, {
        headers: { authorization: `Bearer ${first}` },
        client,
      });
      await response.body?.cancel();
      return response.status === 401;
    }, 30_000);
    await env.createTenant("rotated", { userId: "ns-rotated", username: "u", plan: "free" });
    await env.waitForCondition("rotated", "TenantReady", "True", undefined, 30_000);
    await env.namespaces.patch("ns-inside", {
      metadata: { labels: { "kleff.io/tenant-plan": "edited" } },
    });
    await eventually("drift restored with the rotated token", async () => {
      const labels = (await env.namespaces.get("ns-inside")).metadata?.labels;
      return labels?.["kleff.io/tenant-plan"] === "basic";
    }, 30_000);

    const lease = await env.client.resource<Lease>(leases).get("kleff-tenant-operator", {
      namespace,
    });
    assert.match(
      lease.spec?.holderIdentity ?? "",
      /^kleff-tenant-operator-0_/,
      "the Lease is in POD_NAMESPACE, held under POD_NAME",
    );
    operator.kill("SIGTERM");
    assert.equal(await operator.exited(), 0, "clean shutdown exits 0");
    const used = env.usedPermissions(OPERATOR_USERNAME);
    for (const permission of ["patch kleff.kleff.io/tenants/status", "create /namespaces"]) {
      assert.ok(used.has(permission), `the operator acted as its service account: ${permission}`);
    }
    assert.deepEqual(operator.unparsed, [], "every log line is JSON");
    const failures = operator.lines.filter((line) => ["ERROR", "FATAL"].includes(line.level));
    assert.deepEqual(failures.map((line) => line.message), []);
    const refreshed = operator.lines.filter((line) => /^401 from/.test(line.message)).length;
    console.log(
      `in-cluster: ${refreshed} request(s) answered 401 after the rotation, then retried`,
    );
  } finally {
    operator.kill("SIGKILL");
    await operator.exited();
    await folder.remove();
  }
});
