// Every connection mode against the dev API server: HTTP, HTTPS + CA, token, rotated token file, client cert, exec plugin, in-cluster.
import assert from "node:assert/strict";
import type { ConfigMap, Namespace } from "kubernetes-types/core/v1.d.ts";
import { type DevApiServer, startDevApiServer } from "../../../dev_apiserver/mod.ts";
import {
  AlreadyExistsError,
  configMaps,
  ConflictError,
  connect,
  type KubeClient,
  namespaces,
  NotFoundError,
  UnauthorizedError,
} from "../../../lib/client/mod.ts";
import { withDir } from "../../support/fs.ts";

const PLUGIN = new URL("../../fixtures/exec_plugin.sh", import.meta.url).pathname;

/** Writes the server's kubeconfig with the user replaced, and connects through it. */
async function connectWith(
  server: DevApiServer,
  dir: string,
  user?: Record<string, unknown>,
): Promise<KubeClient> {
  const config = structuredClone(server.kubeconfig) as unknown as { users: { user: unknown }[] };
  if (user) config.users[0].user = user;
  await Deno.writeTextFile(`${dir}/config`, JSON.stringify(config));
  return await connect({ kubeconfig: `${dir}/config`, load: { env: () => undefined } });
}

async function roundTrip(kube: KubeClient, name: string): Promise<void> {
  const ns = kube.resource<Namespace>(namespaces);
  const created = await ns.create({ metadata: { name } });
  assert.equal(created.metadata?.name, name);
  assert.equal((await ns.get(name)).metadata?.uid, created.metadata?.uid);
}

Deno.test("plain HTTP: CRUD, typed errors, paged list, patches, status of delete, discovery", async () => {
  await using server = await startDevApiServer();
  await withDir(async (dir) => {
    using kube = await connectWith(server, dir);
    assert.equal(kube.server, server.url);
    assert.equal(kube.namespace, "default");
    await roundTrip(kube, "plain");
    const cms = kube.resource<ConfigMap>(configMaps);
    for (let i = 0; i < 7; i++) {
      await cms.create({
        metadata: { name: `cm-${i}`, labels: { n: String(i % 2) } },
        data: { i: String(i) },
      }, {
        namespace: "plain",
      });
    }
    await assert.rejects(
      cms.create({ metadata: { name: "cm-0" } }, { namespace: "plain" }),
      AlreadyExistsError,
    );
    const all = await cms.list({ namespace: "plain", limit: 3 });
    assert.equal(all.items.length, 7);
    assert.ok(Number(all.resourceVersion) > 0);
    assert.equal((await cms.list({ namespace: "plain", labelSelector: "n=1" })).items.length, 3);
    const cm0 = await cms.get("cm-0", { namespace: "plain" });
    const patched = await cms.patch("cm-0", { data: { extra: "yes" } }, { namespace: "plain" });
    assert.deepEqual(patched.data, { i: "0", extra: "yes" });
    const jsonPatched = await cms.patch("cm-0", [{ op: "remove", path: "/data/extra" }], {
      namespace: "plain",
      type: "json",
    });
    assert.deepEqual(jsonPatched.data, { i: "0" });
    await assert.rejects(cms.replace({ ...cm0, data: { stale: "1" } }), ConflictError);
    const replaced = await cms.replace({ ...jsonPatched, data: { fresh: "1" } });
    assert.deepEqual(replaced.data, { fresh: "1" });
    await cms.delete("cm-0", {
      namespace: "plain",
      preconditions: { uid: replaced.metadata?.uid },
    });
    await assert.rejects(cms.get("cm-0", { namespace: "plain" }), NotFoundError);
    const served = await kube.discovery.serverResources();
    assert.ok(served.some((r) => r.kind === "Namespace" && r.group === "" && !r.namespaced));
    const leases = await kube.discovery.findResource("coordination.k8s.io", "Lease");
    assert.equal(leases?.plural, "leases");
    assert.equal(
      await kube.discovery.findResource("networking.istio.io", "VirtualService"),
      undefined,
    );
  });
});

Deno.test("HTTPS with the cluster CA and a bearer token; a wrong token is a clear 401", async () => {
  await using server = await startDevApiServer({ tls: true, tokens: ["good-token-1"] });
  await withDir(async (dir) => {
    using kube = await connectWith(server, dir, { token: "good-token-1" });
    assert.match(kube.server, /^https:/);
    await roundTrip(kube, "https-token");
    using bad = await connectWith(server, dir, { token: "bad-secret-token" });
    const error = await bad.resource<Namespace>(namespaces).get("https-token").catch((e) => e);
    assert.ok(error instanceof UnauthorizedError, String(error));
    assert.ok(!error.message.includes("bad-secret-token"));
  });
});

Deno.test("a token file rotated during the run is re-read on the 401", async () => {
  await using server = await startDevApiServer({ tokens: ["rotate-1"] });
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/token`, "rotate-1\n");
    using kube = await connectWith(server, dir, { tokenFile: "token" });
    await roundTrip(kube, "rotate-a");
    server.setTokens(["rotate-2"]);
    await Deno.writeTextFile(`${dir}/token`, "rotate-2\n");
    await roundTrip(kube, "rotate-b");
    assert.equal(server.counters.count({ code: 401 }), 1);
  });
});

Deno.test("client certificate signed by the cluster CA", async () => {
  await using server = await startDevApiServer({ tls: true, clientCertificates: true });
  await withDir(async (dir) => {
    const user = server.kubeconfig.users[0].user;
    assert.ok(user["client-certificate-data"], "the dev server hands out a client certificate");
    using kube = await connectWith(server, dir, {
      "client-certificate-data": user["client-certificate-data"],
      "client-key-data": user["client-key-data"],
    });
    await roundTrip(kube, "client-cert");
  });
});

Deno.test("exec plugin: its token is used, cached, and the plugin runs again after a 401", async () => {
  await using server = await startDevApiServer({ tokens: ["exec-token-1"] });
  await withDir(async (dir) => {
    using kube = await connectWith(server, dir, {
      exec: {
        apiVersion: "client.authentication.k8s.io/v1",
        command: PLUGIN,
        interactiveMode: "Never",
        env: [{ name: "PLUGIN_STATE", value: dir }, {
          name: "PLUGIN_TOKEN_PREFIX",
          value: "exec-token-",
        }],
      },
    });
    await roundTrip(kube, "exec-a");
    await roundTrip(kube, "exec-b");
    assert.equal((await Deno.readTextFile(`${dir}/calls`)).trim(), "1");
    server.setTokens(["exec-token-2"]);
    await roundTrip(kube, "exec-c");
    assert.equal((await Deno.readTextFile(`${dir}/calls`)).trim(), "2");
  });
});

Deno.test("in-cluster: service account files in a temp dir and KUBERNETES_SERVICE_HOST/PORT", async () => {
  await using server = await startDevApiServer({ tls: true, tokens: ["sa-token"] });
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/token`, "sa-token");
    await Deno.writeTextFile(`${dir}/ca.crt`, server.caPem!);
    await Deno.writeTextFile(`${dir}/namespace`, "kleff-system");
    const url = new URL(server.url);
    const env: Record<string, string> = {
      HOME: dir,
      KUBERNETES_SERVICE_HOST: url.hostname,
      KUBERNETES_SERVICE_PORT: url.port,
    };
    using kube = await connect({ load: { env: (name) => env[name], serviceAccountDir: dir } });
    assert.equal(kube.namespace, "kleff-system");
    await roundTrip(kube, "in-cluster");
  });
});
