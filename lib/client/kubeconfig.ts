// Turns kubeconfig files (merged as kubectl does), or else the in-cluster service account, into
// one checked connection description.
import { parse as parseYaml, YAMLParseError } from "yaml";
import {
  type AuthConfig,
  type ConnectionConfig,
  type ExecConfig,
  redactUrl,
} from "./connection.ts";
import { KubeconfigError } from "./errors.ts";
import { checkReadable, errorName, isRecord } from "./guards.ts";
import { loadInClusterConfig } from "./in_cluster.ts";

/** Where {@linkcode loadConnectionConfig} looks; every field defaults to the real process environment. */
export interface LoadOptions {
  /** Explicit kubeconfig path (`--kubeconfig`): only this file is read and it must exist. */
  kubeconfig?: string;
  /** Context to use instead of `current-context` (`--context`). */
  context?: string;
  /** Environment lookup (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
  /** Service account folder for in-cluster mode (default `/var/run/secrets/kubernetes.io/serviceaccount`). */
  serviceAccountDir?: string;
}

type Entry = { name: string; value: Record<string, unknown>; file: string };
interface Merged {
  files: string[];
  currentContext?: string;
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
}

/**
 * Loads the connection: `--kubeconfig`, else the `KUBECONFIG` path list, else `~/.kube/config`;
 * when none of those files exists and `KUBERNETES_SERVICE_HOST` is set, the in-cluster service account.
 */
export async function loadConnectionConfig(options: LoadOptions = {}): Promise<ConnectionConfig> {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  let paths: string[];
  let mustExist = false;
  if (options.kubeconfig) {
    paths = [options.kubeconfig];
    mustExist = true;
  } else if (env("KUBECONFIG")) {
    paths = env("KUBECONFIG")!.split(Deno.build.os === "windows" ? ";" : ":").filter((p) => p);
  } else {
    const home = env("HOME") ?? env("USERPROFILE");
    paths = home ? [`${home}/.kube/config`] : [];
  }
  const merged = await mergeKubeconfigFiles(paths, mustExist);
  if (merged.files.length === 0) {
    if (env("KUBERNETES_SERVICE_HOST")) {
      return await loadInClusterConfig({ env, serviceAccountDir: options.serviceAccountDir });
    }
    throw new KubeconfigError(
      `no kubeconfig found (looked at ${
        paths.join(", ") || "nothing: HOME unset"
      }) and not running in a cluster (KUBERNETES_SERVICE_HOST unset)`,
    );
  }
  return await selectContext(merged, options.context);
}

/** Reads and merges kubeconfig files as kubectl does: for every name the first file wins. */
async function mergeKubeconfigFiles(paths: string[], mustExist: boolean): Promise<Merged> {
  const merged: Merged = { files: [], clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const path of paths) {
    const file = absolute(path);
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound && !mustExist) continue;
      throw new KubeconfigError(`cannot read the file (${errorName(error)})`, { file });
    }
    const document = parseDocument(text, file);
    merged.files.push(file);
    const current = document["current-context"];
    if (typeof current === "string" && current && merged.currentContext === undefined) {
      merged.currentContext = current;
    }
    for (
      const [section, key] of [["clusters", "cluster"], ["users", "user"], [
        "contexts",
        "context",
      ]] as const
    ) {
      const list = document[section];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) {
        throw new KubeconfigError("must be a list", { file, field: section });
      }
      list.forEach((item, index) => {
        if (!isRecord(item) || typeof item.name !== "string" || !item.name) {
          throw new KubeconfigError("entry has no name", {
            file,
            field: `${section}[${index}].name`,
          });
        }
        const value = item[key] ?? {};
        if (!isRecord(value)) {
          throw new KubeconfigError("must be a mapping", {
            file,
            field: `${section}[${item.name}].${key}`,
          });
        }
        const map = merged[section];
        if (!map.has(item.name)) map.set(item.name, { name: item.name, value, file });
      });
    }
  }
  return merged;
}

function parseDocument(text: string, file: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: false });
  } catch (error) {
    // The parser's own message quotes the offending line, which may hold a secret: report its position only.
    if (error instanceof YAMLParseError) {
      const before = text.slice(0, error.pos[0]).split("\n");
      throw new KubeconfigError(
        `invalid YAML at line ${before.length}, column ${
          before.at(-1)!.length + 1
        } (${error.code})`,
        { file },
      );
    }
    throw new KubeconfigError("invalid YAML", { file });
  }
  if (document === null || document === undefined) return {};
  if (!isRecord(document)) throw new KubeconfigError("the document is not a mapping", { file });
  return document;
}

