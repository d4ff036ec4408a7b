// Namespace names a Tenant may never take (ARCHITECTURE.md §4): the platform's own namespaces.
// Every tenant's NetworkPolicy and AuthorizationPolicy admit the ingress namespace, and DNS lives
// in kube-system, so a customer owning one of these could reach every tenant.
import { isDnsLabel } from "./names.ts";

/**
 * Reserved whatever the flags say: `kube-*` (kube-system, kube-public, kube-node-lease and any
 * future one) and `default`. The operator adds its own namespace and the ingress namespace at
 * run time.
 */
export const ALWAYS_RESERVED_NAMESPACES: readonly string[] = ["kube-*", "default"];

/**
 * The default `--reserved-namespaces`: namespaces platforms commonly install their components
 * in. The CRD's `spec.userId` rule rejects these and {@linkcode ALWAYS_RESERVED_NAMESPACES}.
 */
export const DEFAULT_RESERVED_NAMESPACES: readonly string[] = [
  "kleff-system",
  "istio-system",
  "istio-ingress",
  "gatekeeper-system",
  "cert-manager",
];

/**
 * Whether `entry` is a valid reserved-namespace entry: a namespace name, or a prefix of one
 * followed by `*` (`istio-*`).
 */
export function isReservedPattern(entry: string): boolean {
  const name = entry.endsWith("*") ? `${entry.slice(0, -1)}a` : entry;
  return entry !== "*" && isDnsLabel(name);
}

/**
 * The entry of `reserved` that `name` matches (exactly, or by prefix for entries ending in `*`),
 * or `undefined` when the name is free.
 */
export function reservedBy(name: string, reserved: readonly string[]): string | undefined {
  return reserved.find((entry) =>
    entry.endsWith("*") ? name.startsWith(entry.slice(0, -1)) : name === entry
  );
}
