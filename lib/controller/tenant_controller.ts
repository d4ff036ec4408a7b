// The thin I/O layer around the pure tenant decision: read the Tenant, its
// namespace and the per-tenant objects `observations` names fresh from the API
// server, ask `decide`, carry out the writes in order, write status only when
// it changed, record Events, and tell the work queue when to look again.
import type { Namespace } from "kubernetes-types/core/v1.d.ts";
import { type Tenant, TENANT_RESOURCE, type TenantStatus } from "../api/mod.ts";
import {
  ApiError,
  ConnectionError,
  isNotFound,
  type KubeClient,
  type KubeObjectBase,
  namespaces,
} from "../client/mod.ts";
import {
  type Action,
  decide,
  decideFailure,
  type Decision,
  describeAction,
  type HostClaim,
  observations,
  type ObservedKind,
  type PlanContext,
  tenantNamespaceName,
} from "../reconcile/mod.ts";
import type { WorkResult } from "../queue/mod.ts";
import type { EventRecorder } from "./event_recorder.ts";
import { log } from "../log.ts";

/** Thrown to make the work queue retry a tenant with backoff. */
export class ReconcileError extends Error {
  /** Builds the error naming the tenant and what went wrong. */
  constructor(tenant: string, detail: string, options?: ErrorOptions) {
    super(`reconcile of tenant ${tenant} failed: ${detail}`, options);
    this.name = "ReconcileError";
  }
}

/** Options of {@linkcode TenantController}. */
export interface TenantControllerOptions {
  /** Records the decisions' Events. */
  recorder: EventRecorder;
  /** The plan context in force (catalogue, served integrations, settings), read per reconcile. */
  context: () => PlanContext;
  /** Clock, for tests. */
  now?: () => Date;
  /**
   * Told each tenant's status after a reconcile (`undefined`: the tenant is gone) and the
   * namespace it observed, for metrics and for waking tenants waiting on a namespace.
   */
  onStatus?: (name: string, status: TenantStatus | undefined, namespace?: string) => void;
  /**
   * Told, before a decision's writes run, the namespace it gives the tenant (`status.namespace`),
   * so that events in that namespace reach the tenant from its first write on.
   */
  onNamespace?: (name: string, namespace: string | undefined) => void;
  /**
   * The gateway hosts claimed before this Tenant's that may overlap its own (see `HostClaim`);
   * none when absent.
   */
  hostClaims?: (tenant: Tenant, context: PlanContext) => readonly HostClaim[];
}

/** Summarises an error from the client for {@linkcode decideFailure}. */
function failureOf(error: unknown): { code: number; reason: string; message: string } | undefined {
  if (error instanceof ApiError) {
    return {
      code: error.code,
      reason: error.reason,
      message: error.status.message ?? error.message,
    };
  }
  if (error instanceof ConnectionError) return { code: 0, reason: "", message: error.message };
  return undefined;
}

/** Reconciles one Tenant per call, from fresh API state. */
export class TenantController {
  readonly #client: KubeClient;
  readonly #options: TenantControllerOptions;

  /** Creates the controller over a connected client. */
  constructor(client: KubeClient, options: TenantControllerOptions) {
    this.#client = client;
    this.#options = options;
  }

