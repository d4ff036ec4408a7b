// The operator's command-line flags: parsed and validated in one place so that
// `--help`, the README and the defaults cannot drift apart.
import { parseArgs } from "node:util";
import { type LogFormat, type LogLevel, parseLogFormat, parseLogLevel } from "../log.ts";
import { parseDuration } from "./duration.ts";
import { OPTION_DEFAULTS as DEFAULTS } from "./help.ts";

export { HELP } from "./help.ts";
import {
  DEFAULT_RESERVED_NAMESPACES,
  isDnsLabel,
  isDnsSubdomain,
  isReservedPattern,
} from "../api/mod.ts";
import { hostTemplateProblem } from "../plans/mod.ts";
import type { PlanSource } from "./plan_source.ts";
import { DEFAULT_GATEWAY_HOSTS, DEFAULT_INGRESS_NAMESPACE } from "../reconcile/mod.ts";
import { DEFAULT_DISCOVERY_INTERVAL_MS, DEFAULT_WATCH_INACTIVITY_MS } from "./manager.ts";
import { type BindAddress, parseBindAddress } from "./endpoints.ts";
import type { CertificateFiles } from "./metrics_server.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../client/mod.ts";

/** Everything the operator can be told on its command line. */
export interface OperatorOptions {
  /** kubeconfig path (else `KUBECONFIG`, `~/.kube/config`, or in-cluster). */
  kubeconfig?: string;
  /** kubeconfig context to use instead of the current one. */
  context?: string;
  /** Tenants reconciled at the same time. */
  concurrency: number;
  /** Period of the safety-net resync of every tenant, in ms. */
  resyncPeriodMs: number;
  /** Lowest log level written. */
  logLevel: LogLevel;
  /** Log format; undefined = JSON when stderr is not a terminal. */
  logFormat?: LogFormat;
  /** `--help` was given. */
  help: boolean;
  /** Where the plan catalogue comes from (`--plans`, `--plans-configmap`, else built in). */
  plans: PlanSource;
  /** Namespace of the Istio ingress gateway (`--ingress-namespace`). */
  ingressNamespace: string;
  /** Gateway host templates (`--gateway-hosts`, comma-separated). */
  gatewayHosts: string[];
  /** Namespaces no tenant may have, besides the always-reserved ones (`--reserved-namespaces`). */
  reservedNamespaces: string[];
  /** More platform namespaces every tenant's Sidecar imports (`--mesh-egress-namespaces`). */
  meshEgressNamespaces: string[];
  /** Period of the integration discovery, in ms (`--discovery-interval`). */
  discoveryIntervalMs: number;
  /** Leader election (`--leader-elect`); undefined when off. */
  leaderElection?: LeaderElectionFlags;
  /** Where `/healthz` and `/readyz` are served; undefined when disabled. */
  healthProbeAddress?: BindAddress;
  /** Where `/metrics` is served; undefined when disabled. */
  metricsAddress?: BindAddress;
  /** `/metrics` over HTTPS with TokenReview and SubjectAccessReview (`--metrics-secure`). */
  metricsSecure: boolean;
  /** The metrics serving certificate (`--metrics-cert-path`); undefined = self-signed. */
  metricsCertificate?: CertificateFiles;
  /** Deadline of each API request, in ms (`--request-timeout`). */
  requestTimeoutMs: number;
  /** A watch silent this long reconnects on a fresh connection, in ms (`--watch-inactivity-timeout`). */
  watchInactivityTimeoutMs: number;
  /** Run on a Kubernetes older than the supported minimum (`--allow-unsupported-kubernetes`). */
  allowUnsupportedKubernetes: boolean;
}

/** Leader election settings from the `--leader-elect-*` flags (kube-controller-manager's names). */
export interface LeaderElectionFlags {
  /** Lease duration in ms. */
  leaseDurationMs: number;
  /** Renew deadline in ms. */
  renewDeadlineMs: number;
  /** Retry period in ms. */
  retryPeriodMs: number;
  /** Lease namespace; undefined = POD_NAMESPACE, else the kubeconfig namespace. */
  namespace?: string;
  /** Lease name. */
  name: string;
}

