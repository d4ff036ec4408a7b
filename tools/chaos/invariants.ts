// The chaos run's cluster invariants: what the API server holds after the
// system settled, compared with the driver's ledger and the plan catalogue.
import type { Namespace } from "kubernetes-types/core/v1.d.ts";
import {
  ConditionType,
  ORPHANED_LABEL,
  OWNERSHIP_LABEL_KEYS,
  POD_SECURITY_LABELS,
  Reason,
  type Tenant,
  TENANT_LABEL,
  TENANT_RESOURCE,
  TENANT_UID_ANNOTATION,
} from "../../lib/api/mod.ts";
import {
  type KubeClient,
  type KubeObjectBase,
  limitRanges,
  namespaces,
  networkPolicies,
  resourceQuotas,
} from "../../lib/client/mod.ts";
import { builtinCatalogue, type Plan, quantityKey } from "../../lib/plans/mod.ts";
import { type Ledger, retrying, type TenantRecord } from "./ledger.ts";
import { CHAOS_ISTIO_KINDS } from "./hostile.ts";

/** One invariant's outcome: how many cases were checked and what broke. */
export interface InvariantResult {
  /** What must hold. */
  name: string;
  /** Cases checked. */
  checked: number;
  /** One line per broken case. */
  violations: string[];
}

/** Everything the checks read from the server, listed once. */
export interface ClusterState {
  /** Tenants by name. */
  tenants: Map<string, Tenant>;
  /** Namespaces by name. */
  namespaces: Map<string, Namespace>;
  /**
   * ResourceQuotas, LimitRanges, NetworkPolicies, Gateways, PeerAuthentications and Sidecars, by
   * `kind namespace/name`.
   */
  objects: Map<string, KubeObjectBase & { spec?: Record<string, unknown> }>;
}

/** Lists everything the invariants look at. */
export async function readCluster(client: KubeClient): Promise<ClusterState> {
  const list = async <T extends KubeObjectBase>(resource: Parameters<KubeClient["resource"]>[0]) =>
    (await retrying(() => client.resource<T>(resource).list()))?.items ?? [];
  const objects = new Map<string, KubeObjectBase & { spec?: Record<string, unknown> }>();
  for (const resource of [resourceQuotas, limitRanges, networkPolicies, ...CHAOS_ISTIO_KINDS]) {
    for (const item of await list<KubeObjectBase & { spec?: Record<string, unknown> }>(resource)) {
      objects.set(`${resource.kind} ${item.metadata?.namespace}/${item.metadata?.name}`, item);
    }
  }
  return {
    tenants: new Map((await list<Tenant>(TENANT_RESOURCE)).map((t) => [t.metadata?.name ?? "", t])),
    namespaces: new Map(
      (await list<Namespace>(namespaces)).map((n) => [n.metadata?.name ?? "", n]),
    ),
    objects,
  };
}

function condition(tenant: Tenant | undefined, type: string) {
  return tenant?.status?.conditions?.find((c) => c.type === type);
}

function uidOf(object: KubeObjectBase | undefined): string | undefined {
  return object?.metadata?.annotations?.[TENANT_UID_ANNOTATION];
}

/** Whether a live tenant is at rest: Ready, or a reported conflict over a namespace that exists. */
function tenantSettled(record: TenantRecord, state: ClusterState): boolean {
  const tenant = state.tenants.get(record.name);
  if (!tenant || tenant.metadata?.deletionTimestamp) return false;
  if (tenant.status?.observedGeneration !== tenant.metadata?.generation) return false;
  if (record.reserved) {
    return condition(tenant, ConditionType.NamespaceReady)?.reason === Reason.InvalidSpec;
  }
  const namespace = state.namespaces.get(record.userId);
  if (uidOf(namespace) === record.uid) {
    const ready = condition(tenant, ConditionType.TenantReady);
    return ready?.status === "True" || ready?.reason === Reason.HostConflict;
  }
  return namespace !== undefined &&
    condition(tenant, ConditionType.NamespaceReady)?.reason === Reason.NamespaceConflict;
}

/** What still keeps the system from being at rest (empty when settled). */
export function unsettled(ledger: Ledger, state: ClusterState): string[] {
  const pending: string[] = [];
  for (const record of ledger.tenants.values()) {
    const tenant = state.tenants.get(record.name);
    if (record.state === "deleted" && tenant) pending.push(`${record.name} not yet gone`);
    if (record.state === "live" && !tenantSettled(record, state)) {
      const ready = condition(tenant, ConditionType.TenantReady);
      pending.push(`${record.name} ${ready ? `${ready.status} ${ready.reason}` : "no status"}`);
    }
  }
  return pending;
}