async function selectContext(merged: Merged, contextOverride?: string): Promise<ConnectionConfig> {
  const fileList = merged.files.join(", ");
  const contextName = contextOverride ?? merged.currentContext;
  if (!contextName) {
    throw new KubeconfigError("no context selected (current-context unset and no --context)", {
      file: fileList,
      field: "current-context",
    });
  }
  const context = merged.contexts.get(contextName);
  if (!context) {
    throw new KubeconfigError(`context "${contextName}" does not exist`, {
      file: fileList,
      field: contextOverride ? "--context" : "current-context",
    });
  }
  const where = (file: string, field: string) => ({ file, context: contextName, field });
  const clusterName = context.value.cluster;
  const userName = context.value.user;
  if (typeof clusterName !== "string" || !clusterName) {
    throw new KubeconfigError(
      "no cluster set",
      where(context.file, `contexts[${contextName}].context.cluster`),
    );
  }
  const cluster = merged.clusters.get(clusterName);
  if (!cluster) {
    throw new KubeconfigError(
      `cluster "${clusterName}" does not exist`,
      where(context.file, `contexts[${contextName}].context.cluster`),
    );
  }
  let user: Entry | undefined;
  if (typeof userName === "string" && userName) {
    user = merged.users.get(userName);
    if (!user) {
      throw new KubeconfigError(
        `user "${userName}" does not exist`,
        where(context.file, `contexts[${contextName}].context.user`),
      );
    }
  }
  const c = cluster.value;
  const cField = (name: string) => where(cluster.file, `clusters[${clusterName}].cluster.${name}`);
  const server = stringField(c, "server", cField);
  if (!server) throw new KubeconfigError("no server set", cField("server"));
  let serverUrl: URL;
  try {
    serverUrl = new URL(server);
  } catch {
    throw new KubeconfigError(`server "${redactUrl(server)}" is not a URL`, cField("server"));
  }
  if (serverUrl.protocol !== "https:" && serverUrl.protocol !== "http:") {
    throw new KubeconfigError(
      `server "${redactUrl(server)}" must be http or https`,
      cField("server"),
    );
  }
  // `https://user:password@host`: as with kubectl, basic credentials when the user has none;
  // never part of the server address that logs and errors show.
  const urlCredentials = serverUrl.username || serverUrl.password
    ? { username: percentDecoded(serverUrl.username), password: percentDecoded(serverUrl.password) }
    : undefined;
  serverUrl.username = "";
  serverUrl.password = "";
  const caPem = await pemField(c, "certificate-authority", cluster.file, cField, "CERTIFICATE");
  const insecure = c["insecure-skip-tls-verify"] === true;
  if (insecure && caPem) {
    // client-go's TLSConfigFor refuses the combination with these words; so does kubectl.
    throw new KubeconfigError(
      "specifying a root certificates file with the insecure flag is not allowed",
      cField("insecure-skip-tls-verify"),
    );
  }
  const tlsServerName = stringField(c, "tls-server-name", cField);
  const namespace = stringField(
    context.value,
    "namespace",
    (n) => where(context.file, `contexts[${contextName}].context.${n}`),
  );

  let auth: AuthConfig = { kind: "none" };
  let clientCertPem: string | undefined;
  let clientKeyPem: string | undefined;
  if (user) {
    const u = user.value;
    const uField = (name: string) => where(user!.file, `users[${userName}].user.${name}`);
    clientCertPem = await pemField(u, "client-certificate", user.file, uField, "CERTIFICATE");
    clientKeyPem = await pemField(u, "client-key", user.file, uField, "PRIVATE KEY");
    if (!!clientCertPem !== !!clientKeyPem) {
      throw new KubeconfigError(
        "client certificate and client key must be given together",
        uField(clientCertPem ? "client-key" : "client-certificate"),
      );
    }
    const token = stringField(u, "token", uField);
    const tokenFile = stringField(u, "tokenFile", uField);
    const username = stringField(u, "username", uField);
    if (u["auth-provider"] !== undefined) {
      throw new KubeconfigError(
        "auth-provider plugins are not supported (use an exec credential plugin instead)",
        uField("auth-provider"),
      );
    }
    if (tokenFile) {
      const path = resolvePath(tokenFile, user.file);
      await checkReadable(path, uField("tokenFile"));
      auth = { kind: "tokenFile", path };
    } else if (token) {
      auth = { kind: "token", token };
    } else if (username) {
      auth = { kind: "basic", username, password: stringField(u, "password", uField) ?? "" };
    } else if (u.exec !== undefined) {
      auth = {
        kind: "exec",
        exec: parseExec(u.exec, user.file, uField, {
          origin: { file: user.file, context: contextName, user: userName as string },
          cluster: {
            server: serverUrl.href.replace(/\/$/, ""),
            certificateAuthorityData: caPem ? btoa(caPem) : undefined,
            insecureSkipTlsVerify: insecure || undefined,
            tlsServerName,
          },
        }),
      };
    }
  }
  if (auth.kind === "none" && urlCredentials) auth = { kind: "basic", ...urlCredentials };
  return {
    server: serverUrl.href.replace(/\/$/, ""),
    namespace: namespace || "default",
    caPem,
    insecureSkipTlsVerify: insecure,
    tlsServerName,
    clientCertPem,
    clientKeyPem,
    auth,
    source: { kind: "kubeconfig", files: merged.files, context: contextName },
  };
}