/** Thrown for unknown flags or bad flag values; its message is user-facing. */
export class OptionsError extends Error {
  /** Builds the error with a message naming the flag. */
  constructor(message: string) {
    super(message);
    this.name = "OptionsError";
  }
}

/** Parses operator flags; throws {@linkcode OptionsError} with a clear message. */
export function parseOperatorOptions(args: string[]): OperatorOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: args.map((arg) => BOOLEAN_VALUE_FLAGS.includes(arg) ? `${arg}=true` : arg),
      strict: true,
      allowPositionals: false,
      options: {
        kubeconfig: { type: "string" },
        context: { type: "string" },
        concurrency: { type: "string" },
        "resync-period": { type: "string" },
        "log-level": { type: "string" },
        "log-format": { type: "string" },
        plans: { type: "string" },
        "plans-configmap": { type: "string" },
        "ingress-namespace": { type: "string" },
        "gateway-hosts": { type: "string" },
        "reserved-namespaces": { type: "string" },
        "mesh-egress-namespaces": { type: "string" },
        "discovery-interval": { type: "string" },
        "leader-elect": { type: "boolean" },
        "leader-elect-lease-duration": { type: "string" },
        "leader-elect-renew-deadline": { type: "string" },
        "leader-elect-retry-period": { type: "string" },
        "leader-elect-resource-namespace": { type: "string" },
        "leader-elect-resource-name": { type: "string" },
        "health-probe-bind-address": { type: "string" },
        "metrics-bind-address": { type: "string" },
        "metrics-secure": { type: "string" },
        "metrics-cert-path": { type: "string" },
        "metrics-cert-name": { type: "string" },
        "metrics-cert-key": { type: "string" },
        "request-timeout": { type: "string" },
        "watch-inactivity-timeout": { type: "string" },
        "allow-unsupported-kubernetes": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new OptionsError(error instanceof Error ? error.message : String(error));
  }
  try {
    const concurrency = values.concurrency === undefined
      ? DEFAULTS.concurrency
      : Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new OptionsError(
        `--concurrency: must be a whole number of at least 1, got "${values.concurrency}"`,
      );
    }
    const resyncPeriodMs = values["resync-period"] === undefined
      ? DEFAULTS.resyncPeriodMs
      : parseDuration(values["resync-period"], "--resync-period");
    if (resyncPeriodMs < 1000) {
      throw new OptionsError(
        `--resync-period: must be at least 1s, got "${values["resync-period"]}"`,
      );
    }
    return {
      kubeconfig: values.kubeconfig,
      context: values.context,
      concurrency,
      resyncPeriodMs,
      logLevel: values["log-level"] === undefined ? "info" : parseLogLevel(values["log-level"]),
      logFormat: values["log-format"] === undefined
        ? undefined
        : parseLogFormat(values["log-format"]),
      help: values.help ?? false,
      plans: planSource(values.plans, values["plans-configmap"]),
      ingressNamespace: ingressNamespace(values["ingress-namespace"]),
      gatewayHosts: gatewayHosts(values["gateway-hosts"]),
      reservedNamespaces: reservedNamespaces(values["reserved-namespaces"]),
      meshEgressNamespaces: meshEgressNamespaces(values["mesh-egress-namespaces"]),
      discoveryIntervalMs: discoveryInterval(values["discovery-interval"]),
      leaderElection: values["leader-elect"] ? leaderElection(values) : undefined,
      healthProbeAddress: parseBindAddress(
        values["health-probe-bind-address"] ?? DEFAULTS.healthProbeAddress,
        "--health-probe-bind-address",
      ),
      metricsAddress: parseBindAddress(
        values["metrics-bind-address"] ?? DEFAULTS.metricsAddress,
        "--metrics-bind-address",
      ),
      ...metricsServing(values),
      requestTimeoutMs: requestTimeout(values["request-timeout"]),
      watchInactivityTimeoutMs: values["watch-inactivity-timeout"] === undefined
        ? DEFAULT_WATCH_INACTIVITY_MS
        : atLeastOneSecond(values["watch-inactivity-timeout"], "--watch-inactivity-timeout"),
      allowUnsupportedKubernetes: values["allow-unsupported-kubernetes"] ?? false,
    };
  } catch (error) {
    if (error instanceof OptionsError) throw error;
    throw new OptionsError(error instanceof Error ? error.message : String(error));
  }
}

