// The chaos workload: one seeded random action per step against the API
// server, as customers and careless admins would act: tenants created,
// re-planned, renamed and deleted, foreign namespaces planted with colliding
// names, managed namespaces and objects edited or deleted by hand, and
// finalizers that hold namespaces in Terminating for a while; and as hostile
// tenants would (hostile.ts): guard rails disowned, reserved namespaces
// squatted, colliding user names, objects labelled as another tenant's.
import type { ConfigMap, Namespace, ResourceQuota } from "kubernetes-types/core/v1.d.ts";
import {
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  TENANT_LABEL,
  TENANT_UID_ANNOTATION,
} from "../../lib/api/mod.ts";
import type { Tenant } from "../../lib/api/mod.ts";
import { TENANT_RESOURCE } from "../../lib/api/mod.ts";
import { sleep } from "../../lib/backoff.ts";
import {
  configMaps,
  InvalidError,
  isAlreadyExists,
  type KubeClient,
  limitRanges,
  namespaces,
  networkPolicies,
  resourceQuotas,
} from "../../lib/client/mod.ts";
import { EXTRA_LABEL, HOLD_FINALIZER, type Ledger, retrying, type TenantRecord } from "./ledger.ts";
import { collidingUsername, HostileMoves, isReservedUserId, SQUAT_PREFIX } from "./hostile.ts";
import type { Prng } from "./prng.ts";

/** The plans tenants are spread over (the built-in catalogue). */
const WORKLOAD_PLANS: readonly string[] = ["free", "basic", "pro"];

/** Most foreign namespaces planted in one run. */
const MAX_FOREIGN = 8;

type Action =
  | "create"
  | "plan"
  | "username"
  | "policy"
  | "delete"
  | "foreign"
  | "labels"
  | "deleteNamespace"
  | "tamper"
  | "impostor"
  | "hold"
  | "release"
  | "disown"
  | "squat"
  | "collide"
  | "crossLabel";

/** Drives the workload one step at a time; every choice comes from its {@linkcode Prng}. */
export class Workload {
  readonly #client: KubeClient;
  readonly #ledger: Ledger;
  readonly #prng: Prng;
  readonly #target: number;
  readonly #hostile: HostileMoves;
  #step = 0;
  #created = 0;

  /** A workload keeping about `target` tenants alive. */
  constructor(client: KubeClient, ledger: Ledger, prng: Prng, target: number) {
    this.#client = client;
    this.#ledger = ledger;
    this.#prng = prng;
    this.#target = target;
    this.#hostile = new HostileMoves(client, ledger, prng.fork(3));
  }

