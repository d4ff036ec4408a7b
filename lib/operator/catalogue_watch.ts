// Follows the plan catalogue ConfigMap: a valid edit takes effect (with its new constraint kinds
// discovered first) and every tenant is audited against it; an invalid one is refused with a log
// line and a Warning Event on the ConfigMap, the last good catalogue staying in force.
import { EventReason } from "../api/mod.ts";
import type { KubeClient, WatchTimings } from "../client/mod.ts";
import type { EventRecorder } from "../controller/mod.ts";
import { changedPlans, constraintKinds } from "../plans/mod.ts";
import { log } from "../log.ts";
import type { IntegrationDiscovery } from "./integrations.ts";
import { describeSource, type PlanSource, watchPlans } from "./plan_source.ts";
import type { WatchGroup } from "./watch_group.ts";

/** The name of the catalogue ConfigMap watch. */
export const PLANS_WATCH = "plans";

/** What {@linkcode followCatalogue} needs. */
export interface FollowCatalogueOptions {
  /** The ConfigMap to follow. */
  source: Extract<PlanSource, { kind: "configMap" }>;
  /** Runs the loop and tracks its health. */
  group: WatchGroup;
  /** Records the Warning Event of a refused edit. */
  recorder: EventRecorder;
  /** Holds the catalogue in force and discovers new constraint kinds. */
  discovery: IntegrationDiscovery;
  /**
   * Audits every tenant (after a change): those the new catalogue changes are reconciled, every
   * tenant when the audit cannot list.
   */
  audit: () => void;
  /** Watch timing overrides (tests). */
  timings?: WatchTimings;
  /** Stops following. */
  signal: AbortSignal;
}

/** Follows the catalogue ConfigMap until `options.signal` aborts. */
export function followCatalogue(
  client: KubeClient,
  options: FollowCatalogueOptions,
): Promise<void> {
  const { source, group, recorder, discovery, audit, timings, signal } = options;
  return group.consume(PLANS_WATCH, signal, async () => {
    const updates = watchPlans(client, source, {
      signal,
      timings,
      onHealth: group.onHealth(PLANS_WATCH),
    });
    for await (const update of updates) {
      if (update.kind === "deleted") {
        log("manager").warn("{source} was deleted: the last good plan catalogue stays in force", {
          source: describeSource(source),
        });
      } else if (update.kind === "invalid") {
        log("manager").error("{error}; the last good plan catalogue stays in force", {
          error: update.error.message,
        });
        recorder.record(
          { apiVersion: "v1", kind: "ConfigMap", ...update.configMap },
          {
            type: "Warning",
            reason: EventReason.InvalidPlanCatalogue,
            message: `${update.error.message}\nthe last good plan catalogue stays in force`,
          },
        );
      } else {
        const changed = changedPlans(discovery.catalogue, update.catalogue);
        if (changed.length === 0) continue;
        log("manager").info("plan catalogue updated from {source}: plans {plans} changed", {
          source: describeSource(source),
          plans: changed.join(", "),
        });
        if (
          constraintKinds(update.catalogue).join() !== constraintKinds(discovery.catalogue).join()
        ) {
          // Its new constraint kinds are discovered first, so that the catalogue takes effect
          // together with them (reconciles never see its kinds as not installed meanwhile); a
          // change of the served kinds starts the audit itself.
          if (await discovery.discover(signal, update.catalogue)) continue;
        } else discovery.setCatalogue(update.catalogue);
        // Every tenant is compared with its plan, not just those of the changed plans (a plan's
        // tenants are not known without a list); an audit that cannot list queues them all.
        audit();
      }
    }
  });
}
