// What `deno task bench peer` compares our operator with must do the work it is credited for:
// the peer (tools/node_client/peer_operator.ts, client-node informers) brings a Tenant to Ready
// with the seed's namespace, finalizer and status, leaves a foreign namespace alone and tears
// down through its finalizer; the write-only floor (bench/write_floor.ts) makes its three writes.
import assert from "node:assert/strict";
import type { Namespace } from "kubernetes-types/core/v1.d.ts";
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import { parse } from "yaml";
import { type DevApiServer, startDevApiServer } from "../../../dev_apiserver/mod.ts";
import {
  connect,
  customResourceDefinitions,
  isNotFound,
  type KubeClient,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  namespaces,
  type Tenant,
  TENANT_FINALIZER,
  TENANT_LABEL,
  TENANT_PLAN_LABEL,
  TENANT_RESOURCE,
  TENANT_UID_ANNOTATION,
  TENANT_USERNAME_LABEL,
} from "../../../lib/client/mod.ts";
import { peerCommand } from "../../../tools/node_client/peer_process.ts";
import { withDir } from "../../support/fs.ts";
import { eventually } from "../../support/wait.ts";

const ROOT = new URL("../../../", import.meta.url);
const FLOOR = new URL("bench/write_floor.ts", ROOT).pathname;

/** A dev server with the Tenant CRD, a kubeconfig file and a client, for `body`. */
async function withCluster(
  body: (
    cluster: { server: DevApiServer; client: KubeClient; kubeconfig: string },
  ) => Promise<void>,
): Promise<void> {
  await using server = await startDevApiServer();
  await withDir(async (dir) => {
    const kubeconfig = `${dir}/kubeconfig`;
    await server.writeKubeconfig(kubeconfig);
    using client = await connect({ kubeconfig });
    const crd = parse(
      await Deno.readTextFile(new URL("deploy/crd.yaml", ROOT)),
    ) as CustomResourceDefinition;
    await client.resource<CustomResourceDefinition>(customResourceDefinitions).create(crd);
    await body({ server, client, kubeconfig });
  });
}

/** Runs `Deno.execPath()` with `args` during `body`, then stops it with SIGTERM. */
async function whileRunning(
  command: { args: string[]; env?: Record<string, string> },
  body: () => Promise<void>,
): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    ...command,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    await body();
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
  assert.equal(await stderr, "", "the process logged errors");
}

function tenant(name: string, userId: string): Tenant {
  return {
    apiVersion: "kleff.kleff.io/v1",
    kind: "Tenant",
    metadata: { name },
    spec: { userId, username: `${name}-user`, plan: "basic" },
  };
}

function condition(object: Tenant, type: string): string | undefined {
  return object.status?.conditions?.find((c) => c.type === type)?.status;
}

/** Waits for TenantReady=True and checks what every operator must have written. */
async function assertReady(client: KubeClient, name: string, userId: string): Promise<void> {
  const tenants = client.resource<Tenant>(TENANT_RESOURCE);
  const ready = await eventually(`tenant ${name} Ready`, async () => {
    const current = await tenants.get(name);
    return condition(current, "TenantReady") === "True" && current;
  }, 30_000);
  assert.ok(ready.metadata?.finalizers?.includes(TENANT_FINALIZER));
  assert.equal(ready.status?.namespace, userId);
  assert.equal(condition(ready, "NamespaceReady"), "True");
  const namespace = await client.resource<Namespace>(namespaces).get(userId);
  assert.equal(namespace.metadata?.annotations?.[TENANT_UID_ANNOTATION], ready.metadata?.uid);
  assert.deepEqual(
    {
      istio: namespace.metadata?.labels?.["istio-injection"],
      username: namespace.metadata?.labels?.[TENANT_USERNAME_LABEL],
      plan: namespace.metadata?.labels?.[TENANT_PLAN_LABEL],
      tenant: namespace.metadata?.labels?.[TENANT_LABEL],
      managedBy: namespace.metadata?.labels?.[MANAGED_BY_LABEL],
    },
    {
      istio: "enabled",
      username: `${name}-user`,
      plan: "basic",
      tenant: name,
      managedBy: MANAGED_BY_VALUE,
    },
  );
}

