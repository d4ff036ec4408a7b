// The control plane a KUBEBUILDER_ASSETS folder holds (envtest's convention): etcd, kube-apiserver
// and, when present, kube-controller-manager, and which Kubernetes version they are. Read
// synchronously, so that test declarations can depend on it.

/** The binaries of a KUBEBUILDER_ASSETS folder and the version they are. */
export interface KubeAssets {
  /** The folder. */
  dir: string;
  /** Path of `etcd`. */
  etcd: string;
  /** Path of `kube-apiserver`. */
  apiserver: string;
  /** Path of `kube-controller-manager`, when the folder has one (envtest's assets do not). */
  controllerManager?: string;
  /** The kube-apiserver's version as it prints it, e.g. `v1.20.2`. */
  version: string;
  /** Major version number. */
  major: number;
  /** Minor version number. */
  minor: number;
}

/** Thrown when KUBEBUILDER_ASSETS is set but does not hold a usable control plane. */
export class KubeAssetsError extends Error {
  /** Builds the error naming the folder and what is wrong with it. */
  constructor(dir: string, problem: string) {
    super(`KUBEBUILDER_ASSETS=${dir}: ${problem}`);
    this.name = "KubeAssetsError";
  }
}

function executable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * The control plane of `dir` (default `$KUBEBUILDER_ASSETS`): undefined when no folder is named,
 * else its binaries and version, read synchronously so that test declarations can depend on
 * them. Throws {@linkcode KubeAssetsError} for a folder without etcd or kube-apiserver.
 */
export function findKubeAssets(
  dir: string | undefined = Deno.env.get("KUBEBUILDER_ASSETS"),
): KubeAssets | undefined {
  if (!dir) return undefined;
  const absolute = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
  const apiserver = `${absolute}/kube-apiserver`;
  const etcd = `${absolute}/etcd`;
  for (const path of [apiserver, etcd]) {
    if (!executable(path)) throw new KubeAssetsError(dir, `no executable ${path}`);
  }
  const output = new Deno.Command(apiserver, { args: ["--version"], stdin: "null" }).outputSync();
  const printed = new TextDecoder().decode(output.stdout).trim();
  const match = /v(\d+)\.(\d+)\.\S*/.exec(printed);
  if (!output.success || !match) {
    throw new KubeAssetsError(dir, `kube-apiserver --version printed "${printed}"`);
  }
  const controllerManager = `${absolute}/kube-controller-manager`;
  return {
    dir: absolute,
    etcd,
    apiserver,
    controllerManager: executable(controllerManager) ? controllerManager : undefined,
    version: match[0],
    major: Number(match[1]),
    minor: Number(match[2]),
  };
}
