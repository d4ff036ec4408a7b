// The reconcile decision of one Tenant: finalizer, namespace, per-plan resources, policies,
// status, events, requeue, from the Tenant, its observed objects and the plan context alone (no
// I/O, no clock but `options.now`).
import { ConditionType, Reason } from "../api/mod.ts";
import { type Decision, type Requeue, withFinalizer } from "./actions.ts";
import { buildConditions, type ConditionInput, summarize } from "./conditions.ts";
import type { PlanContext } from "./context.ts";
import type { HostClaim } from "./hosts.ts";
import { transitionEvents } from "./events.ts";
import type { DesiredObject, ObservedKind, PlanStep } from "./managed.ts";
import { namespaceStep, readNamespace } from "./namespace.ts";
import { policiesStep } from "./policies.ts";
import { planQuotaSummary, resourcesStep } from "./resources.ts";
import { hasFinalizer, readTenant, type TenantView } from "./spec.ts";
import { ignored, keptStatus, tenantStatus, unchanged, withStatus } from "./status.ts";
import { teardownStep } from "./teardown.ts";

/** What the executor observed, read from the API server just before deciding. */
export interface Observed {
  /**
   * The Namespace named {@linkcode tenantNamespaceName} (as returned by a GET), or `undefined` when
   * the GET answered 404 or no name applies.
   */
  namespace?: unknown;
  /** The results of the LISTs {@linkcode observations} asked for (absent kinds count as empty). */
  objects?: ObservedKind[];
}

/** Options of {@linkcode decide}. */
export interface DecideOptions {
  /** The current time (condition `lastTransitionTime`). */
  now: Date;
  /** The plan catalogue, served integrations and platform settings. */
  context: PlanContext;
  /**
   * Gateway hosts of the tenants that claimed theirs before this one and may overlap its own
   * (default none): the operator's index of every Tenant provides them (see `HostClaim`).
   */
  hostClaims?: readonly HostClaim[];
}

/**
 * The namespace the executor must GET before calling {@linkcode decide}: the recorded namespace
 * once set (`status.namespace` pins the name even if `spec.userId` is changed), else a valid
 * `spec.userId`, else `undefined` (observe nothing).
 */
export function tenantNamespaceName(tenant: unknown): string | undefined {
  const reading = readTenant(tenant);
  return reading.ok ? reading.tenant.recordedNamespace ?? reading.tenant.userId : undefined;
}

/**
 * Decides what to do for a Tenant (untyped JSON, as the API server sent it). Never throws.
 *
 * A Tenant without the finalizer gets the finalizer patch (which claims the namespace) and, in the
 * same decision, the namespace create and the creates of its per-plan objects: one write per object
 * plus the finalizer and the status in one reconcile. This is safe because the finalizer patch
 * tests the Tenant's uid and finalizers as read and the executor stops after the first stage with
 * a failed action: the namespace is only created once the finalizer is stored, so a Tenant deleted
 * in between stays (with `deletionTimestamp`) until teardown has removed the namespace, which
 * carries its uid annotation. A Tenant deleted (or recreated) before the patch makes the patch fail
 * (404, or 422 for a failed test, which the executor tells apart from a rejection) and nothing is
 * created.
 *
 * A Tenant already correct gets zero actions, zero events and an identical status.
 */
export function decide(tenant: unknown, observed: Observed, options: DecideOptions): Decision {
  return decideAndPlan(tenant, observed, options).decision;
}

/** A {@linkcode decide} decision with the per-tenant objects the Tenant's plan wants. */
export interface PlannedDecision {
  /** The decision. */
  decision: Decision;
  /**
   * The per-tenant objects (besides the namespace) the plan wants in place, whether or not they
   * are; none for a Tenant being deleted or whose namespace cannot be used.
   */
  desired: readonly DesiredObject[];
}

/**
 * {@linkcode decide}, and the objects the Tenant's plan wants: what restarts and resyncs compare
 * the cluster's objects with (see `auditTenant`).
 */
export function decideAndPlan(
  tenant: unknown,
  observed: Observed,
  options: DecideOptions,
): PlannedDecision {
  const reading = readTenant(tenant);
  if (!reading.ok) return { decision: ignored(reading.problem), desired: [] };
  return decideFor(reading.tenant, observed, options);
}

function decideFor(view: TenantView, observed: Observed, options: DecideOptions): PlannedDecision {
  const namespace = readNamespace(observed.namespace);
  const build = { generation: view.generation, now: options.now };
  const objects = observed.objects ?? [];
  if (view.deleting) {
    if (!hasFinalizer(view)) return { decision: unchanged(view, { kind: "none" }), desired: [] };
    const step = teardownStep(view, namespace, {
      objects,
      reserved: options.context.reservedNamespaces,
    });
    if (step.conditions === undefined) {
      return {
        decision: { ...unchanged(view, step.requeue), actions: step.actions, events: step.events },
        desired: [],
      };
    }
    const conditions = buildConditions(view.conditions, step.conditions, build);
    const status = keptStatus(view, conditions);
    return {
      decision: withStatus(view, {
        actions: step.actions,
        events: step.events,
        requeue: step.requeue,
        status,
      }),
      desired: [],
    };
  }
  const plan = view.spec === undefined
    ? undefined
    : options.context.catalogue.plans.get(view.spec.plan);
  const step = namespaceStep(view, namespace, {
    podSecurity: plan?.podSecurity ?? "restricted",
    reserved: options.context.reservedNamespaces,
  });
  const steps: PlanStep[] = [];
  if (step.condition.status === "True" && step.namespace !== undefined && view.spec) {
    steps.push(
      resourcesStep(view, step.namespace, {
        plan,
        observed: objects,
        planName: view.spec.plan,
        catalogue: options.context.catalogue,
      }),
      policiesStep(view, step.namespace, {
        plan,
        observed: objects,
        context: options.context,
        hostClaims: options.hostClaims ?? [],
      }),
    );
  }
  const inputs = [
    step.condition,
    ...(steps.length > 0 ? steps.map((item) => item.condition) : waitingForNamespace()),
  ];
  const conditions = buildConditions(view.conditions, [...inputs, summarize(inputs)], build);
  const actions = [...step.actions, ...steps.flatMap((item) => item.actions)];
  const decision = withStatus(view, {
    actions: hasFinalizer(view) ? actions : withFinalizer(view, actions),
    events: [
      ...step.events,
      ...steps.flatMap((item) => item.events),
      ...transitionEvents(view.conditions, conditions),
    ],
    requeue: steps.reduce(
      (requeue, item) => earliest(requeue, item.requeueSeconds),
      step.requeue,
    ),
    status: tenantStatus(view, {
      namespace: step.namespace,
      namespaceUID: step.namespaceUID,
      conditions,
      quota: steps.length > 0 ? planQuotaSummary(plan) : undefined,
    }),
  });
  return { decision, desired: steps.flatMap((item) => item.desired) };
}

/** ResourcesReady and PoliciesReady while the namespace cannot be used. */
function waitingForNamespace(): ConditionInput[] {
  return [ConditionType.ResourcesReady, ConditionType.PoliciesReady].map((type) => ({
    type,
    status: "Unknown",
    reason: Reason.NamespaceNotReady,
    message: "waiting for the namespace to be ready",
  }));
}

/** `requeue`, or an earlier look `seconds` from now. */
function earliest(requeue: Requeue, seconds: number | undefined): Requeue {
  if (seconds === undefined || requeue.kind === "backoff" || requeue.kind === "retry") {
    return requeue;
  }
  if (requeue.kind === "after" && requeue.seconds <= seconds) return requeue;
  return { kind: "after", seconds };
}
