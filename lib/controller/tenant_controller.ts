// The thin I/O layer around the pure tenant decision: take the Tenant the watch
// delivered (or read it when that one may predate an own write), read its
// namespace and the per-tenant objects `observations` names (nothing for a new
// tenant, whose objects are all created now), ask `decide`, carry out the writes
// stage by stage, each noted in the own-writes record, write status only when it
// changed, record Events, and tell the work queue when to look again.
import type { Namespace } from "kubernetes-types/core/v1.d.ts";
import {
  NAMESPACE_CLAIM_ANNOTATION,
  type Tenant,
  TENANT_RESOURCE,
  type TenantStatus,
} from "../api/mod.ts";
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
  type ActionFailure,
  actionStages,
  claimOf,
  decide,
  decideFailure,
  type Decision,
  describeAction,
  type HostClaim,
  isNewTenant,
  isTenantPatch,
  observationKey,
  observations,
  type ObservedKind,
  type PlanContext,
  tenantNamespaceName,
  tenantPatchApplies,
} from "../reconcile/mod.ts";
import type { WorkResult } from "../queue/mod.ts";
import type { EventRecorder } from "./event_recorder.ts";
import { ownWriteKey, type OwnWrites } from "./own_writes.ts";
import { log } from "../log.ts";

/** The {@linkcode OwnWrites} key of Tenant `name`. */
export function tenantWriteKey(name: string): string {
  return ownWriteKey(observationKey(TENANT_RESOURCE), undefined, name);
}

/** The {@linkcode OwnWrites} key of the object an action writes. */
function actionWriteKey(action: Action): string {
  const name = action.kind === "create" ? action.object.metadata?.name ?? "" : action.name;
  const namespace = action.kind === "create" || action.kind === "patch" ||
      action.kind === "delete"
    ? action.namespace
    : undefined;
  return ownWriteKey(observationKey(action.resource), namespace, name);
}

/** The resourceVersion of the object a write answered with (none for a `Status`). */
function answeredVersion(answer: unknown): string | undefined {
  if (typeof answer !== "object" || answer === null) return undefined;
  const object = answer as KubeObjectBase;
  if (object.kind === "Status") return undefined;
  return object.metadata?.resourceVersion;
}

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
  /** Where every write is noted, so that its watch echo causes no reconcile (none: not noted). */
  ownWrites?: OwnWrites;
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

/**
 * Reconciles one Tenant per call, from the Tenant its watch delivered when that one is at least as
 * new as every own write to it, else from fresh API state.
 */
export class TenantController {
  readonly #client: KubeClient;
  readonly #options: TenantControllerOptions;
  /** Creates the controller over a connected client. */
  constructor(client: KubeClient, options: TenantControllerOptions) {
    this.#client = client;
    this.#options = options;
  }

