// The in-cluster connection: the pod's service account token, CA and namespace, and the API
// server address from KUBERNETES_SERVICE_HOST/PORT, checked as client-go checks them.
import type { ConnectionConfig } from "./connection.ts";
import { KubeconfigError } from "./errors.ts";
import { checkReadable, errorName } from "./guards.ts";

/** The default in-cluster service account folder. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Where {@linkcode loadInClusterConfig} looks; both default to the real process. */
export interface InClusterOptions {
  /** Environment lookup (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
  /** Service account folder (default {@linkcode SERVICE_ACCOUNT_DIR}). */
  serviceAccountDir?: string;
}

/** Loads the in-cluster configuration from the service account folder and `KUBERNETES_SERVICE_HOST`/`_PORT`. */
export async function loadInClusterConfig(
  options: InClusterOptions = {},
): Promise<ConnectionConfig> {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env("KUBERNETES_SERVICE_HOST");
  const port = env("KUBERNETES_SERVICE_PORT");
  if (!host || !port) {
    throw new KubeconfigError(
      "in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT",
      { field: host ? "KUBERNETES_SERVICE_PORT" : "KUBERNETES_SERVICE_HOST" },
    );
  }
  if (!/^\d+$/.test(port)) {
    throw new KubeconfigError(`KUBERNETES_SERVICE_PORT is not a port (${JSON.stringify(port)})`, {
      field: "KUBERNETES_SERVICE_PORT",
    });
  }
  const bracketed = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  let server: string;
  try {
    server = new URL(`https://${bracketed}:${port}`).href.replace(/\/$/, "");
  } catch {
    throw new KubeconfigError(`KUBERNETES_SERVICE_HOST is not a host (${JSON.stringify(host)})`, {
      field: "KUBERNETES_SERVICE_HOST",
    });
  }
  const tokenPath = `${dir}/token`;
  await checkReadable(tokenPath, { file: tokenPath, field: "service account token" });
  let caPem: string | undefined;
  try {
    caPem = await Deno.readTextFile(`${dir}/ca.crt`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new KubeconfigError(`cannot read the file (${errorName(error)})`, {
        file: `${dir}/ca.crt`,
      });
    }
  }
  if (caPem !== undefined && !caPem.includes("-----BEGIN CERTIFICATE")) {
    throw new KubeconfigError("not a PEM certificate", { file: `${dir}/ca.crt` });
  }
  let namespace = "default";
  try {
    namespace = (await Deno.readTextFile(`${dir}/namespace`)).trim() || "default";
  } catch {
    // no namespace file: "default", as client-go does
  }
  return {
    server,
    namespace,
    caPem,
    insecureSkipTlsVerify: false,
    auth: { kind: "tokenFile", path: tokenPath },
    source: { kind: "in-cluster", dir },
  };
}
