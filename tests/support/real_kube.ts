// A real Kubernetes control plane for tests: etcd, kube-apiserver and, when the folder holds it,
// kube-controller-manager, run from the folder KUBEBUILDER_ASSETS names (envtest's convention,
// so `setup-envtest` assets of any Kubernetes version work), on 127.0.0.1 only, on free ports,
// in a temporary folder, with certificates from the project's own PKI.
import { createCertificateAuthority } from "./pki.ts";
import type { KubeAssets } from "./kube_assets.ts";
import type { Kubeconfig } from "../../dev_apiserver/mod.ts";

/** Thrown when a control-plane process does not start; the message ends with its log's tail. */
export class RealKubeStartError extends Error {
  /** Builds the error from what failed and the log it left. */
  constructor(what: string, logTail: string) {
    super(`${what}; last lines of its log:\n${logTail}`);
    this.name = "RealKubeStartError";
  }
}

/**
 * Stops what a test process left running when it dies without stopping it (killed, crashed):
 * once the owner has exited, each recorded program still running from the work folder (checked,
 * so that a reused process id is never touched) gets SIGTERM, then SIGKILL, and the folder goes.
 * Arguments: owner pid, work folder.
 */
const JANITOR = `owner=$1; dir=$2
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
ours() { grep -qF "$dir" "/proc/$1/cmdline" 2>/dev/null; }
for pidfile in "$dir"/pids/*; do
  pid=$(cat "$pidfile" 2>/dev/null) || continue
  ours "$pid" && kill -TERM "$pid" 2>/dev/null
done
sleep 5
for pidfile in "$dir"/pids/*; do
  pid=$(cat "$pidfile" 2>/dev/null) || continue
  ours "$pid" && kill -KILL "$pid" 2>/dev/null
done
rm -rf "$dir"`;

/** How long a program may take to stop after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** One control-plane program, its output appended to a log file, its pid recorded. */
class Component {
  readonly name: string;
  readonly log: string;
  readonly #child: Deno.ChildProcess;
  exited = false;