  /**
   * Reconciles the Tenant named `name`: the work queue's handler. `carried` is the Tenant as its
   * watch last delivered it, if the queue held one (the manager withholds it after a reconcile
   * that did not end well: then everything is read afresh): it replaces a GET when it is at least
   * as new as every own write to the Tenant (see `OwnWrites.covers`). Throws
   * {@linkcode ReconcileError} when the tenant must be retried with backoff.
   */
  async reconcile(name: string, signal: AbortSignal, carried?: Tenant): Promise<WorkResult> {
    const ownWrites = this.#options.ownWrites;
    const usable = carried !== undefined &&
      (ownWrites?.covers(tenantWriteKey(name), carried.metadata?.resourceVersion) ?? true);
    const tenant = usable ? carried : await this.#read(name, signal);
    if (tenant === undefined) {
      this.#options.onStatus?.(name, undefined);
      ownWrites?.forget(tenantWriteKey(name));
      return {};
    }
    const context = this.#options.context();
    // A new tenant's namespace is created without a read (a 409 says someone else has it: the
    // retry reads everything), and nothing is listed in it: it is created in this reconcile.
    const fresh = usable && isNewTenant(tenant);
    const namespaceName = tenantNamespaceName(tenant);
    let namespace: Namespace | undefined;
    if (namespaceName !== undefined && !fresh) {
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
    const objects = fresh ? [] : await this.#observe(name, tenant, namespace, context, signal);
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
    for (const stage of actionStages(decision.actions)) {
      const outcomes = await Promise.allSettled(
        stage.map((action) => this.#execute(action, signal)),
      );
      let failure: ActionFailure | undefined;
      for (const [index, action] of stage.entries()) {
        const outcome = outcomes[index];
        if (outcome.status === "rejected") {
          const summary = failureOf(outcome.reason);
          if (!summary || signal.aborted) throw outcome.reason;
          failure ??= { during: action, ...summary };
          continue;
        }
        if (action.kind === "recordNamespace") {
          held = withRecorded(held, { namespace: action.namespace });
        }
        const claim = claimOf(action);
        if (claim !== undefined) held = withClaim(held, claim);
        if (action.kind === "create" && action.recordUid) {
          const uid = outcome.value?.metadata?.uid;
          held = withRecorded(held, { namespace: held.status?.namespace, namespaceUID: uid });
          decision = {
            ...decision,
            status: { ...decision.status, namespaceUID: uid },
            writeStatus: true,
          };
        }
        logWrite(name, action);
        if (action.kind === "removeFinalizer") finalizerRemoved = true;
      }
      if (failure !== undefined) {
        const action = failure.during;
        if (failure.code === 422 && isTenantPatch(action)) {
          failure.stale = !tenantPatchApplies(action, await this.#read(name, signal));
        }
        decision = decideFailure(held, failure, { now: now() });
        failed = `${describeAction(action)}: ${failure.message}`;
        // The failure's own write (withdrawing a claim) goes before its status.
        for (const next of decision.actions) {
          try {
            await this.#execute(next, signal);
            logWrite(name, next);
          } catch (error) {
            const summary = failureOf(error);
            if (!summary || signal.aborted) throw error;
            failed = `${describeAction(next)}: ${summary.message}`;
            decision = { ...decision, requeue: { kind: "backoff" } };
            break;
          }
        }
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

  /**
   * The Tenant as stored now, `undefined` when it is gone (also read after a refused finalizer
   * patch, to tell a stale view from a rejection).
   */
  async #read(name: string, signal: AbortSignal): Promise<Tenant | undefined> {
    try {
      return await this.#client.resource<Tenant>(TENANT_RESOURCE).get(name, { signal });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new ReconcileError(name, `reading the tenant: ${errorText(error)}`, { cause: error });
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
    const answered = this.#options.ownWrites?.begin(tenantWriteKey(name));
    try {
      const written = await this.#client.resource<Tenant>(TENANT_RESOURCE).patchStatus(
        name,
        { status },
        { type: "merge", signal },
      );
      answered?.(answeredVersion(written));
    } catch (error) {
      answered?.(undefined);
      if (isNotFound(error) && tenant.metadata?.deletionTimestamp) return;
      throw new ReconcileError(name, `writing status: ${errorText(error)}`, { cause: error });
    }
  }

  /** Runs one write, noted in the own-writes record; resolves to the object it answered with. */
  async #execute(action: Action, signal: AbortSignal): Promise<KubeObjectBase | undefined> {
    const answered = this.#options.ownWrites?.begin(actionWriteKey(action));
    try {
      const written = await this.#send(action, signal);
      answered?.(answeredVersion(written));
      return written;
    } catch (error) {
      answered?.(undefined);
      throw error;
    }
  }

  /** Sends one write; resolves to what the API server answered. */
  async #send(action: Action, signal: AbortSignal): Promise<KubeObjectBase | undefined> {
    const resource = this.#client.resource(action.resource);
    switch (action.kind) {
      case "addFinalizer":
      case "removeFinalizer":
      case "claimNamespace":
      case "withdrawClaim":
        return await resource.patch(action.name, action.patch, { type: "json", signal });
      case "patch":
        return await resource.patch(action.name, action.patch, {
          type: "merge",
          namespace: action.namespace,
          signal,
        });
      case "recordNamespace":
        return await resource.patchStatus(action.name, action.patch, { type: "merge", signal });
      case "create":
        return await resource.create(action.object, { namespace: action.namespace, signal });
      case "delete": {
        const answer = await resource.delete(action.name, {
          namespace: action.namespace,
          preconditions: action.preconditions,
          signal,
        });
        return answer.kind === "Status" ? undefined : answer as KubeObjectBase;
      }
    }
  }
}

/** Logs a write that succeeded for tenant `name`. */
function logWrite(name: string, action: Action): void {
  log("controller").info("tenant {tenant}: {action}", {
    tenant: name,
    action: describeAction(action),
  });
}

/** The Tenant as a claim left it: the claim annotation set to `namespace`, the rest as read. */
function withClaim(tenant: Tenant, namespace: string): Tenant {
  const metadata = tenant.metadata ?? {};
  return {
    ...tenant,
    metadata: {
      ...metadata,
      annotations: { ...metadata.annotations, [NAMESPACE_CLAIM_ANNOTATION]: namespace },
    },
  };
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
