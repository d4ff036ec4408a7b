// Plan contexts shared by the reconcile tests: the built-in catalogue, and a namespace-only one
// whose plans ask for no objects (so namespace tests see only namespace writes).
import { builtinCatalogue, validateCatalogue } from "../../../lib/plans/mod.ts";
import { NO_INTEGRATIONS, type PlanContext } from "../../../lib/reconcile/mod.ts";

/** Plans `basic` and `pro` with Pod Security `restricted` and no per-tenant objects. */
export const NAMESPACE_ONLY: PlanContext = {
  catalogue: validateCatalogue({
    plans: { basic: { network: { isolation: false } }, pro: { network: { isolation: false } } },
  }, "test"),
  integrations: NO_INTEGRATIONS,
  ingressNamespace: "istio-system",
  gatewayHosts: ["*.{username}.apps.example.com"],
  meshEgressNamespaces: [],
  reservedNamespaces: ["kube-*", "default", "istio-system", "kleff-system"],
};

/** The built-in catalogue, without integrations. */
export const BUILTIN: PlanContext = { ...NAMESPACE_ONLY, catalogue: builtinCatalogue() };

/** Pod Security labels at `level`. */
export function podSecurityLabels(level: string): Record<string, string> {
  return Object.fromEntries(
    ["enforce", "audit", "warn"].map((mode) => [`pod-security.kubernetes.io/${mode}`, level]),
  );
}
