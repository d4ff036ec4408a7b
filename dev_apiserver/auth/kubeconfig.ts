// The kubeconfig a dev API server hands out: one cluster, user and context named "dev".

/** A kubectl-compatible kubeconfig object. */
export interface Kubeconfig {
  apiVersion: "v1";
  kind: "Config";
  clusters: {
    name: string;
    cluster: {
      server: string;
      "certificate-authority-data"?: string;
      "insecure-skip-tls-verify"?: boolean;
    };
  }[];
  users: {
    name: string;
    user: { token?: string; "client-certificate-data"?: string; "client-key-data"?: string };
  }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  "current-context": string;
  preferences: Record<string, never>;
}

/** What goes into the kubeconfig. */
export interface KubeconfigOptions {
  url: string;
  caPem?: string;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

const encoder = new TextEncoder();

function base64(text: string): string {
  return encoder.encode(text).toBase64();
}

/** Builds the kubeconfig object for a server. */
export function buildKubeconfig(options: KubeconfigOptions): Kubeconfig {
  const cluster: Kubeconfig["clusters"][0]["cluster"] = { server: options.url };
  if (options.caPem) cluster["certificate-authority-data"] = base64(options.caPem);
  // @kubernetes/client-node refuses http:// servers unless TLS verification is marked as skipped.
  if (options.url.startsWith("http://")) cluster["insecure-skip-tls-verify"] = true;
  const user: Kubeconfig["users"][0]["user"] = {};
  if (options.token) user.token = options.token;
  if (options.clientCertPem && options.clientKeyPem) {
    user["client-certificate-data"] = base64(options.clientCertPem);
    user["client-key-data"] = base64(options.clientKeyPem);
  }
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "dev", cluster }],
    users: [{ name: "dev", user }],
    contexts: [{ name: "dev", context: { cluster: "dev", user: "dev", namespace: "default" } }],
    "current-context": "dev",
    preferences: {},
  };
}

/** Writes a kubeconfig as JSON (kubectl reads JSON and YAML alike), readable only by its owner. */
export async function writeKubeconfigFile(path: string, kubeconfig: Kubeconfig): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(kubeconfig, null, 2) + "\n", { mode: 0o600 });
}
