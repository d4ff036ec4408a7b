// A plan's Istio settings (`mesh`): the mutual TLS mode of the tenant's PeerAuthentication and the
// hosts its Sidecar imports besides the platform's, checked against Istio's `namespace/dnsName`
// host format so that a typo is refused with the catalogue, not by Istio later.
import { isDnsLabel } from "../api/mod.ts";
import { isHostName } from "./hosts.ts";

/** Mutual TLS modes a plan may choose for `PeerAuthentication kleff-mtls`. */
export const MTLS_MODES = ["STRICT", "PERMISSIVE"] as const;

/** A mutual TLS mode a plan may choose. */
export type MtlsMode = typeof MTLS_MODES[number];

/** A plan's Istio settings. */
export interface MeshProfile {
  /** `spec.mtls.mode` of the tenant's PeerAuthentication (default `STRICT`). */
  mtls: MtlsMode;
  /**
   * Hosts the tenant's Sidecar imports besides its own namespace and the platform's, in Istio's
   * `namespace/dnsName` format (e.g. `shared/*`, `./api.example.com`).
   */
  egressHosts: readonly string[];
}

/** The mesh settings of a plan that says nothing about them. */
export const DEFAULT_MESH: MeshProfile = { mtls: "STRICT", egressHosts: [] };

/**
 * Why `host` is not a Sidecar egress host a plan may add, or `undefined` when it is one: Istio's
 * `namespace/dnsName`, where `namespace` is a namespace name, `.` (the tenant's own) or `*` (any),
 * and `dnsName` is `*` (every service there) or a lower-case DNS name whose left-most label may be
 * `*`. Istio's `~` forms (no namespace, exclusions) are refused: a plan only adds hosts.
 */
export function egressHostProblem(host: string): string | undefined {
  const slash = host.indexOf("/");
  if (slash < 0) {
    return `"${host}" is not namespace/dnsName (e.g. shared/*, ./api.example.com)`;
  }
  const namespace = host.slice(0, slash);
  const dnsName = host.slice(slash + 1);
  if (namespace.startsWith("~")) {
    return `"${host}": Istio's ~ forms (no namespace, exclusions) cannot be used; a plan only ` +
      `adds hosts`;
  }
  if (namespace !== "*" && namespace !== "." && !isDnsLabel(namespace)) {
    return `"${host}": "${namespace}" is neither a namespace name, "." (the tenant's own) nor ` +
      `"*" (any)`;
  }
  return dnsName === "*" || isHostName(dnsName)
    ? undefined
    : `"${host}": "${dnsName}" is neither "*" nor a lower-case DNS name (optionally *.name)`;
}
