// Which API server the end-to-end tests run against: the dev API server (the default), or with
// KLEFF_TEST_APISERVER=real (`deno task test:real`) a real cluster from the folder
// KUBEBUILDER_ASSETS names, shared by the run. Tests that need what only one of them has say so
// in their options.
import { assessKubernetesVersion } from "../../lib/operator/kubernetes_version.ts";
import { findKubeAssets, type KubeAssets } from "./kube_assets.ts";
import { attachRealCluster, type RealCluster } from "./real_cluster.ts";

/** The environment variable choosing the API server of the end-to-end tests. */
export const TEST_APISERVER_VARIABLE = "KLEFF_TEST_APISERVER";

/** The API server the end-to-end tests run against. */
export type TestApiServer = "dev" | "real";

/** Thrown when the real lane is asked for without a usable control plane. */
export class TestApiServerError extends Error {
  /** Builds the error with what to set. */
  constructor(message: string) {
    super(message);
    this.name = "TestApiServerError";
  }
}

function chosen(): TestApiServer {
  const value = Deno.env.get(TEST_APISERVER_VARIABLE) ?? "dev";
  if (value !== "dev" && value !== "real") {
    throw new TestApiServerError(`${TEST_APISERVER_VARIABLE}=${value}: must be "dev" or "real"`);
  }
  return value;
}

/** The API server of this test run. */
export const TEST_APISERVER: TestApiServer = chosen();

/** The real control plane's binaries (the real lane only). */
export const KUBE_ASSETS: KubeAssets | undefined = TEST_APISERVER === "real"
  ? findKubeAssets() ??
    (() => {
      throw new TestApiServerError(
        `${TEST_APISERVER_VARIABLE}=real needs KUBEBUILDER_ASSETS: a folder with etcd and ` +
          "kube-apiserver (and optionally kube-controller-manager), e.g. from setup-envtest",
      );
    })()
  : undefined;

/**
 * The real lane's shared cluster, attached to when this module loads (so that per-test resource
 * checks never see its connections); undefined against the dev API server.
 */
export const realCluster: RealCluster | undefined = KUBE_ASSETS
  ? await attachRealCluster(KUBE_ASSETS)
  : undefined;

const noted = new Set<string>();
/** `{ ignore }` for a test declaration, printing why once per reason. */
function skipWhen(skip: boolean, why: string): { ignore: boolean } {
  if (skip && !noted.has(why)) {
    noted.add(why);
    console.log(`note: skipping tests that ${why}`);
  }
  return { ignore: skip };
}

/** Options of a test that needs the dev API server (faults, latency, its own knobs). */
export function devOnly(what: string): { ignore: boolean } {
  return skipWhen(TEST_APISERVER === "real", `need the dev API server's ${what}`);
}

/** Options of a test that only runs against a real API server (`deno task test:real`). */
export function realOnly(): { ignore: boolean } {
  return skipWhen(
    TEST_APISERVER !== "real",
    `need a real API server (run deno task test:real with KUBEBUILDER_ASSETS)`,
  );
}

/**
 * Options of a test that waits for namespaces to finish deleting: a real control plane needs
 * kube-controller-manager's namespace controller for that, which envtest's assets lack.
 */
export function needsNamespaceDeletion(): { ignore: boolean } {
  return skipWhen(
    TEST_APISERVER === "real" && !KUBE_ASSETS?.controllerManager,
    `wait for namespaces to finish deleting (no kube-controller-manager in ${KUBE_ASSETS?.dir})`,
  );
}

/** Whether this run's API server has what Kubernetes 1.`minor` brings (the dev API server does). */
export function kubernetesHas(minor: number): boolean {
  return TEST_APISERVER !== "real" || KUBE_ASSETS === undefined || KUBE_ASSETS.major > 1 ||
    KUBE_ASSETS.minor >= minor;
}

/** Options of a test that needs a Kubernetes feature from release 1.`minor` on. */
export function needsKubernetes(minor: number, feature: string): { ignore: boolean } {
  return skipWhen(
    TEST_APISERVER === "real" && KUBE_ASSETS !== undefined && KUBE_ASSETS.minor < minor &&
      KUBE_ASSETS.major === 1,
    `need ${feature} (Kubernetes 1.${minor}; the real server is ${KUBE_ASSETS?.version})`,
  );
}

/**
 * Flags an operator process needs against this run's API server: `--allow-unsupported-kubernetes`
 * on a real server older than the supported minimum (such as v1.20).
 */
export function operatorFlagsForTestApiServer(): string[] {
  if (!KUBE_ASSETS) return [];
  const version = {
    major: KUBE_ASSETS.major,
    minor: KUBE_ASSETS.minor,
    gitVersion: KUBE_ASSETS.version,
  };
  return assessKubernetesVersion(version).supported ? [] : ["--allow-unsupported-kubernetes"];
}