/** Flags that are booleans written Go's way: `--flag`, `--flag=true`, `--flag=false`. */
const BOOLEAN_VALUE_FLAGS = ["--metrics-secure"];

/** Go's strconv.ParseBool, which controller-runtime's boolean flags accept. */
function parseBool(value: string, flag: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw new OptionsError(`${flag}: must be true or false, got "${value}"`);
}

/** Reads the `--metrics-secure` and `--metrics-cert-*` flags (controller-runtime's names). */
function metricsServing(
  values: Record<string, string | boolean | undefined>,
): Pick<OperatorOptions, "metricsSecure" | "metricsCertificate"> {
  const secure = values["metrics-secure"] === undefined
    ? true
    : parseBool(String(values["metrics-secure"]), "--metrics-secure");
  const dir = values["metrics-cert-path"] as string | undefined;
  const certName = values["metrics-cert-name"] as string | undefined;
  const keyName = values["metrics-cert-key"] as string | undefined;
  if (dir === undefined) {
    const stray = certName !== undefined ? "--metrics-cert-name" : "--metrics-cert-key";
    if (certName !== undefined || keyName !== undefined) {
      throw new OptionsError(`${stray}: needs --metrics-cert-path`);
    }
    return { metricsSecure: secure };
  }
  if (!secure) {
    throw new OptionsError(
      "--metrics-cert-path: plain HTTP (--metrics-secure=false) uses no certificate",
    );
  }
  if (dir === "") throw new OptionsError("--metrics-cert-path: a folder is required");
  for (const [flag, name] of [["--metrics-cert-name", certName], ["--metrics-cert-key", keyName]]) {
    if (name !== undefined && (name === "" || name.includes("/"))) {
      throw new OptionsError(`${flag}: must be a file name in --metrics-cert-path, got "${name}"`);
    }
  }
  return {
    metricsSecure: secure,
    metricsCertificate: {
      dir,
      certName: certName ?? DEFAULTS.metricsCertName,
      keyName: keyName ?? DEFAULTS.metricsCertKey,
    },
  };
}

/** Reads and cross-checks the `--leader-elect-*` flags. */
function leaderElection(values: Record<string, string | boolean | undefined>): LeaderElectionFlags {
  const duration = (flag: string, fallback: number) => {
    const value = values[flag];
    return typeof value === "string" ? parseDuration(value, `--${flag}`) : fallback;
  };
  const flags: LeaderElectionFlags = {
    leaseDurationMs: duration("leader-elect-lease-duration", DEFAULTS.leaseDurationMs),
    renewDeadlineMs: duration("leader-elect-renew-deadline", DEFAULTS.renewDeadlineMs),
    retryPeriodMs: duration("leader-elect-retry-period", DEFAULTS.retryPeriodMs),
    namespace: values["leader-elect-resource-namespace"] as string | undefined,
    name: (values["leader-elect-resource-name"] as string | undefined) ?? DEFAULTS.leaseName,
  };
  if (!(flags.leaseDurationMs > flags.renewDeadlineMs)) {
    throw new OptionsError(
      "--leader-elect-lease-duration: must be greater than --leader-elect-renew-deadline",
    );
  }
  if (!(flags.renewDeadlineMs > flags.retryPeriodMs * 1.2)) {
    throw new OptionsError(
      "--leader-elect-renew-deadline: must be greater than 1.2 × --leader-elect-retry-period",
    );
  }
  if (flags.retryPeriodMs <= 0) {
    throw new OptionsError("--leader-elect-retry-period: must be positive");
  }
  if (flags.namespace !== undefined && !isDnsLabel(flags.namespace)) {
    throw new OptionsError(
      `--leader-elect-resource-namespace: must be a namespace name, got "${flags.namespace}"`,
    );
  }
  if (!isDnsSubdomain(flags.name)) {
    throw new OptionsError(
      `--leader-elect-resource-name: must be a DNS subdomain, got "${flags.name}"`,
    );
  }
  return flags;
}

