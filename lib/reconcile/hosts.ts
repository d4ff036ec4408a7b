// Gateway hosts are unique per tenant (ARCHITECTURE.md §6): the hosts a tenant's templates give,
// and the first overlap with the hosts of tenants that claimed theirs earlier. Which tenants
// came earlier is the caller's knowledge (the operator's index of every Tenant), passed in.
import { hostsOverlap, renderHosts } from "../plans/mod.ts";
import type { Integrations } from "./context.ts";
import { readTenant } from "./spec.ts";

/** Gateway hosts claimed by another tenant that comes first (older, then by name). */
export interface HostClaim {
  /** The other Tenant's name. */
  tenant: string;
  /** Its rendered hosts. */
  hosts: readonly string[];
}

/** Where one of a tenant's hosts overlaps an earlier claim. */
export interface HostOverlap {
  /** The tenant's host. */
  host: string;
  /** The tenant that claimed first. */
  tenant: string;
  /** Its overlapping host. */
  claimed: string;
}

/**
 * The gateway hosts of a Tenant (untyped, as read) under `templates`: `undefined` when its spec
 * is invalid or a template gives no valid host name for it.
 */
export function tenantHosts(tenant: unknown, templates: readonly string[]): string[] | undefined {
  const reading = readTenant(tenant);
  if (!reading.ok || reading.tenant.spec === undefined) return undefined;
  const { spec, name } = reading.tenant;
  return renderHosts(templates, { username: spec.username, userId: spec.userId, tenant: name });
}

/**
 * Whether host claims decide anything: they decide only whether a tenant gets its Gateway, so
 * only while Gateways are served.
 */
export function hostClaimsMatter(integrations: Integrations): boolean {
  return integrations.gateway !== undefined;
}

/** The first of `claims` (in their order) that one of `hosts` overlaps, if any. */
export function firstOverlap(
  hosts: readonly string[],
  claims: readonly HostClaim[],
): HostOverlap | undefined {
  for (const claim of claims) {
    for (const host of hosts) {
      const claimed = claim.hosts.find((other) => hostsOverlap(host, other));
      if (claimed !== undefined) return { host, tenant: claim.tenant, claimed };
    }
  }
  return undefined;
}
