// What a client needs to reach and authenticate to one API server, whatever it was read from
// (kubeconfig files or the in-cluster service account): secrets only in memory, never in messages.

/** How requests authenticate (secrets only in memory, never in messages). */
export type AuthConfig =
  | { kind: "none" }
  | { kind: "token"; token: string }
  | { kind: "tokenFile"; path: string }
  | { kind: "basic"; username: string; password: string }
  | { kind: "exec"; exec: ExecConfig };

/** An exec credential plugin as configured in a kubeconfig `users[].user.exec`. */
export interface ExecConfig {
  /** `client.authentication.k8s.io/v1` or `client.authentication.k8s.io/v1beta1`. */
  apiVersion: string;
  /** The command (resolved against the kubeconfig folder when it contains a path separator). */
  command: string;
  /** Arguments. */
  args: string[];
  /** Extra environment variables. */
  env: Record<string, string>;
  /** `Never`, `IfAvailable` or `Always`. */
  interactiveMode: "Never" | "IfAvailable" | "Always";
  /** Whether `spec.cluster` is passed in `KUBERNETES_EXEC_INFO`. */
  provideClusterInfo: boolean;
  /** Shown when the command is missing. */
  installHint?: string;
  /** Where it was configured, for error messages. */
  origin: { file?: string; context?: string; user: string };
  /** Cluster info handed to the plugin when `provideClusterInfo` is set. */
  cluster: {
    server: string;
    certificateAuthorityData?: string;
    insecureSkipTlsVerify?: boolean;
    tlsServerName?: string;
  };
}

/** Everything needed to reach and authenticate to one API server. */
export interface ConnectionConfig {
  /** Base URL without trailing slash, e.g. `https://10.0.0.1:6443`. */
  server: string;
  /** The namespace of the context (or the service account), default `default`. */
  namespace: string;
  /** PEM CA bundle to trust in addition to the system roots. */
  caPem?: string;
  /** Skip server certificate verification (kubeconfig `insecure-skip-tls-verify`). */
  insecureSkipTlsVerify: boolean;
  /** Name to verify the server certificate against instead of the URL's host. */
  tlsServerName?: string;
  /** PEM client certificate. */
  clientCertPem?: string;
  /** PEM client key. */
  clientKeyPem?: string;
  /** How requests authenticate. */
  auth: AuthConfig;
  /** Where this came from, for messages. */
  source: { kind: "kubeconfig"; files: string[]; context: string } | {
    kind: "in-cluster";
    dir: string;
  };
}

/**
 * A server address fit for messages: any user info (`user:password@`, `token@`) replaced by
 * `xxxxx@`, also in text that does not parse as a URL.
 */
export function redactUrl(text: string): string {
  return text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, "$1xxxxx@");
}
