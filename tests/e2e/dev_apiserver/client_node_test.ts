// The official JavaScript client works against the dev API server unchanged.
import assert from "node:assert/strict";
import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from "@kubernetes/client-node";
import { createWidgetCrd, widget, withServer } from "./support.ts";

Deno.test("client-node: list namespaces, create and get a custom object, watch a change", async () => {
  await withServer(async (server) => {
    const kc = new KubeConfig();
    kc.loadFromString(JSON.stringify(server.kubeconfig));
    const core = kc.makeApiClient(CoreV1Api);
    const namespaces = await core.listNamespace();
    const names = namespaces.items.map((n) => n.metadata?.name);
    assert.ok(names.includes("default") && names.includes("kube-system"));

    await createWidgetCrd(server);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const target = {
      group: "example.kleff.io",
      version: "v1",
      namespace: "default",
      plural: "widgets",
    };
    await custom.createNamespacedCustomObject({ ...target, body: widget("w1", { size: 2 }) });
    const got = await custom.getNamespacedCustomObject({ ...target, name: "w1" }) as {
      spec: { size: number };
      metadata: { resourceVersion: string };
    };
    assert.equal(got.spec.size, 2);
    await assert.rejects(
      () => custom.getNamespacedCustomObject({ ...target, name: "missing" }),
      (error: { code?: number }) => error.code === 404,
    );

    const seen = Promise.withResolvers<{ type: string; size: number }>();
    const watch = new Watch(kc);
    const controller = await watch.watch(
      "/apis/example.kleff.io/v1/namespaces/default/widgets",
      { resourceVersion: got.metadata.resourceVersion },
      (type: string, object: { spec: { size: number } }) =>
        seen.resolve({ type, size: object.spec.size }),
      () => {},
    );
    // client-node sends application/json-patch+json by default, like kube expects a JSON patch here
    await custom.patchNamespacedCustomObject({
      ...target,
      name: "w1",
      body: [{ op: "replace", path: "/spec/size", value: 4 }],
    });
    const event = await seen.promise;
    controller.abort();
    assert.deepEqual(event, { type: "MODIFIED", size: 4 });
  });
});
