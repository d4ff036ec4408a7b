// An audit pass over streamed objects: settled tenants whose objects match are not queued; a
// missing, drifted or stolen object, one of ours no longer wanted, a kind never listed or an
// earlier host claim queues exactly the tenant concerned.
import assert from "node:assert/strict";
import type { Tenant } from "../../../lib/api/mod.ts";
import { Audit } from "../../../lib/operator/audit.ts";
import { TenantIndex } from "../../../lib/operator/tenant_index.ts";
import type { ObservedKind, PlanContext } from "../../../lib/reconcile/mod.ts";
import { namespaces, type ResourceDescriptor } from "../../../lib/client/mod.ts";
import { BUILTIN, FULL, newTenant, ready, type World } from "../reconcile/support.ts";

type Json = Record<string, unknown>;

/** `count` ready tenants t0, t1, ... (namespace ns-t<i>, user user<i>). */
function worlds(count: number, context: PlanContext): World[] {
  return Array.from({ length: count }, (_, i) => ready(context, newTenant(`t${i}`, `user${i}`)));
}

/** The kinds of every world, in listing order. */
function kinds(all: World[]): ObservedKind[] {
  const byPlural = new Map<string, ObservedKind>();
  for (const world of all) {
    for (const kind of world.objects) {
      let merged = byPlural.get(kind.resource.plural);
      if (!merged) {
        byPlural.set(kind.resource.plural, merged = { resource: kind.resource, items: [] });
      }
      merged.items.push(...kind.items);
    }
  }
  return [...byPlural.values()];
}

/** Runs a whole pass: tenants, namespaces, then each kind (`skip`: one never listed). */
function pass(
  all: World[],
  context: PlanContext,
  options: { edit?: (world: World, i: number) => void; skip?: string } = {},
): string[] {
  const index = new TenantIndex({ gatewayHosts: context.gatewayHosts });
  const queued: string[] = [];
  const audit = new Audit({ index, context: () => context, queue: (name) => queued.push(name) });
  const edited = all.map((world, i) => {
    const copy = structuredClone(world);
    options.edit?.(copy, i);
    return copy;
  });
  for (const world of edited) index.update(world.tenant as Tenant);
  for (const world of edited) audit.tenant(world.tenant as Tenant);
  audit.tenantsDone();
  for (const world of edited) {
    if (Object.keys(world.namespace).length) audit.object(namespaces, world.namespace);
  }
  audit.kindDone(namespaces);
  for (const kind of kinds(edited)) {
    if (kind.resource.plural === options.skip) continue;
    for (const item of kind.items) audit.object(kind.resource, item as Json);
    audit.kindDone(kind.resource);
  }
  audit.close();
  return queued.sort();
}

function find(world: World, plural: string): { resource: ResourceDescriptor; object: Json } {
  const kind = world.objects.find((item) => item.resource.plural === plural)!;
  return { resource: kind.resource, object: kind.items[0] as Json };
}

Deno.test("settled tenants whose objects are as planned are not queued", () => {
  for (const context of [BUILTIN, FULL]) {
    assert.deepEqual(pass(worlds(3, context), context), []);
  }
});

Deno.test("each change queues exactly its tenant", () => {
  const all = worlds(6, FULL);
  const queued = pass(all, FULL, {
    edit: (world, i) => {
      if (i === 0) ((find(world, "resourcequotas").object.spec as Json).hard as Json).pods = "99";
      if (i === 1) {
        const kind = world.objects.find((item) => item.resource.plural === "limitranges")!;
        kind.items = [];
      }
      if (i === 2) (find(world, "k8sallowedrepos").object.metadata as Json).annotations = {};
      if (i === 3) {
        const extra = structuredClone(find(world, "networkpolicies").object);
        (extra.metadata as Json).name = "kleff-old";
        world.objects.find((item) => item.resource.plural === "networkpolicies")!.items.push(extra);
      }
      if (i === 4) world.namespace = {};
      if (i === 5) (world.tenant.metadata as Json).generation = 7;
    },
  });
  assert.deepEqual(queued, ["t0", "t1", "t2", "t3", "t4", "t5"]);
});

Deno.test("a kind never listed queues the tenants expecting it; a closed pass queues the rest", () => {
  const all = worlds(2, BUILTIN);
  assert.deepEqual(pass(all, BUILTIN, { skip: "limitranges" }), ["t0", "t1"]);
  const index = new TenantIndex({ gatewayHosts: BUILTIN.gatewayHosts });
  const queued: string[] = [];
  const audit = new Audit({ index, context: () => BUILTIN, queue: (name) => queued.push(name) });
  audit.close();
  audit.tenant(all[0].tenant as Tenant);
  assert.deepEqual(queued, ["t0"], "after close nothing is compared: it is queued");
});

Deno.test("an earlier claim on its gateway hosts queues a settled tenant", () => {
  // Both decided without the other's claim: the later one must be looked at.
  const sharing = (context: PlanContext) =>
    [0, 1].map((i) => {
      const tenant = newTenant(`t${i}`, "shared");
      (tenant.metadata as Json).creationTimestamp = `2025-01-0${i + 1}T00:00:00Z`;
      return ready(context, tenant);
    });
  assert.deepEqual(pass(sharing(FULL), FULL), ["t1"]);
  assert.deepEqual(pass(sharing(BUILTIN), BUILTIN), [], "without Istio, no Gateway");
});

Deno.test("a pass over more objects than its first slab still compares each with its own digest", () => {
  const all = worlds(1, FULL);
  const per = 1 + all[0].objects.reduce((sum, kind) => sum + kind.items.length, 0);
  // Copies of one ready world under other names: enough items to outgrow 1,024 slab slots.
  const count = Math.ceil(2048 / per) + 1;
  const many = Array.from({ length: count }, (_, i) => ready(FULL, newTenant(`t${i}`, `user${i}`)));
  const last = count - 1;
  const queued = pass(many, FULL, {
    edit: (world, i) => {
      if (i === 0 || i === last) {
        ((find(world, "resourcequotas").object.spec as Json).hard as Json).pods = "99";
      }
      if (i === Math.floor(count / 2)) {
        (find(world, "k8sallowedrepos").object.metadata as Json).annotations = {};
      }
    },
  });
  assert.deepEqual(queued, ["t0", `t${Math.floor(count / 2)}`, `t${last}`].sort());
});