function planSource(file: string | undefined, configMap: string | undefined): PlanSource {
  if (file !== undefined && configMap !== undefined) {
    throw new OptionsError("--plans and --plans-configmap: give one or the other, not both");
  }
  if (file !== undefined) {
    if (file === "") throw new OptionsError("--plans: a file path is required");
    return { kind: "file", path: file };
  }
  if (configMap === undefined) return { kind: "builtin" };
  const [namespace, name, ...rest] = configMap.split("/");
  if (
    rest.length > 0 || !isDnsLabel(namespace) || !isDnsSubdomain(name)
  ) {
    throw new OptionsError(
      `--plans-configmap: must be NAMESPACE/NAME (e.g. kleff-system/kleff-plans), got "${configMap}"`,
    );
  }
  return { kind: "configMap", namespace, name };
}

function ingressNamespace(value: string | undefined): string {
  if (value === undefined) return DEFAULT_INGRESS_NAMESPACE;
  if (!isDnsLabel(value)) {
    throw new OptionsError(`--ingress-namespace: must be a namespace name, got "${value}"`);
  }
  return value;
}

function gatewayHosts(value: string | undefined): string[] {
  if (value === undefined) return [...DEFAULT_GATEWAY_HOSTS];
  const templates = value.split(",").map((item) => item.trim()).filter((item) => item !== "");
  if (templates.length === 0) throw new OptionsError("--gateway-hosts: at least one template");
  for (const template of templates) {
    const problem = hostTemplateProblem(template);
    if (problem !== undefined) throw new OptionsError(`--gateway-hosts: ${problem}`);
  }
  return templates;
}

function reservedNamespaces(value: string | undefined): string[] {
  if (value === undefined) return [...DEFAULT_RESERVED_NAMESPACES];
  const entries = value.split(",").map((item) => item.trim()).filter((item) => item !== "");
  for (const entry of entries) {
    if (!isReservedPattern(entry)) {
      throw new OptionsError(
        `--reserved-namespaces: "${entry}" is neither a namespace name nor a prefix of one ` +
          `followed by * (e.g. istio-system,monitoring-*)`,
      );
    }
  }
  return entries;
}

function meshEgressNamespaces(value: string | undefined): string[] {
  const entries = (value ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "");
  for (const entry of entries) {
    if (!isDnsLabel(entry)) {
      throw new OptionsError(
        `--mesh-egress-namespaces: "${entry}" is not a namespace name (e.g. monitoring,logging)`,
      );
    }
  }
  return [...new Set(entries)];
}

function atLeastOneSecond(value: string, flag: string): number {
  const ms = parseDuration(value, flag);
  if (ms < 1000) throw new OptionsError(`${flag}: must be at least 1s, got "${value}"`);
  return ms;
}

function requestTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_REQUEST_TIMEOUT_MS;
  const ms = parseDuration(value, "--request-timeout");
  if (ms < 100) {
    throw new OptionsError(`--request-timeout: must be at least 100ms, got "${value}"`);
  }
  return ms;
}

function discoveryInterval(value: string | undefined): number {
  if (value === undefined) return DEFAULT_DISCOVERY_INTERVAL_MS;
  const ms = parseDuration(value, "--discovery-interval");
  if (ms < 1000) {
    throw new OptionsError(`--discovery-interval: must be at least 1s, got "${value}"`);
  }
  return ms;
}