function parseExec(
  value: unknown,
  file: string,
  uField: (name: string) => { file: string; context: string; field: string },
  extra: Pick<ExecConfig, "origin" | "cluster">,
): ExecConfig {
  if (!isRecord(value)) throw new KubeconfigError("must be a mapping", uField("exec"));
  const apiVersion = value.apiVersion;
  const versions = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];
  if (typeof apiVersion !== "string" || !versions.includes(apiVersion)) {
    throw new KubeconfigError(
      `apiVersion must be one of ${versions.join(", ")} (got ${
        JSON.stringify(apiVersion ?? null)
      })`,
      uField("exec.apiVersion"),
    );
  }
  const command = value.command;
  if (typeof command !== "string" || !command) {
    throw new KubeconfigError("no command set", uField("exec.command"));
  }
  const args = value.args ?? [];
  if (!Array.isArray(args) || args.some((a) => typeof a !== "string")) {
    throw new KubeconfigError("must be a list of strings", uField("exec.args"));
  }
  const env: Record<string, string> = {};
  const envList = value.env ?? [];
  if (!Array.isArray(envList)) throw new KubeconfigError("must be a list", uField("exec.env"));
  envList.forEach((item, index) => {
    if (!isRecord(item) || typeof item.name !== "string" || typeof item.value !== "string") {
      throw new KubeconfigError("needs a string name and value", uField(`exec.env[${index}]`));
    }
    env[item.name] = item.value;
  });
  const mode = value.interactiveMode ??
    (apiVersion.endsWith("/v1beta1") ? "IfAvailable" : undefined);
  if (mode !== "Never" && mode !== "IfAvailable" && mode !== "Always") {
    throw new KubeconfigError(
      `interactiveMode must be Never, IfAvailable or Always (got ${JSON.stringify(mode ?? null)})`,
      uField("exec.interactiveMode"),
    );
  }
  return {
    apiVersion,
    command: command.includes("/") ? resolvePath(command, file) : command,
    args: args as string[],
    env,
    interactiveMode: mode,
    provideClusterInfo: value.provideClusterInfo === true,
    installHint: typeof value.installHint === "string" ? value.installHint : undefined,
    ...extra,
  };
}

function stringField(
  record: Record<string, unknown>,
  name: string,
  where: (name: string) => { file: string; context?: string; field: string },
): string | undefined {
  const value = record[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new KubeconfigError("must be a string", where(name));
  return value;
}

/** Reads `<name>-data` (base64) or the file `<name>`, checking it holds the expected PEM block. */
async function pemField(
  record: Record<string, unknown>,
  name: string,
  file: string,
  where: (name: string) => { file: string; context?: string; field: string },
  block: string,
): Promise<string | undefined> {
  const data = stringField(record, `${name}-data`, where);
  const path = stringField(record, name, where);
  if (data && path) {
    throw new KubeconfigError(`both ${name} and ${name}-data are set`, where(`${name}-data`));
  }
  let pem: string;
  let field: ReturnType<typeof where>;
  if (data) {
    field = where(`${name}-data`);
    try {
      pem = new TextDecoder("utf-8", { fatal: true }).decode(decodeBase64(data));
    } catch {
      throw new KubeconfigError("is not valid base64", field);
    }
  } else if (path) {
    const resolved = resolvePath(path, file);
    field = { ...where(name), file: resolved };
    try {
      pem = await Deno.readTextFile(resolved);
    } catch (error) {
      throw new KubeconfigError(
        `cannot read the file (${errorName(error)}), referenced from ${file}`,
        field,
      );
    }
  } else {
    return undefined;
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${block}-----`).test(pem)) {
    throw new KubeconfigError(`does not hold a PEM ${block}`, field);
  }
  return pem;
}

/** `%`-escapes decoded, as Go's url package gives user info; malformed escapes kept as they are. */
function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function decodeBase64(data: string): Uint8Array {
  const compact = data.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new Error("invalid base64");
  }
  return Uint8Array.from(atob(compact), (ch) => ch.charCodeAt(0));
}

function resolvePath(path: string, relativeToFile: string): string {
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) return path;
  const dir = relativeToFile.slice(0, relativeToFile.lastIndexOf("/") + 1) || "./";
  return normalize(dir + path);
}

function absolute(path: string): string {
  return path.startsWith("/") ? normalize(path) : normalize(`${Deno.cwd()}/${path}`);
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") out.pop();
    else if (part !== "." && part !== "") out.push(part);
  }
  return "/" + out.join("/");
}
