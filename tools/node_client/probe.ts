// Drives the official JavaScript client, @kubernetes/client-node, against an API server and
// prints what it saw as JSON, so a test can prove the dev API server serves that client
// unchanged. It runs as its own process under this folder's deno.json and deno.lock: the
// client and its ~70 packages stay out of the operator's lockfile and image.
//
//   deno run --config tools/node_client/deno.json --allow-net --allow-read --allow-env \
//     tools/node_client/probe.ts KUBECONFIG < scenario.json
//
// stdin holds a Scenario; stdout gets one ProbeReport (probe_protocol.ts). Any failure
// exits 1 with the error on stderr.
import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from "@kubernetes/client-node";
import type { ProbeReport, Scenario } from "./probe_protocol.ts";

export type { CustomTarget, ProbeReport, Scenario } from "./probe_protocol.ts";

/** How long to wait for the watch event before giving up. */
const WATCH_TIMEOUT_MS = 10_000;

/** Runs `scenario` through client-node with the kubeconfig at `kubeconfigPath`. */
export async function probe(kubeconfigPath: string, scenario: Scenario): Promise<ProbeReport> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const listed = await core.listNamespace();
  const namespaces = listed.items.map((namespace: { metadata?: { name?: string } }) =>
    namespace.metadata?.name ?? ""
  );

  const custom = kc.makeApiClient(CustomObjectsApi);
  const { target } = scenario;
  const created = await custom.createNamespacedCustomObject({ ...target, body: scenario.object });
  const got: Record<string, unknown> & { metadata: { resourceVersion?: string } } = await custom
    .getNamespacedCustomObject({ ...target, name: scenario.object.metadata.name });
  let missingCode: number | null = null;
  try {
    await custom.getNamespacedCustomObject({ ...target, name: scenario.missingName });
  } catch (error) {
    missingCode = (error as { code?: number }).code ?? -1;
  }

  const seen = Promise.withResolvers<ProbeReport["watched"]>();
  const path =
    `/apis/${target.group}/${target.version}/namespaces/${target.namespace}/${target.plural}`;
  const watch = new Watch(kc);
  const controller = await watch.watch(
    path,
    { resourceVersion: got.metadata.resourceVersion },
    (type: string, object: Record<string, unknown>) => seen.resolve({ type, object }),
    (error: unknown) => {
      if (error) seen.reject(error);
    },
  );
  const timer = setTimeout(
    () => seen.reject(new Error(`no watch event within ${WATCH_TIMEOUT_MS} ms`)),
    WATCH_TIMEOUT_MS,
  );
  try {
    await custom.patchNamespacedCustomObject({
      ...target,
      name: scenario.object.metadata.name,
      body: scenario.patch,
    });
    const watched = await seen.promise;
    return { namespaces, created, got, missingCode, watched };
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

if (import.meta.main) {
  const [kubeconfigPath] = Deno.args;
  if (!kubeconfigPath || Deno.args.length !== 1) {
    console.error("usage: probe.ts KUBECONFIG < scenario.json");
    Deno.exit(2);
  }
  try {
    const scenario = JSON.parse(await new Response(Deno.stdin.readable).text()) as Scenario;
    console.log(JSON.stringify(await probe(kubeconfigPath, scenario)));
  } catch (error) {
    console.error(error instanceof Error ? error.stack ?? error.message : String(error));
    Deno.exit(1);
  }
}
