// The write-only floor of `deno task bench peer`: only the three writes any operator must make
// per new Tenant (the finalizer, the namespace, the status), with a fixed number of workers,
// learning Tenants from one watch and reading nothing else. No operator can bring pending
// Tenants to Ready with fewer round trips, so its time is the floor the others are measured
// against. It checks nothing (no conflicts, no drift, no teardown): a yardstick, not an operator.
//
//   deno run --allow-net --allow-read --allow-env bench/write_floor.ts --kubeconfig PATH [--concurrency 8]
import { parseArgs } from "node:util";
import type { Namespace } from "kubernetes-types/core/v1.d.ts";
import {
  ConditionType,
  connect,
  ISTIO_INJECTION_LABEL,
  ISTIO_INJECTION_VALUE,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  namespaces,
  Reason,
  type Tenant,
  TENANT_FINALIZER,
  TENANT_LABEL,
  TENANT_PLAN_LABEL,
  TENANT_RESOURCE,
  TENANT_UID_ANNOTATION,
  TENANT_USERNAME_LABEL,
} from "../lib/client/mod.ts";

/** Whether the floor has nothing left to write for `tenant`. */
function isDone(tenant: Tenant): boolean {
  return Boolean(
    tenant.metadata?.finalizers?.includes(TENANT_FINALIZER) &&
      tenant.status?.conditions?.some((condition) =>
        condition.type === ConditionType.TenantReady && condition.status === "True"
      ),
  );
}

/** Runs the floor until SIGTERM or SIGINT. */
async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      kubeconfig: { type: "string" },
      concurrency: { type: "string", default: "8" },
    },
  });
  const client = await connect({ kubeconfig: values.kubeconfig });
  const tenants = client.resource<Tenant>(TENANT_RESOURCE);
  const namespaceClient = client.resource<Namespace>(namespaces);
  const stop = new AbortController();
  Deno.addSignalListener("SIGTERM", () => stop.abort());
  Deno.addSignalListener("SIGINT", () => stop.abort());
  const stopped = new Promise((resolve) => stop.signal.addEventListener("abort", resolve));

  const pending: Tenant[] = [];
  const seen = new Set<string>();
  let wake = Promise.withResolvers<void>();
  const write = async (tenant: Tenant) => {
    const name = tenant.metadata?.name ?? "";
    const userId = tenant.spec?.userId ?? "";
    const now = new Date().toISOString();
    await tenants.patch(name, {
      metadata: { finalizers: [...tenant.metadata?.finalizers ?? [], TENANT_FINALIZER] },
    });
    await namespaceClient.create({
      metadata: {
        name: userId,
        labels: {
          [ISTIO_INJECTION_LABEL]: ISTIO_INJECTION_VALUE,
          [TENANT_USERNAME_LABEL]: tenant.spec?.username ?? "",
          [TENANT_PLAN_LABEL]: tenant.spec?.plan ?? "",
          [TENANT_LABEL]: name,
          [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
        },
        annotations: { [TENANT_UID_ANNOTATION]: tenant.metadata?.uid ?? "" },
      },
    });
    const condition = (type: string, reason: string) => ({
      type,
      status: "True",
      reason,
      message: "",
      lastTransitionTime: now,
    });
    await tenants.patchStatus(name, {
      status: {
        namespace: userId,
        conditions: [
          condition(ConditionType.NamespaceReady, Reason.NamespaceActive),
          condition(ConditionType.TenantReady, Reason.Ready),
        ],
      },
    });
  };
  const worker = async () => {
    while (!stop.signal.aborted) {
      const tenant = pending.shift();
      if (!tenant) {
        await Promise.race([wake.promise, stopped]);
        continue;
      }
      try {
        await write(tenant);
      } catch (error) {
        console.error(`write floor: tenant ${tenant.metadata?.name}: ${error}`);
      }
    }
  };
  const workers = Array.from({ length: Number(values.concurrency) }, worker);
  try {
    for await (const event of tenants.watch({ signal: stop.signal })) {
      if (event.type === "SYNCED" || event.type === "DELETED") continue;
      const name = event.object.metadata?.name ?? "";
      if (seen.has(name) || isDone(event.object)) continue;
      seen.add(name);
      pending.push(event.object);
      wake.resolve();
      wake = Promise.withResolvers<void>();
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  }
  await Promise.all(workers);
  client.close();
}

if (import.meta.main) await main(Deno.args);