/** Checks every cluster invariant against the ledger. */
export function checkCluster(ledger: Ledger, state: ClusterState): InvariantResult[] {
  const ready: InvariantResult = {
    name:
      "live tenant TenantReady=True (or HostConflict) with exactly its namespace (labels, uid annotation)",
    checked: 0,
    violations: [],
  };
  const conflicts: InvariantResult = {
    name: "live tenant whose namespace is not its own reports NamespaceConflict",
    checked: 0,
    violations: [],
  };
  const objects: InvariantResult = {
    name: "live tenant has exactly its per-plan objects (quota, limits, isolation, mTLS, sidecar)",
    checked: 0,
    violations: [],
  };
  const gone: InvariantResult = {
    name: "deleted tenant gone (no tenant stuck with its finalizer)",
    checked: 0,
    violations: [],
  };
  const deleted: InvariantResult = {
    name: "deletionPolicy Delete: namespace and objects gone",
    checked: 0,
    violations: [],
  };
  const retained: InvariantResult = {
    name: "deletionPolicy Retain: namespace kept, orphan-labelled, ownership stripped",
    checked: 0,
    violations: [],
  };
  const foreign: InvariantResult = {
    name: "foreign namespace and object never modified or deleted",
    checked: 0,
    violations: [],
  };
  const leaks: InvariantResult = {
    name: "every namespace or object with our uid annotation belongs to a live tenant",
    checked: 0,
    violations: [],
  };
  const catalogue = builtinCatalogue();
  const planted = new Set(
    ledger.foreignObjects.map((record) =>
      `${record.kind ?? "ResourceQuota"} ${record.namespace}/${record.name}`
    ),
  );
  const liveUids = new Set(
    [...state.tenants.values()].filter((t) => !t.metadata?.deletionTimestamp)
      .map((t) => t.metadata?.uid),
  );

  for (const record of ledger.tenants.values()) {
    const tenant = state.tenants.get(record.name);
    const namespace = state.namespaces.get(record.userId);
    if (record.state === "deleted") {
      gone.checked++;
      if (tenant) {
        gone.violations.push(
          `${record.name}: still there, finalizers ${JSON.stringify(tenant.metadata?.finalizers)}`,
        );
      }
      const ours = [...state.objects.entries()].filter(([key, o]) =>
        uidOf(o) === record.uid && !planted.has(key)
      );
      if (record.policy === "Delete") {
        deleted.checked++;
        if (uidOf(namespace) === record.uid) {
          deleted.violations.push(`${record.name}: namespace ${record.userId} still there`);
        }
        for (const [key] of ours) deleted.violations.push(`${record.name}: ${key} still there`);
      } else {
        retained.checked++;
        if (uidOf(namespace) === record.uid) {
          retained.violations.push(`${record.name}: ${record.userId} still has our annotation`);
        }
        if (record.ownedAtDelete) {
          const labels = namespace?.metadata?.labels ?? {};
          const kept = OWNERSHIP_LABEL_KEYS.filter((key) => key in labels);
          if (!namespace) retained.violations.push(`${record.name}: ${record.userId} deleted`);
          else if (labels[ORPHANED_LABEL] !== "true" || kept.length) {
            retained.violations.push(
              `${record.name}: ${record.userId} labels ${JSON.stringify(labels)}`,
            );
          }
        }
      }
      continue;
    }
    if (!tenant || tenant.metadata?.deletionTimestamp) {
      ready.checked++;
      ready.violations.push(`${record.name}: ${tenant ? "being deleted" : "gone"}, never deleted`);
      continue;
    }
    if (record.reserved) continue;
    const ownedByIt = uidOf(namespace) === record.uid;
    const summary = condition(tenant, ConditionType.TenantReady);
    if (!ownedByIt) {
      conflicts.checked++;
      const reason = condition(tenant, ConditionType.NamespaceReady)?.reason;
      if (!namespace) {
        conflicts.violations.push(`${record.name}: namespace ${record.userId} missing`);
      } else if (reason !== Reason.NamespaceConflict || summary?.status !== "False") {
        conflicts.violations.push(
          `${record.name}: ${record.userId} not its own but NamespaceReady reason ${reason}, TenantReady ${summary?.status}`,
        );
      }
      continue;
    }
    ready.checked++;
    const plan = catalogue.plans.get(record.plan);
    const problems: string[] = [];
    // A HostConflict is checked against the other tenants' hosts by checkHostClaims.
    if (summary?.status !== "True" && summary?.reason !== Reason.HostConflict) {
      problems.push(`TenantReady ${summary?.status} ${summary?.reason}`);
    }
    if (tenant.status?.observedGeneration !== tenant.metadata?.generation) {
      problems.push(`observedGeneration ${tenant.status?.observedGeneration}`);
    }
    if (tenant.status?.namespace !== record.userId) {
      problems.push(`status.namespace ${tenant.status?.namespace}`);
    }
    const labels = namespace?.metadata?.labels ?? {};
    const want: Record<string, string> = {
      "istio-injection": "enabled",
      "kleff.io/tenant-username": record.username,
      "kleff.io/tenant-plan": record.plan,
      [TENANT_LABEL]: record.name,
      "app.kubernetes.io/managed-by": "kleff-tenant-operator",
      ...Object.fromEntries(POD_SECURITY_LABELS.map((key) => [key, plan?.podSecurity ?? "?"])),
    };
    const extra = ledger.extraLabels.get(record.userId);
    if (extra && extra.uid === namespace?.metadata?.uid) Object.assign(want, extra.labels);
    for (const [key, value] of Object.entries(want)) {
      if (labels[key] !== value) problems.push(`label ${key}=${labels[key]} (want ${value})`);
    }
    if (problems.length) ready.violations.push(`${record.name}: ${problems.join(", ")}`);
    objects.checked++;
    const found = plan
      ? checkPlanObjects(record, state, { plan, planted })
      : [`plan ${record.plan} unknown`];
    if (found.length) objects.violations.push(`${record.name}: ${found.join(", ")}`);
  }

  for (const record of [...ledger.foreignNamespaces.values(), ...ledger.foreignObjects]) {
    foreign.checked++;
    const where = record.namespace ? `${record.namespace}/${record.name}` : record.name;
    if (record.namespace) {
      if (state.namespaces.get(record.namespace)?.metadata?.uid !== record.namespaceUid) continue;
      const kind = record.kind ?? "ResourceQuota";
      const object = state.objects.get(`${kind} ${record.namespace}/${record.name}`);
      if (!object) foreign.violations.push(`${kind} ${where}: deleted`);
      else if (object.metadata?.resourceVersion !== record.resourceVersion) {
        foreign.violations.push(`${kind} ${where}: modified`);
      }
      continue;
    }
    const namespace = state.namespaces.get(record.name);
    if (!namespace || namespace.metadata?.uid !== record.uid) {
      foreign.violations.push(`namespace ${where}: deleted`);
    } else if (namespace.metadata?.resourceVersion !== record.resourceVersion) {
      foreign.violations.push(
        `namespace ${where}: modified (labels ${JSON.stringify(namespace.metadata?.labels)})`,
      );
    }
  }

  for (
    const [key, object] of [
      ...[...state.namespaces].map(([name, ns]) => [`Namespace ${name}`, ns] as const),
      ...state.objects,
    ]
  ) {
    const uid = uidOf(object);
    if (uid === undefined || planted.has(key)) continue;
    leaks.checked++;
    if (!liveUids.has(uid)) leaks.violations.push(`${key}: owner uid ${uid} is not a live tenant`);
  }
  for (const tenant of state.tenants.values()) {
    if (tenant.metadata?.deletionTimestamp && !ledger.tenants.has(tenant.metadata.name ?? "")) {
      gone.violations.push(`${tenant.metadata?.name}: stuck in deletion`);
    }
  }
  return [ready, conflicts, objects, gone, deleted, retained, foreign, leaks];
}