  /**
   * Reconciles the Tenant named `name`: the work queue's handler. Throws
   * {@linkcode ReconcileError} when the tenant must be retried with backoff.
   */
  async reconcile(name: string, signal: AbortSignal): Promise<WorkResult> {
    const tenants = this.#client.resource<Tenant>(TENANT_RESOURCE);
    let tenant: Tenant;
    try {
      tenant = await tenants.get(name, { signal });
    } catch (error) {
      if (isNotFound(error)) {
        this.#options.onStatus?.(name, undefined);
        return {};
      }
      throw new ReconcileError(name, `reading the tenant: ${errorText(error)}`, { cause: error });
    }
    const namespaceName = tenantNamespaceName(tenant);
    let namespace: Namespace | undefined;
    if (namespaceName !== undefined) {
      try {
        namespace = await this.#client.resource<Namespace>(namespaces).get(namespaceName, {
          signal,
        });
      } catch (error) {
        if (!isNotFound(error)) {
          throw new ReconcileError(
            name,
            `reading namespace ${namespaceName}: ${errorText(error)}`,
            {
              cause: error,
            },
          );
        }
      }
    }
    const context = this.#options.context();
    const objects = await this.#observe(name, tenant, namespace, context, signal);
    const now = this.#options.now ?? (() => new Date());
    let decision = decide(tenant, { namespace, objects }, {
      now: now(),
      context,
      hostClaims: this.#options.hostClaims?.(tenant, context),
    });
    this.#options.onNamespace?.(name, decision.status.namespace);
    if (decision.ignored) {
      log("controller").warn("tenant {tenant} ignored: {reason}", {
        tenant: name,
        reason: decision.ignored,
      });
    }
    let finalizerRemoved = false;
    let failed: string | undefined;
    let held = tenant;
    for (const action of decision.actions) {
      try {
        const created = await this.#execute(action, signal);
        if (action.kind === "recordNamespace") {
          held = withRecorded(held, { namespace: action.namespace });
        }
        if (action.kind === "create" && action.recordUid) {
          const uid = created?.metadata?.uid;
          held = withRecorded(held, { namespace: held.status?.namespace, namespaceUID: uid });
          decision = {
            ...decision,
            status: { ...decision.status, namespaceUID: uid },
            writeStatus: true,
          };
        }
        log("controller").info("tenant {tenant}: {action}", {
          tenant: name,
          action: describeAction(action),
        });
        if (action.kind === "removeFinalizer") finalizerRemoved = true;
      } catch (error) {
        const failure = failureOf(error);
        if (!failure || signal.aborted) throw error;
        decision = decideFailure(held, { ...failure, during: action }, { now: now() });
        failed = `${describeAction(action)}: ${failure.message}`;
        if (decision.requeue.kind !== "retry") {
          log("controller").warn("tenant {tenant}: {action} failed: {error}", {
            tenant: name,
            action: describeAction(action),
            error: failure.message,
          });
        }
        break;
      }
    }
    await this.#writeStatus(name, held, decision, finalizerRemoved, signal);
    this.#options.onStatus?.(
      name,
      finalizerRemoved ? undefined : decision.status,
      namespaceName,
    );
    // Queued, not awaited: Events are written in the background (and retried) by the recorder.
    for (const event of decision.events) this.#options.recorder.record(tenant, event);
    switch (decision.requeue.kind) {
      case "none":
        return {};
      case "after":
        return { requeueAfterMs: decision.requeue.seconds * 1000 };
      case "retry":
        log("controller").debug("tenant {tenant}: stale view, looking again", { tenant: name });
        return { retry: true };
      case "backoff":
        throw new ReconcileError(name, failed ?? "a request failed");
    }
  }

  /** Runs the LISTs the decision needs, in parallel; a kind that stopped being served is empty. */
  #observe(
    name: string,
    tenant: Tenant,
    namespace: Namespace | undefined,
    context: PlanContext,
    signal: AbortSignal,
  ): Promise<ObservedKind[]> {
    return Promise.all(
      observations(tenant, namespace, context).map(async (observation) => {
        try {
          const list = await this.#client.resource(observation.resource).list({
            namespace: observation.namespace,
            labelSelector: observation.labelSelector,
            fieldSelector: observation.fieldSelector,
            signal,
          });
          return { resource: observation.resource, items: list.items };
        } catch (error) {
          if (isNotFound(error)) return { resource: observation.resource, items: [] };
          throw new ReconcileError(
            name,
            `listing ${observation.resource.plural}${
              observation.namespace ? ` in ${observation.namespace}` : ""
            }: ${errorText(error)}`,
            { cause: error },
          );
        }
      }),
    );
  }

  async #writeStatus(
    name: string,
    tenant: Tenant,
    decision: Decision,
    finalizerRemoved: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    if (!decision.writeStatus || finalizerRemoved) return;
    const status: Record<string, unknown> = { ...decision.status };
    for (const key of Object.keys(tenant.status ?? {})) {
      if (status[key] === undefined) status[key] = null;
    }
    try {
      await this.#client.resource<Tenant>(TENANT_RESOURCE).patchStatus(name, { status }, {
        type: "merge",
        signal,
      });
    } catch (error) {
      if (isNotFound(error) && tenant.metadata?.deletionTimestamp) return;
      throw new ReconcileError(name, `writing status: ${errorText(error)}`, { cause: error });
    }
  }

  /** Runs one write; a create resolves to the created object. */
  async #execute(action: Action, signal: AbortSignal): Promise<KubeObjectBase | undefined> {
    const resource = this.#client.resource(action.resource);
    switch (action.kind) {
      case "addFinalizer":
      case "removeFinalizer":
      case "patch":
        await resource.patch(action.name, action.patch, {
          type: "merge",
          namespace: action.kind === "patch" ? action.namespace : undefined,
          signal,
        });
        return;
      case "recordNamespace":
        await resource.patchStatus(action.name, action.patch, { type: "merge", signal });
        return;
      case "create":
        return await resource.create(action.object, { namespace: action.namespace, signal });
      case "delete":
        await resource.delete(action.name, {
          namespace: action.namespace,
          preconditions: action.preconditions,
          signal,
        });
        return;
    }
  }
}

/**
 * The Tenant as a status write left it: `status.namespace` and `status.namespaceUID` replaced
 * (an absent uid removed), the rest as read.
 */
function withRecorded(
  tenant: Tenant,
  recorded: { namespace?: string; namespaceUID?: string },
): Tenant {
  const { namespaceUID: _, ...status } = tenant.status ?? {};
  return {
    ...tenant,
    status: {
      ...status,
      namespace: recorded.namespace,
      ...(recorded.namespaceUID === undefined ? {} : { namespaceUID: recorded.namespaceUID }),
    },
  };
}

/** An error's message without its stack. */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
