// The chaos run's isolation invariants after settling (issue 11): squatters on reserved
// namespaces are refused and no reserved namespace carries a tenant's annotation unless the
// driver planted it so (planted ones are checked untouched like every foreign namespace), and
// gateway hosts are unique: a tenant with its namespace whose hosts overlap those of a tenant
// that came first reports HostConflict, naming it, and has no Gateway; no other reports it.
import type { Tenant } from "../../lib/api/mod.ts";
import { ConditionType, Reason, reservedBy, TENANT_UID_ANNOTATION } from "../../lib/api/mod.ts";
import { hostsOverlap, renderHosts } from "../../lib/plans/mod.ts";
import { DEFAULT_GATEWAY_HOSTS } from "../../lib/reconcile/mod.ts";
import { CHAOS_RESERVED_NAMESPACES } from "./hostile.ts";
import type { ClusterState, InvariantResult } from "./invariants.ts";
import type { Ledger } from "./ledger.ts";

function condition(tenant: Tenant | undefined, type: string) {
  return tenant?.status?.conditions?.find((item) => item.type === type);
}

/** Squatters are refused (InvalidSpec) and no reserved namespace is ever the operator's. */
export function checkSquatters(ledger: Ledger, state: ClusterState): InvariantResult {
  const result: InvariantResult = {
    name: "reserved namespace never given to a tenant (squatter refused with InvalidSpec)",
    checked: 0,
    violations: [],
  };
  for (const record of ledger.tenants.values()) {
    if (!record.reserved || record.state !== "live") continue;
    result.checked++;
    const reason = condition(state.tenants.get(record.name), ConditionType.NamespaceReady)?.reason;
    if (reason !== Reason.InvalidSpec) {
      result.violations.push(`${record.name} (userId ${record.userId}): NamespaceReady ${reason}`);
    }
  }
  for (const [name, namespace] of state.namespaces) {
    if (reservedBy(name, CHAOS_RESERVED_NAMESPACES) === undefined) continue;
    const owner = namespace.metadata?.annotations?.[TENANT_UID_ANNOTATION];
    if (owner === undefined) continue;
    result.checked++;
    if (ledger.foreignNamespaces.get(name)?.uid !== namespace.metadata?.uid) {
      result.violations.push(`namespace ${name} carries the annotation of tenant uid ${owner}`);
    }
  }
  return result;
}

/** Gateway hosts: the first claimant (older, then by name) keeps them, the others conflict. */
export function checkHostClaims(state: ClusterState): InvariantResult {
  const result: InvariantResult = {
    name: "gateway hosts unique: later overlapping tenants HostConflict without a Gateway",
    checked: 0,
    violations: [],
  };
  const claims = [...state.tenants.values()]
    .filter((tenant) => !tenant.metadata?.deletionTimestamp && tenant.spec)
    .map((tenant) => ({
      tenant,
      name: tenant.metadata?.name ?? "",
      order: `${tenant.metadata?.creationTimestamp}\u0000${tenant.metadata?.name}`,
      hosts: renderHosts(DEFAULT_GATEWAY_HOSTS, {
        username: tenant.spec!.username,
        userId: tenant.spec!.userId,
        tenant: tenant.metadata?.name ?? "",
      }) ?? [],
    }))
    .sort((a, b) => a.order < b.order ? -1 : 1);
  const overlaps = (a: readonly string[], b: readonly string[]) =>
    a.some((x) => b.some((y) => hostsOverlap(x, y)));
  for (const [index, claim] of claims.entries()) {
    // Only a tenant with its namespace gets policies; the others still claim their hosts.
    if (condition(claim.tenant, ConditionType.NamespaceReady)?.status !== "True") continue;
    const namespace = claim.tenant.status?.namespace;
    const gateway = namespace === undefined
      ? undefined
      : state.objects.get(`Gateway ${namespace}/kleff-gateway`);
    const ours = gateway?.metadata?.annotations?.[TENANT_UID_ANNOTATION] ===
      claim.tenant.metadata?.uid;
    const first = claims.slice(0, index).find((other) => overlaps(claim.hosts, other.hosts));
    const policies = condition(claim.tenant, ConditionType.PoliciesReady);
    if (first !== undefined) {
      result.checked++;
      if (policies?.reason !== Reason.HostConflict) {
        result.violations.push(
          `${claim.name}: hosts overlap ${first.name}'s but PoliciesReady ${policies?.reason}`,
        );
      } else if (!policies.message.includes(`Tenant ${first.name},`)) {
        result.violations.push(`${claim.name}: HostConflict names another: ${policies.message}`);
      }
      if (ours) result.violations.push(`${claim.name}: has a Gateway despite the conflict`);
    } else if (policies?.reason === Reason.HostConflict) {
      result.checked++;
      result.violations.push(`${claim.name}: HostConflict without an earlier overlapping tenant`);
    }
  }
  return result;
}
