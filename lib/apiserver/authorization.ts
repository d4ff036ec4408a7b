// Authorization of the dev API server: everyone may do anything by default,
// and in RBAC mode service-account identities are held to the Roles and
// ClusterRoles stored in the server, as kube-apiserver's RBAC authorizer does,
// while every permission they used is recorded for least-privilege checks.
import {
  authorize,
  discoveryAllowed,
  forbiddenDetails,
  permissionKey,
  rbacObjectsFrom,
} from "./rbac.ts";
import type { ObjectStore } from "./store.ts";
import { ApiError } from "./status.ts";
import type { Identity, KubeObject } from "./types.ts";

/** How requests are authorized: everything allowed, or kube's RBAC. */
export type AuthorizationMode = "AlwaysAllow" | "RBAC";

/** A request to authorize: a resource request or a non-resource path. */
export type AuthorizationTarget =
  | {
    verb: string;
    apiGroup: string;
    resource: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  }
  | { verb: string; nonResourcePath: string };

const RBAC_KEYS = [
  "rbac.authorization.k8s.io/roles",
  "rbac.authorization.k8s.io/clusterroles",
  "rbac.authorization.k8s.io/rolebindings",
  "rbac.authorization.k8s.io/clusterrolebindings",
];

/** Decides requests; throws a 403 Status error when RBAC denies one. */
export class Authorizer {
  readonly #store: ObjectStore;
  readonly #mode: AuthorizationMode;
  readonly #used = new Map<string, Set<string>>();

  /** Creates the authorizer over the server's object store. */
  constructor(store: ObjectStore, mode: AuthorizationMode) {
    this.#store = store;
    this.#mode = mode;
  }

  /** Throws {@linkcode ApiError} 403 unless `identity` may do `target`. */
  check(identity: Identity, target: AuthorizationTarget): void {
    if (this.#mode === "AlwaysAllow" || identity.groups.includes("system:masters")) return;
    if ("nonResourcePath" in target && discoveryAllowed(target.nonResourcePath)) return;
    const objects: KubeObject[] = [];
    for (const key of RBAC_KEYS) {
      for (const entry of this.#store.list(key)) objects.push(entry.object);
    }
    const request = "nonResourcePath" in target
      ? { verb: target.verb, apiGroup: "", resource: "", nonResourcePath: target.nonResourcePath }
      : target;
    const decision = authorize(identity, request, rbacObjectsFrom(objects));
    if (!decision.allowed) {
      throw new ApiError(403, "Forbidden", decision.reason, forbiddenDetails(request));
    }
    if (!("nonResourcePath" in target)) {
      const resource = target.subresource
        ? `${target.resource}/${target.subresource}`
        : target.resource;
      let used = this.#used.get(identity.username);
      if (!used) this.#used.set(identity.username, used = new Set());
      used.add(permissionKey(target.verb, target.apiGroup, resource));
    }
  }

  /** Permissions (`verb group/resource` keys) RBAC granted to `username` so far. */
  usedPermissions(username: string): Set<string> {
    return new Set(this.#used.get(username) ?? []);
  }
}
