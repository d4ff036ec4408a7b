// `deno task test:real`: starts one real control plane from KUBEBUILDER_ASSETS, prepares it
// (deploy/'s CRD and RBAC, the baseline every test returns to), runs `deno test` with the given
// arguments against it, stops it, and prints how long each part took.
import { findKubeAssets } from "../support/kube_assets.ts";
import { startRealKube } from "../support/real_kube.ts";
import { EMPTY_STRINGS_NOTE, REAL_CLUSTER_VARIABLE, RealCluster } from "../support/real_cluster.ts";
import { TEST_APISERVER_VARIABLE } from "../support/test_apiserver.ts";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(args: string[]): Promise<number> {
  const assets = findKubeAssets();
  if (!assets) {
    console.error(
      "test:real needs KUBEBUILDER_ASSETS: a folder with etcd and kube-apiserver (and optionally " +
        "kube-controller-manager), e.g. `setup-envtest use -p path 1.30`",
    );
    return 2;
  }
  const started = performance.now();
  const kube = await startRealKube(assets);
  const dir = await Deno.makeTempDir({ prefix: "kleff-real-lane-" });
  try {
    const state = await RealCluster.prepare(kube);
    const ready = performance.now();
    console.log(
      `real control plane: kube-apiserver ${assets.version}${
        kube.handle.controllerManager ? " with kube-controller-manager" : " (no controller manager)"
      } from ${assets.dir}, ready in ${seconds(ready - started)}`,
    );
    if (state.emptyStringsRefused) console.log(EMPTY_STRINGS_NOTE(assets.version));
    const statePath = `${dir}/cluster.json`;
    await Deno.writeTextFile(statePath, JSON.stringify(state), { mode: 0o600 });
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", ...args],
      env: { [TEST_APISERVER_VARIABLE]: "real", [REAL_CLUSTER_VARIABLE]: statePath },
    }).spawn();
    const forward = () => child.kill("SIGTERM");
    Deno.addSignalListener("SIGINT", forward);
    Deno.addSignalListener("SIGTERM", forward);
    const status = await child.status;
    Deno.removeSignalListener("SIGINT", forward);
    Deno.removeSignalListener("SIGTERM", forward);
    const tested = performance.now();
    console.log(
      `real lane: control plane ${seconds(ready - started)}, tests ${seconds(tested - ready)}, ` +
        `total ${seconds(tested - started)}`,
    );
    return status.code;
  } finally {
    await kube.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