function checkPlanObjects(
  record: TenantRecord,
  state: ClusterState,
  options: { plan: Plan; planted: ReadonlySet<string> },
): string[] {
  const { plan, planted } = options;
  const problems: string[] = [];
  const at = (kind: string, name: string) => state.objects.get(`${kind} ${record.userId}/${name}`);
  const quota = at("ResourceQuota", "kleff-quota");
  if (plan.resourceQuota) {
    if (!quota || uidOf(quota) !== record.uid) problems.push("kleff-quota missing");
    else {
      const hard = (quota.spec?.hard ?? {}) as Record<string, string>;
      const want = Object.entries(plan.resourceQuota);
      const same = want.length === Object.keys(hard).length &&
        want.every(([key, value]) => hard[key] && quantityKey(hard[key]) === quantityKey(value));
      if (!same) problems.push(`kleff-quota hard ${JSON.stringify(hard)}`);
    }
  } else if (quota) problems.push("kleff-quota present without a plan quota");
  const limits = at("LimitRange", "kleff-limits");
  if (plan.limitRange && (!limits || uidOf(limits) !== record.uid)) {
    problems.push("kleff-limits missing");
  }
  if (!plan.limitRange && limits) problems.push("kleff-limits present without plan limits");
  const limitItems = (limits?.spec?.limits ?? []) as { max?: { cpu?: string } }[];
  if (limitItems.some((item) => item.max?.cpu === "64")) problems.push("kleff-limits tampered");
  const isolation = at("NetworkPolicy", "kleff-isolation");
  if (!isolation || uidOf(isolation) !== record.uid) problems.push("kleff-isolation missing");
  // The built-in plans keep the mesh defaults; the replicas run with the default ingress namespace.
  const mesh: [string, string, unknown][] = [
    ["PeerAuthentication", "kleff-mtls", { mtls: { mode: "STRICT" } }],
    ["Sidecar", "kleff-egress", { egress: [{ hosts: ["./*", "istio-system/*"] }] }],
  ];
  for (const [kind, name, spec] of mesh) {
    const object = at(kind, name);
    if (!object || uidOf(object) !== record.uid) problems.push(`${name} missing`);
    else if (JSON.stringify(object.spec) !== JSON.stringify(spec)) {
      problems.push(`${name} spec ${JSON.stringify(object.spec)}`);
    }
  }
  for (const [key, object] of state.objects) {
    const mine = uidOf(object) === record.uid && !planted.has(key);
    if (mine && object.metadata?.namespace !== record.userId) {
      problems.push(`${key} outside its namespace`);
    }
    if (
      mine && object.metadata?.namespace === record.userId &&
      object.metadata?.labels?.[TENANT_LABEL] !== record.name
    ) problems.push(`${key} without its tenant label`);
  }
  return problems;
}
