// The operator's `--help` text and the flag defaults it states, next to each other so that they
// cannot drift apart (options.ts parses the flags with the same defaults).
import { formatDuration } from "./duration.ts";
import { DEFAULT_RESERVED_NAMESPACES } from "../api/mod.ts";
import { DEFAULT_GATEWAY_HOSTS, DEFAULT_INGRESS_NAMESPACE } from "../reconcile/mod.ts";
import { DEFAULT_DISCOVERY_INTERVAL_MS, DEFAULT_WATCH_INACTIVITY_MS } from "./manager.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../client/mod.ts";
import { MINIMUM_KUBERNETES_VERSION } from "./kubernetes_version.ts";

/** `1.30` for {major: 1, minor: 30}. */
function formatMinimum(version: { major: number; minor: number }): string {
  return `${version.major}.${version.minor}`;
}

/** The defaults of the flags that have one. */
export const OPTION_DEFAULTS = {
  concurrency: 4,
  resyncPeriodMs: 600_000,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  leaseName: "kleff-tenant-operator",
  healthProbeAddress: ":8081",
  metricsAddress: ":8443",
  metricsCertName: "tls.crt",
  metricsCertKey: "tls.key",
};

/** The `--help` text. */
export const HELP = `kleff tenant operator: one Tenant (kleff.kleff.io/v1) = one guarded namespace.

Usage: deno run <permissions> mod.ts [flags]

Flags:
  --kubeconfig PATH         kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --context NAME            kubeconfig context to use (default: its current-context)
  --concurrency N           tenants reconciled at the same time (default ${OPTION_DEFAULTS.concurrency})
  --resync-period DURATION  safety-net resync of every tenant (default ${
  formatDuration(OPTION_DEFAULTS.resyncPeriodMs)
})
  --plans FILE              plan catalogue YAML file (default: built-in free, basic, pro)
  --plans-configmap NS/NAME plan catalogue from key plans.yaml of a ConfigMap, watched for edits
  --ingress-namespace NAME  namespace of the Istio ingress gateway (default ${DEFAULT_INGRESS_NAMESPACE})
  --gateway-hosts LIST      comma-separated Gateway host templates with {username}, {userId},
                            {tenant} (default ${DEFAULT_GATEWAY_HOSTS.join(",")})
  --reserved-namespaces LIST
                            comma-separated namespaces no tenant may have (a trailing * matches a
                            prefix); kube-*, default, the ingress namespace, istio-system, the
                            --mesh-egress-namespaces and the operator's own are always reserved
                            (default ${DEFAULT_RESERVED_NAMESPACES.join(",")})
  --mesh-egress-namespaces LIST
                            comma-separated platform namespaces every tenant's Istio Sidecar
                            imports besides its own, the ingress namespace and istio-system
                            (default none)
  --discovery-interval DURATION
                            how often to look for Istio/Gatekeeper kinds (default ${
  formatDuration(DEFAULT_DISCOVERY_INTERVAL_MS)
})
  --leader-elect            elect one active replica through a coordination.k8s.io Lease
  --leader-elect-lease-duration DURATION
                            how long a standby waits after the last renewal (default ${
  formatDuration(OPTION_DEFAULTS.leaseDurationMs)
})
  --leader-elect-renew-deadline DURATION
                            how long the leader tries to renew before it stops (default ${
  formatDuration(OPTION_DEFAULTS.renewDeadlineMs)
})
  --leader-elect-retry-period DURATION
                            interval between acquire/renew attempts (default ${
  formatDuration(OPTION_DEFAULTS.retryPeriodMs)
})
  --leader-elect-resource-namespace NAME
                            Lease namespace (default: $POD_NAMESPACE, else the kubeconfig's)
  --leader-elect-resource-name NAME
                            Lease name (default ${OPTION_DEFAULTS.leaseName})
  --health-probe-bind-address ADDRESS
                            serve /healthz and /readyz here; "0" disables (default ${OPTION_DEFAULTS.healthProbeAddress})
  --metrics-bind-address ADDRESS
                            serve Prometheus /metrics here; "0" disables (default ${OPTION_DEFAULTS.metricsAddress})
  --metrics-secure[=false]  HTTPS, every scrape checked with a TokenReview and a SubjectAccessReview
                            of "get /metrics" (default true); false: plain HTTP, for a sidecar on
                            127.0.0.1
  --metrics-cert-path DIR   folder of the metrics serving certificate, re-read when it changes
                            (default: a self-signed certificate made at start)
  --metrics-cert-name NAME  certificate file in --metrics-cert-path (default ${OPTION_DEFAULTS.metricsCertName})
  --metrics-cert-key NAME   key file in --metrics-cert-path (default ${OPTION_DEFAULTS.metricsCertKey})
  --request-timeout DURATION
                            deadline of each API request but watches; its connection is then
                            discarded (default ${formatDuration(DEFAULT_REQUEST_TIMEOUT_MS)})
  --watch-inactivity-timeout DURATION
                            a watch without a byte this long (servers send bookmarks about once a
                            minute) reconnects on a fresh connection (default ${
  formatDuration(DEFAULT_WATCH_INACTIVITY_MS)
})
  --allow-unsupported-kubernetes
                            run on a Kubernetes older than ${
  formatMinimum(MINIMUM_KUBERNETES_VERSION)
}, without what it lacks (logged at start)
  --log-level LEVEL         trace, debug, info, warning, error (default info)
  --log-format FORMAT       json or pretty (default: json unless stderr is a terminal)
  -h, --help                print this help
`;