Deno.test("peer: a tenant becomes Ready, a foreign namespace is left alone, teardown through the finalizer", async () => {
  await withCluster(async ({ server, client, kubeconfig }) => {
    const tenants = client.resource<Tenant>(TENANT_RESOURCE);
    const namespaceClient = client.resource<Namespace>(namespaces);
    await namespaceClient.create({ metadata: { name: "taken", labels: { owner: "someone" } } });
    await whileRunning(
      peerCommand(["--kubeconfig", kubeconfig, "--concurrency", "2"]),
      async () => {
        await tenants.create(tenant("alpha", "alpha-ns"));
        await assertReady(client, "alpha", "alpha-ns");

        await tenants.create(tenant("beta", "taken"));
        await eventually("beta NamespaceConflict", async () => {
          const beta = await tenants.get("beta");
          return beta.status?.conditions?.find((c) => c.type === "NamespaceReady")?.reason ===
            "NamespaceConflict";
        }, 30_000);
        assert.equal(condition(await tenants.get("beta"), "TenantReady"), "False");

        // Drift: a managed label edited by hand is restored from the namespace informer's event.
        await namespaceClient.patch("alpha-ns", { metadata: { labels: { [TENANT_LABEL]: "x" } } });
        await eventually("label restored", async () => {
          const namespace = await namespaceClient.get("alpha-ns");
          return namespace.metadata?.labels?.[TENANT_LABEL] === "alpha";
        }, 30_000);

        await tenants.delete("alpha");
        await tenants.delete("beta");
        for (const name of ["alpha", "beta", "alpha-ns"]) {
          await eventually(`${name} gone`, async () => {
            try {
              await (name === "alpha-ns" ? namespaceClient.get(name) : tenants.get(name));
              return false;
            } catch (error) {
              return isNotFound(error);
            }
          }, 30_000);
        }
        const taken = await namespaceClient.get("taken");
        assert.equal(taken.metadata?.deletionTimestamp, undefined);
        assert.deepEqual(taken.metadata?.labels?.owner, "someone");
      },
    );
    assert.equal(server.counters.count({ verb: "create", resource: "events" }), 0);
  });
});

Deno.test("write-only floor: pending and new tenants get three writes each, ready ones none", async () => {
  await withCluster(async ({ server, client, kubeconfig }) => {
    const tenants = client.resource<Tenant>(TENANT_RESOURCE);
    await tenants.create(tenant("pending", "pending-ns"));
    const floor = ["run", "--allow-net", "--allow-read", "--allow-env", FLOOR];
    await whileRunning(
      { args: [...floor, "--kubeconfig", kubeconfig, "--concurrency", "2"] },
      async () => {
        await assertReady(client, "pending", "pending-ns");
        await tenants.create(tenant("fresh", "fresh-ns"));
        await assertReady(client, "fresh", "fresh-ns");
      },
    );
    // A restart over two ready tenants: the one after them (same watch, in order) gets the only writes.
    server.counters.reset();
    await whileRunning({ args: [...floor, "--kubeconfig", kubeconfig] }, async () => {
      await tenants.create(tenant("third", "third-ns"));
      await assertReady(client, "third", "third-ns");
    });
    const writes = server.counters.snapshot()
      .filter((row) => !["get", "list", "watch"].includes(row.verb))
      .map((row) => `${row.verb} ${row.resource} ${row.count}`).sort();
    assert.deepEqual(writes, [
      "create namespaces 1",
      "create tenants 1",
      "patch tenants 1",
      "patch tenants/status 1",
    ]);
  });
});