  /** Runs one step every `stepMs` until `signal` aborts. */
  async run(stepMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = Date.now();
      await this.step();
      const wait = stepMs - (Date.now() - started);
      if (wait > 0) await sleep(wait, signal).catch(() => {});
    }
  }

  /** Plants a couple of foreign namespaces before the operator starts. */
  async prepare(): Promise<void> {
    await this.#foreign();
    await this.#foreign();
  }

  /** One random action. Failures after retries are counted, never thrown. */
  async step(): Promise<void> {
    this.#step++;
    const live = this.#ledger.live();
    const action = this.#prng.weighted<Action>({
      create: live.length < this.#target ? 6 : 0,
      plan: live.length ? 2 : 0,
      username: live.length ? 1 : 0,
      policy: live.length ? 0.5 : 0,
      delete: live.length > this.#target / 3 ? 2 : live.length ? 0.3 : 0,
      foreign: this.#ledger.foreignNamespaces.size < MAX_FOREIGN ? 0.4 : 0,
      labels: live.length ? 1.5 : 0,
      deleteNamespace: live.length ? 0.6 : 0,
      tamper: live.length ? 1 : 0,
      impostor: live.length ? 0.3 : 0,
      hold: live.length ? 0.7 : 0,
      release: this.#ledger.holds.length ? 0.8 : 0,
      disown: live.length ? 1.2 : 0,
      squat: live.length < this.#target ? 0.3 : 0,
      collide: live.length && live.length < this.#target ? 0.6 : 0,
      crossLabel: live.length > 1 ? 0.4 : 0,
    });
    const tenant = live.length ? this.#prng.pick(live) : undefined;
    try {
      await this.#run(action, tenant);
      this.#ledger.count(action);
    } catch (error) {
      this.#ledger.count(`${action} failed`);
      this.#ledger.count(`error: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async #run(action: Action, tenant: TenantRecord | undefined): Promise<void> {
    if (action === "create") return await this.#create();
    if (action === "foreign") return void await this.#foreign();
    if (action === "release") return await this.#release();
    if (action === "squat") {
      const roll = this.#prng.next();
      const userId = roll < 0.2
        ? "istio-system"
        : roll < 0.3
        ? "kube-chaos"
        : `${SQUAT_PREFIX}${this.#step}`;
      if (userId.startsWith(SQUAT_PREFIX) && this.#prng.chance(0.3)) await this.#foreign(userId);
      return await this.#create({ userId });
    }
    if (action === "collide" && tenant) {
      return await this.#create({ username: collidingUsername(tenant.username, this.#prng) });
    }
    if (!tenant) return;
    switch (action) {
      case "plan":
        tenant.plan = this.#prng.pick(WORKLOAD_PLANS.filter((plan) => plan !== tenant.plan));
        return await this.#patchSpec(tenant, { plan: tenant.plan });
      case "username":
        tenant.username = `user-${this.#step}`;
        return await this.#patchSpec(tenant, { username: tenant.username });
      case "policy":
        tenant.policy = tenant.policy === "Retain" ? "Delete" : "Retain";
        return await this.#patchSpec(tenant, { deletionPolicy: tenant.policy });
      case "delete":
        return await this.#delete(tenant);
      case "labels":
        return await this.#editLabels(tenant);
      case "deleteNamespace":
        return await this.#deleteNamespace(tenant);
      case "tamper":
        return await this.#tamper(tenant);
      case "impostor":
        return await this.#impostor(tenant);
      case "hold":
        return await this.#hold(tenant);
      case "disown":
        if (await this.#owned(tenant)) await this.#hostile.disown(tenant);
        return;
      case "crossLabel": {
        const namespace = await this.#owned(tenant);
        const others = this.#ledger.live().filter((other) => other !== tenant && other.uid);
        if (namespace && others.length) {
          await this.#hostile.crossLabel(tenant, namespace, this.#prng.pick(others));
        }
        return;
      }
    }
  }

  /** Creates a tenant; `chosen` fixes its userId or username (squatting, colliding). */
  async #create(chosen: { userId?: string; username?: string } = {}): Promise<void> {
    const index = this.#created++;
    const name = `t-${index}`;
    let userId = `u-${index}`;
    const foreign = [...this.#ledger.foreignNamespaces.keys()];
    const live = this.#ledger.live();
    const roll = this.#prng.next();
    if (chosen.userId !== undefined) userId = chosen.userId;
    else if (roll < 0.06) userId = await this.#foreign(userId);
    else if (roll < 0.1 && foreign.length) userId = this.#prng.pick(foreign);
    else if (roll < 0.15 && live.length) userId = this.#prng.pick(live).userId;
    const record: TenantRecord = {
      name,
      uid: "",
      userId,
      plan: this.#prng.pick(WORKLOAD_PLANS),
      username: chosen.username ?? `user-${index}`,
      policy: this.#prng.chance(0.3) ? "Retain" : "Delete",
      state: "live",
      ...(isReservedUserId(userId) ? { reserved: true } : {}),
    };
    const tenants = this.#client.resource<Tenant>(TENANT_RESOURCE);
    const created = await retrying(async () => {
      try {
        return await tenants.create({
          apiVersion: "kleff.kleff.io/v1",
          kind: "Tenant",
          metadata: { name },
          spec: {
            userId,
            username: record.username,
            plan: record.plan,
            deletionPolicy: record.policy,
          },
        });
      } catch (error) {
        if (isAlreadyExists(error)) return await tenants.get(name);
        if (record.reserved && error instanceof InvalidError) return undefined;
        throw error;
      }
    });
    if (created === undefined && record.reserved) {
      this.#ledger.count("squat refused by the CRD");
      return;
    }
    record.uid = created?.metadata?.uid ?? "";
    this.#ledger.tenants.set(name, record);
  }

  async #patchSpec(tenant: TenantRecord, spec: Record<string, string>): Promise<void> {
    await retrying(() =>
      this.#client.resource<Tenant>(TENANT_RESOURCE).patch(tenant.name, { spec })
    );
  }

  async #delete(tenant: TenantRecord): Promise<void> {
    const namespace = await this.#namespace(tenant.userId);
    tenant.ownedAtDelete = namespace !== undefined && owns(namespace, tenant) &&
      !namespace.metadata?.deletionTimestamp;
    tenant.state = "deleted";
    await retrying(() => this.#client.resource<Tenant>(TENANT_RESOURCE).delete(tenant.name));
  }

  /** Plants foreign namespace `name` (default `foreign-<n>`), sometimes dressed as a managed one. */
  async #foreign(name = `foreign-${this.#ledger.foreignNamespaces.size}`): Promise<string> {
    if (this.#ledger.foreignNamespaces.has(name)) return name;
    const labels: Record<string, string> = { team: "someone-else" };
    const live = this.#ledger.live();
    if (this.#prng.chance(0.4)) {
      labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE;
      labels[TENANT_LABEL] = live.length ? this.#prng.pick(live).name : "t-nobody";
    }
    const created = await retrying(() =>
      this.#client.resource<Namespace>(namespaces).create({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name, labels },
      })
    );
    this.#ledger.foreignNamespaces.set(name, {
      namespace: "",
      name,
      uid: created?.metadata?.uid ?? "",
      resourceVersion: created?.metadata?.resourceVersion ?? "",
    });
    return name;
  }

  /** The tenant's namespace when this tenant owns it and it is not terminating. */
  async #owned(tenant: TenantRecord): Promise<Namespace | undefined> {
    const namespace = await this.#namespace(tenant.userId);
    return namespace && owns(namespace, tenant) && !namespace.metadata?.deletionTimestamp
      ? namespace
      : undefined;
  }

  async #namespace(name: string): Promise<Namespace | undefined> {
    return await retrying(() => this.#client.resource<Namespace>(namespaces).get(name));
  }

  async #editLabels(tenant: TenantRecord): Promise<void> {
    const namespace = await this.#owned(tenant);
    if (!namespace) return;
    const edits: Record<string, string | null>[] = [
      { "kleff.io/tenant-plan": "tampered" },
      { "istio-injection": null },
      { [MANAGED_BY_LABEL]: null },
      { "pod-security.kubernetes.io/enforce": "privileged" },
      { "kleff.io/tenant-username": null },
      { [TENANT_LABEL]: null },
    ];
    const value = `s${this.#step}`;
    const labels = { ...this.#prng.pick(edits), [EXTRA_LABEL]: value };
    const name = tenant.userId;
    await retrying(() =>
      this.#client.resource<Namespace>(namespaces).patch(name, { metadata: { labels } })
    );
    this.#ledger.extraLabels.set(name, {
      uid: namespace.metadata?.uid ?? "",
      labels: { [EXTRA_LABEL]: value },
    });
  }

  async #deleteNamespace(tenant: TenantRecord): Promise<void> {
    if (!await this.#owned(tenant)) return;
    this.#ledger.extraLabels.delete(tenant.userId);
    await retrying(() => this.#client.resource<Namespace>(namespaces).delete(tenant.userId));
  }

  async #tamper(tenant: TenantRecord): Promise<void> {
    if (!await this.#owned(tenant)) return;
    const namespace = tenant.userId;
    const quotas = this.#client.resource<ResourceQuota>(resourceQuotas);
    switch (this.#prng.between(0, 3)) {
      case 0:
        await retrying(() => quotas.delete("kleff-quota", { namespace }));
        return;
      case 1:
        await retrying(() =>
          quotas.patch("kleff-quota", { spec: { hard: { pods: "999" } } }, { namespace })
        );
        return;
      case 2:
        await retrying(() =>
          this.#client.resource(networkPolicies).delete("kleff-isolation", { namespace })
        );
        return;
      default:
        await retrying(() =>
          this.#client.resource(limitRanges).patch(
            "kleff-limits",
            { spec: { limits: [{ type: "Container", max: { cpu: "64" } }] } },
            { namespace },
          )
        );
    }
  }

  /** A ResourceQuota labelled like ours but without our annotation: it must survive untouched. */
  async #impostor(tenant: TenantRecord): Promise<void> {
    const namespace = await this.#owned(tenant);
    if (!namespace) return;
    const name = `user-quota-${this.#step}`;
    const created = await retrying(() =>
      this.#client.resource<ResourceQuota>(resourceQuotas).create({
        apiVersion: "v1",
        kind: "ResourceQuota",
        metadata: {
          name,
          namespace: tenant.userId,
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TENANT_LABEL]: tenant.name },
        },
        spec: { hard: { pods: "1" } },
      })
    );
    if (!created) return;
    this.#ledger.foreignObjects.push({
      namespace: tenant.userId,
      name,
      uid: created.metadata?.uid ?? "",
      resourceVersion: created.metadata?.resourceVersion ?? "",
      namespaceUid: namespace.metadata?.uid,
    });
  }

  async #hold(tenant: TenantRecord): Promise<void> {
    if (!await this.#owned(tenant)) return;
    const name = `hold-${this.#step}`;
    const created = await retrying(() =>
      this.#client.resource<ConfigMap>(configMaps).create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name, namespace: tenant.userId, finalizers: [HOLD_FINALIZER] },
        data: { why: "holds the namespace in Terminating" },
      })
    );
    if (created) this.#ledger.holds.push({ namespace: tenant.userId, name });
  }

  async #release(): Promise<void> {
    const index = this.#prng.between(0, this.#ledger.holds.length - 1);
    const [hold] = this.#ledger.holds.splice(index, 1);
    await releaseHold(this.#client, hold.namespace, hold.name);
  }
}

/** Removes the driver's finalizer from a hold ConfigMap (gone already is fine). */
export async function releaseHold(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<void> {
  await retrying(() =>
    client.resource<ConfigMap>(configMaps).patch(name, { metadata: { finalizers: null } }, {
      namespace,
    })
  );
}

/** Whether `namespace` carries `tenant`'s ownership annotation. */
function owns(namespace: Namespace, tenant: TenantRecord): boolean {
  return namespace.metadata?.annotations?.[TENANT_UID_ANNOTATION] === tenant.uid &&
    tenant.uid !== "";
}