  constructor(name: string, workdir: string, program: string, args: string[]) {
    this.name = name;
    this.log = `${workdir}/logs/${name}.log`;
    // exec: the child is the program itself, its output redirected by the shell.
    this.#child = new Deno.Command("sh", {
      args: ["-c", 'log=$1; shift; exec "$@" >>"$log" 2>&1', "sh", this.log, program, ...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    Deno.writeTextFileSync(`${workdir}/pids/${name}`, String(this.#child.pid));
    this.#child.status.then(() => this.exited = true);
  }

  async logTail(lines = 25): Promise<string> {
    try {
      return (await Deno.readTextFile(this.log)).trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  #signal(signal: Deno.Signal): void {
    if (this.exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
  }

  /** Stops the program: SIGTERM, then SIGKILL when it is still running after the grace period. */
  async stop(): Promise<void> {
    this.#signal("SIGTERM");
    const timer = setTimeout(() => this.#signal("SIGKILL"), STOP_GRACE_MS);
    await this.#child.status;
    clearTimeout(timer);
  }

  /** Kills the program without waiting (the test process is exiting; nothing is kept). */
  stopNow(): void {
    this.#signal("SIGKILL");
  }
}

/** A free TCP port on 127.0.0.1 (free when asked; the programs bind it moments later). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const PEM_LINE = /.{1,64}/g;
function pem(label: string, der: ArrayBuffer): string {
  const base64 = new Uint8Array(der).toBase64();
  return `-----BEGIN ${label}-----\n${
    base64.match(PEM_LINE)!.join("\n")
  }\n-----END ${label}-----\n`;
}

/** The service-account signing key pair (ECDSA P-256, ES256 tokens) as PKCS#8 and SPKI PEM. */
async function serviceAccountKeys(): Promise<{ privatePem: string; publicPem: string }> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  return {
    privatePem: pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
    publicPem: pem("PUBLIC KEY", await crypto.subtle.exportKey("spki", keys.publicKey)),
  };
}

/** Whether `program --help` mentions `flag` (flags come and go between Kubernetes versions). */
async function hasFlag(program: string, flag: string): Promise<boolean> {
  const output = await new Deno.Command(program, { args: ["--help"], stdin: "null" }).output();
  const help = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  return new RegExp(`\\s${flag}[\\s=]`).test(help);
}

/** The issuer and audience of service-account tokens, as a cluster names them. */
const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

/**
 * The audit policy: every request of a client (not of the control plane's own components) at
 * Metadata level, once (a watch when it starts, anything else when it completes), so that the
 * log answers "what did the clients ask", as the dev API server's counters do.
 */
const AUDIT_POLICY = JSON.stringify({
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  rules: [
    {
      level: "None",
      users: ["system:apiserver", "system:kube-controller-manager", "system:kube-scheduler"],
    },
    { level: "None", userGroups: ["system:serviceaccounts:kube-system", "system:nodes"] },
    { level: "Metadata", verbs: ["watch"], omitStages: ["RequestReceived", "ResponseComplete"] },
    { level: "Metadata", omitStages: ["RequestReceived", "ResponseStarted"] },
  ],
});

/** Options of {@linkcode RealKube.serviceAccountToken}. */
export interface TokenOptions {
  /** Token lifetime (default 3600 s; the server's minimum is 600 s). */
  expirationSeconds?: number;
  /** Bind the token to this Secret (same namespace): deleting the Secret revokes the token. */
  boundSecret?: { name: string; uid: string };
}

/** What a test process needs to use a running control plane (JSON: handed to child processes). */
export interface RealKubeHandle {
  /** `https://127.0.0.1:PORT` of kube-apiserver. */
  url: string;
  /** The binaries it runs. */
  assets: KubeAssets;
  /** The CA that signed the serving certificate (PEM). */
  caPem: string;
  /** A kubeconfig of a cluster admin (client certificate, group `system:masters`). */
  adminKubeconfig: Kubeconfig;
  /** The JSON audit log of every client request. */
  auditLogPath: string;
  /** etcd's client URL (for compaction). */
  etcdUrl: string;
  /** Whether kube-controller-manager runs (namespaces finish deleting, tokens are created). */
  controllerManager: boolean;
}

/** A control plane: started here ({@linkcode startRealKube}) or attached to from a handle. */
export class RealKube {
  /** Everything needed to attach to it from another process. */
  readonly handle: RealKubeHandle;
  readonly #workdir?: string;
  readonly #components: Component[];
  readonly #http: Deno.HttpClient;
  #closed?: Promise<void>;

  /** Attaches to a running control plane; {@linkcode close} then only closes connections. */
  constructor(handle: RealKubeHandle, started?: { workdir: string; components: Component[] }) {
    this.handle = handle;
    this.#workdir = started?.workdir;
    this.#components = started?.components ?? [];
    const user = handle.adminKubeconfig.users[0].user;
    this.#http = Deno.createHttpClient({
      caCerts: [handle.caPem],
      cert: decodeBase64(user["client-certificate-data"]),
      key: decodeBase64(user["client-key-data"]),
    });
  }

  /** `https://127.0.0.1:PORT` of kube-apiserver. */
  get url(): string {
    return this.handle.url;
  }

  /** The version kube-apiserver reports, e.g. `v1.20.2`. */
  get version(): string {
    return this.handle.assets.version;
  }

  /** A kubeconfig for this server authenticating with a bearer token. */
  tokenKubeconfig(token: string): Kubeconfig {
    const kubeconfig = structuredClone(this.handle.adminKubeconfig);
    kubeconfig.users[0].user = { token };
    return kubeconfig;
  }

  /** Sends a request as the cluster admin (client certificate) and returns the raw response. */
  adminFetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(new URL(path, this.url), { ...init, client: this.#http });
  }

  /**
   * A token of service account `namespace/name` from the TokenRequest API (what the kubelet
   * mounts into a pod).
   */
  async serviceAccountToken(
    namespace: string,
    name: string,
    options: TokenOptions = {},
  ): Promise<string> {
    const response = await this.adminFetch(
      `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: {
            audiences: [SERVICE_ACCOUNT_ISSUER],
            expirationSeconds: options.expirationSeconds ?? 3600,
            boundObjectRef: options.boundSecret &&
              { apiVersion: "v1", kind: "Secret", ...options.boundSecret },
          },
        }),
      },
    );
    const body = await response.json();
    if (!response.ok) {
      throw new Error(`TokenRequest for ${namespace}/${name}: ${response.status} ${body.message}`);
    }
    return body.status.token;
  }

  /**
   * Compacts etcd's history up to now, as kube-apiserver's periodic compaction would: continue
   * tokens and list resourceVersions from before are then expired.
   */
  async compact(): Promise<void> {
    const range = await fetch(`${this.handle.etcdUrl}/v3/kv/range`, {
      method: "POST",
      body: JSON.stringify({ key: btoa("/") }),
    });
    const revision = (await range.json()).header.revision;
    const compaction = await fetch(`${this.handle.etcdUrl}/v3/kv/compaction`, {
      method: "POST",
      body: JSON.stringify({ revision, physical: true }),
    });
    await compaction.body?.cancel();
    if (!compaction.ok) throw new Error(`etcd compaction to ${revision}: ${compaction.status}`);
  }

  /**
   * Closes connections; when started here, also stops kube-controller-manager, kube-apiserver
   * and etcd and removes the work folder.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#http.close();
      for (const component of [...this.#components].reverse()) await component.stop();
      if (this.#workdir) await Deno.remove(this.#workdir, { recursive: true }).catch(() => {});
    })();
    return this.#closed;
  }

  /** Signals every program started here to stop, without waiting (the process is exiting). */
  stopNow(): void {
    for (const component of this.#components) component.stopNow();
  }
}

function decodeBase64(base64?: string): string {
  return new TextDecoder().decode(Uint8Array.fromBase64(base64 ?? ""));
}

async function waitFor(
  component: Component,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (component.exited) {
      throw new RealKubeStartError(
        `${component.name} exited before ${what}`,
        await component.logTail(),
      );
    }
    if (Date.now() > deadline) {
      throw new RealKubeStartError(
        `${component.name}: not ${what} after ${timeoutMs / 1000} s`,
        await component.logTail(),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const base64 = (text: string) => new TextEncoder().encode(text).toBase64();

function kubeconfigOf(
  url: string,
  caPem: string,
  user: Kubeconfig["users"][0]["user"],
): Kubeconfig {
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: "real",
      cluster: { server: url, "certificate-authority-data": base64(caPem) },
    }],
    users: [{ name: "real", user }],
    contexts: [{ name: "real", context: { cluster: "real", user: "real", namespace: "default" } }],
    "current-context": "real",
    preferences: {},
  };
}

/**
 * Starts etcd, kube-apiserver (RBAC, client certificates, service-account tokens, an audit log)
 * and, when the assets have it, kube-controller-manager (the service-account, token, namespace
 * and garbage-collector controllers); resolves once kube-apiserver is ready.
 */
export async function startRealKube(assets: KubeAssets): Promise<RealKube> {
  const workdir = await Deno.makeTempDir({ prefix: "kleff-realkube-" });
  for (const sub of ["pki", "logs", "pids", "etcd"]) await Deno.mkdir(`${workdir}/${sub}`);
  // Not awaited, and not keeping the test process alive: it outlives the process on purpose.
  new Deno.Command("sh", {
    args: ["-c", JANITOR, "sh", String(Deno.pid), workdir],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn().unref();
  const write = (name: string, text: string) =>
    Deno.writeTextFile(`${workdir}/pki/${name}`, text, { mode: 0o600 });

  const ca = await createCertificateAuthority({ commonName: "kleff-real-kube-ca" });
  const serving = await ca.issue({
    commonName: "kube-apiserver",
    usage: "server",
    dnsNames: [
      "localhost",
      "kubernetes",
      "kubernetes.default",
      "kubernetes.default.svc",
      "kubernetes.default.svc.cluster.local",
    ],
    ipAddresses: ["127.0.0.1", "10.0.0.1"],
  });
  const admin = await ca.issue({
    commonName: "kleff-admin",
    organizations: ["system:masters"],
    usage: "client",
  });
  const kcm = await ca.issue({ commonName: "system:kube-controller-manager", usage: "client" });
  const saKeys = await serviceAccountKeys();
  await write("ca.crt", ca.certPem);
  await write("apiserver.crt", serving.certPem);
  await write("apiserver.key", serving.keyPem);
  await write("sa.key", saKeys.privatePem);
  await write("sa.pub", saKeys.publicPem);
  await Deno.writeTextFile(`${workdir}/audit-policy.json`, AUDIT_POLICY);

  const components: Component[] = [];
  const http = Deno.createHttpClient({
    caCerts: [ca.certPem],
    cert: admin.certPem,
    key: admin.keyPem,
  });
  try {
    const etcdPort = freePort();
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${freePort()}`;
    const etcd = new Component("etcd", workdir, assets.etcd, [
      "--name=kleff",
      `--data-dir=${workdir}/etcd`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=kleff=${peerUrl}`,
      "--initial-cluster-state=new",
      "--logger=zap",
      "--log-outputs=stderr",
    ]);
    components.push(etcd);
    await waitFor(etcd, "healthy", async () => {
      const response = await fetch(`${etcdUrl}/health`);
      return (await response.json()).health === "true";
    }, 20_000);

    const port = freePort();
    const url = `https://127.0.0.1:${port}`;
    const pki = `${workdir}/pki`;
    const auditLogPath = `${workdir}/logs/audit.log`;
    const extra: string[] = [];
    // Until 1.24 an insecure port exists; 0 keeps it closed.
    if (await hasFlag(assets.apiserver, "--insecure-port")) extra.push("--insecure-port=0");
    const apiserver = new Component("kube-apiserver", workdir, assets.apiserver, [
      "--advertise-address=127.0.0.1",
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      ...extra,
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${pki}`,
      `--tls-cert-file=${pki}/apiserver.crt`,
      `--tls-private-key-file=${pki}/apiserver.key`,
      `--client-ca-file=${pki}/ca.crt`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${pki}/sa.pub`,
      `--service-account-signing-key-file=${pki}/sa.key`,
      `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      // The "kubernetes" Service's Endpoints would be 127.0.0.1, which validation refuses.
      "--endpoint-reconciler-type=none",
      `--audit-policy-file=${workdir}/audit-policy.json`,
      `--audit-log-path=${auditLogPath}`,
      "--audit-log-format=json",
      "--audit-log-mode=blocking",
      "--v=1",
    ]);
    components.push(apiserver);
    await waitFor(apiserver, "ready", async () => {
      const response = await fetch(`${url}/readyz`, { client: http });
      return (await response.text()) === "ok";
    }, 90_000);

    if (assets.controllerManager) {
      const kubeconfigPath = `${workdir}/kcm.kubeconfig`;
      await Deno.writeTextFile(
        kubeconfigPath,
        JSON.stringify(kubeconfigOf(url, ca.certPem, {
          "client-certificate-data": base64(kcm.certPem),
          "client-key-data": base64(kcm.keyPem),
        })),
        { mode: 0o600 },
      );
      const kcmExtra: string[] = [];
      if (await hasFlag(assets.controllerManager, "--port")) kcmExtra.push("--port=0");
      components.push(
        new Component("kube-controller-manager", workdir, assets.controllerManager, [
          `--kubeconfig=${kubeconfigPath}`,
          "--bind-address=127.0.0.1",
          "--secure-port=0",
          ...kcmExtra,
          "--controllers=serviceaccount-token,serviceaccount,namespace,garbagecollector",
          "--use-service-account-credentials=true",
          `--service-account-private-key-file=${pki}/sa.key`,
          `--root-ca-file=${pki}/ca.crt`,
          "--leader-elect=false",
          "--v=1",
        ]),
      );
    }
    const kube = new RealKube({
      url,
      assets,
      caPem: ca.certPem,
      adminKubeconfig: kubeconfigOf(url, ca.certPem, {
        "client-certificate-data": base64(admin.certPem),
        "client-key-data": base64(admin.keyPem),
      }),
      auditLogPath,
      etcdUrl,
      controllerManager: components.some((c) => c.name === "kube-controller-manager"),
    }, { workdir, components });
    globalThis.addEventListener("unload", () => kube.stopNow());
    return kube;
  } catch (error) {
    for (const component of components.reverse()) await component.stop();
    throw error;
  } finally {
    http.close();
  }
}
