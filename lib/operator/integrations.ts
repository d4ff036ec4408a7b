// Which integration kinds the cluster serves (Istio's Gateway, AuthorizationPolicy,
// PeerAuthentication and Sidecar, Gatekeeper's constraint kinds), found through discovery of
// their three groups only, so the check is cheap enough to repeat on a timer and pick up CRDs
// installed after the operator started; and the plan catalogue in force, which takes effect
// together with its constraint kinds.
import type { KubeClient, ResourceDescriptor } from "../client/mod.ts";
import { preferredResource, type ServedResource } from "../client/mod.ts";
import { constraintKinds, type PlanCatalogue } from "../plans/mod.ts";
import {
  GATEKEEPER_CONSTRAINTS_GROUP,
  type Integrations,
  ISTIO_NETWORKING_GROUP,
  ISTIO_SECURITY_GROUP,
  NO_INTEGRATIONS,
  observationKey,
  sameIntegrations,
  servedKinds,
} from "../reconcile/mod.ts";
import { log } from "../log.ts";

/**
 * The integrations served now. `constraintKinds` are the Gatekeeper kinds to look for (others are
 * ignored). For each kind the group's preferred version is used when it serves it, else the
 * first version that does. API errors propagate (the caller keeps what it knew).
 */
export async function discoverIntegrations(
  client: KubeClient,
  constraintKinds: Iterable<string>,
  options: { signal?: AbortSignal } = {},
): Promise<Integrations> {
  const served = await client.discovery.serverResources({
    groups: [ISTIO_NETWORKING_GROUP, ISTIO_SECURITY_GROUP, GATEKEEPER_CONSTRAINTS_GROUP],
    signal: options.signal,
  });
  const find = (group: string, kind: string, namespaced: boolean) => {
    const found = preferredResource(served, group, kind);
    return found?.namespaced === namespaced ? descriptor(found) : undefined;
  };
  const constraints: Record<string, ResourceDescriptor> = {};
  for (const kind of constraintKinds) {
    const resource = find(GATEKEEPER_CONSTRAINTS_GROUP, kind, false);
    if (resource !== undefined) constraints[kind] = resource;
  }
  const gateway = find(ISTIO_NETWORKING_GROUP, "Gateway", true);
  const authorizationPolicy = find(ISTIO_SECURITY_GROUP, "AuthorizationPolicy", true);
  const peerAuthentication = find(ISTIO_SECURITY_GROUP, "PeerAuthentication", true);
  const sidecar = find(ISTIO_NETWORKING_GROUP, "Sidecar", true);
  return {
    ...(gateway ? { gateway } : {}),
    ...(authorizationPolicy ? { authorizationPolicy } : {}),
    ...(peerAuthentication ? { peerAuthentication } : {}),
    ...(sidecar ? { sidecar } : {}),
    constraints,
  };
}

/** The descriptor of a served kind, without what discovery adds. */
function descriptor(served: ServedResource): ResourceDescriptor {
  const { group, version, plural, kind, namespaced } = served;
  return { group, version, plural, kind, namespaced };
}

/** Options of {@linkcode IntegrationDiscovery}. */
export interface IntegrationDiscoveryOptions {
  /** The catalogue in force at start. */
  catalogue: PlanCatalogue;
  /** Called after the served integrations changed (not on the first, empty state). */
  onChange: (integrations: Integrations) => void;
}

/**
 * The catalogue in force and the integrations served, re-read by {@linkcode discover}: one
 * discovery at a time; a call while one runs queues one more run (shared by every call until it
 * starts) and resolves when that run is done.
 */
export class IntegrationDiscovery {
  readonly #client: KubeClient;
  readonly #onChange: (integrations: Integrations) => void;
  #catalogue: PlanCatalogue;
  #integrations: Integrations = NO_INTEGRATIONS;
  /** The discovery running, the one queued after it, and the catalogue the next one brings in. */
  #running?: Promise<boolean>;
  #queued?: Promise<boolean>;
  #nextCatalogue?: PlanCatalogue;

  /** Starts with no integration served; nothing is read until {@linkcode discover}. */
  constructor(client: KubeClient, options: IntegrationDiscoveryOptions) {
    this.#client = client;
    this.#catalogue = options.catalogue;
    this.#onChange = options.onChange;
  }

  /** The plan catalogue in force. */
  get catalogue(): PlanCatalogue {
    return this.#catalogue;
  }

  /** The integration kinds served, as last discovered. */
  get integrations(): Integrations {
    return this.#integrations;
  }

  /**
   * Puts `catalogue` in force at once. Use only when its constraint kinds equal the current
   * catalogue's; otherwise pass it to {@linkcode discover}.
   */
  setCatalogue(catalogue: PlanCatalogue): void {
    this.#catalogue = catalogue;
  }

  /**
   * Re-reads which integration kinds are served; a failed discovery keeps what was known. With
   * `catalogue`, that catalogue takes effect together with what is found for its constraint kinds
   * (or, should discovery fail, with what was known). Resolves to whether the integrations
   * changed (`onChange` was called).
   */
  discover(signal: AbortSignal, catalogue?: PlanCatalogue): Promise<boolean> {
    if (catalogue !== undefined) this.#nextCatalogue = catalogue;
    if (this.#queued !== undefined) return this.#queued;
    const running = this.#running;
    const start = () => this.#run(run, signal);
    const run: Promise<boolean> = (running ?? Promise.resolve()).then(start, start);
    if (running === undefined) this.#running = run;
    else this.#queued = run;
    return run;
  }

  /** Resolves when no discovery runs or waits (for shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([this.#running, this.#queued]);
  }

  async #run(run: Promise<boolean>, signal: AbortSignal): Promise<boolean> {
    if (this.#queued === run) this.#queued = undefined;
    this.#running = run;
    try {
      return await this.#once(signal);
    } finally {
      if (this.#running === run) this.#running = undefined;
    }
  }

  async #once(signal: AbortSignal): Promise<boolean> {
    const pending = this.#nextCatalogue;
    this.#nextCatalogue = undefined;
    // The catalogue's constraint kinds and every kind known so far: a kind dropped from the
    // catalogue stays known while it is served, so that constraints of that kind are still
    // pruned and torn down. A restart forgets such kinds: their constraints are then left alone.
    const kinds = new Set([
      ...constraintKinds(pending ?? this.#catalogue),
      ...Object.keys(this.#integrations.constraints),
    ]);
    let found = this.#integrations;
    try {
      found = await discoverIntegrations(this.#client, kinds, { signal });
    } catch (error) {
      if (signal.aborted) return false;
      log("manager").warn("discovery of integrations failed: {error}", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    if (pending !== undefined) this.#catalogue = pending;
    if (sameIntegrations(found, this.#integrations)) return false;
    log("manager").info("integrations served: {kinds}", {
      kinds: servedKinds(found).map(observationKey).join(", ") || "none",
    });
    this.#integrations = found;
    this.#onChange(found);
    return true;
  }
}
