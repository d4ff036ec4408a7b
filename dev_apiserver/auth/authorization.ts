// Authorization of the dev API server: everyone may do anything by default,
// and in RBAC mode service-account identities are held to the Roles and
// ClusterRoles stored in the server, as kube-apiserver's RBAC authorizer does,
// while every permission they used is recorded for least-privilege checks.
import {
  type AuthorizationRequest,
  authorize,
  discoveryAllowed,
  forbiddenDetails,
  permissionKey,
  type RbacObjects,
  rbacObjectsFrom,
} from "./rbac.ts";
import type { ObjectStore } from "../storage/store.ts";
import { ApiError } from "../http/status.ts";
import type { Identity, KubeObject } from "../types.ts";

/** How requests are authorized: everything allowed, or kube's RBAC. */
export type AuthorizationMode = "AlwaysAllow" | "RBAC";

const RBAC_KEYS: readonly string[] = [
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
  /** The RBAC objects as of the last RBAC write; undefined until needed again. */
  #rbac?: RbacObjects;

  /** Creates the authorizer over the server's object store. */
  constructor(store: ObjectStore, mode: AuthorizationMode) {
    this.#store = store;
    this.#mode = mode;
    store.subscribe((event) => {
      if (RBAC_KEYS.includes(event.key)) this.#rbac = undefined;
    });
  }

  /** Throws {@linkcode ApiError} 403 unless `identity` may do `request`. */
  check(identity: Identity, request: AuthorizationRequest): void {
    if (this.#mode === "AlwaysAllow" || identity.groups.includes("system:masters")) return;
    const path = request.nonResourcePath;
    if (path !== undefined && discoveryAllowed(path, request.verb)) return;
    const decision = authorize(identity, request, this.#rbacObjects());
    if (!decision.allowed) {
      throw new ApiError(403, "Forbidden", decision.reason, forbiddenDetails(request));
    }
    if (path === undefined) {
      const resource = request.subresource
        ? `${request.resource}/${request.subresource}`
        : request.resource;
      let used = this.#used.get(identity.username);
      if (!used) this.#used.set(identity.username, used = new Set());
      used.add(permissionKey(request.verb, request.apiGroup, resource));
    }
  }

  /**
   * Decides `request` for `identity` without recording anything, as a SubjectAccessReview asks:
   * allowed with the granting reason, or not allowed with RBAC's own reason ("" when it has none).
   */
  review(identity: Identity, request: AuthorizationRequest): { allowed: boolean; reason: string } {
    if (this.#mode === "AlwaysAllow" || identity.groups.includes("system:masters")) {
      return { allowed: true, reason: "" };
    }
    const path = request.nonResourcePath;
    if (
      path !== undefined && identity.groups.includes("system:authenticated") &&
      discoveryAllowed(path, request.verb)
    ) {
      return { allowed: true, reason: "" };
    }
    const decision = authorize(identity, request, this.#rbacObjects());
    return { allowed: decision.allowed, reason: decision.rbacReason };
  }

  #rbacObjects(): RbacObjects {
    if (!this.#rbac) {
      const objects: KubeObject[] = [];
      for (const key of RBAC_KEYS) {
        for (const entry of this.#store.list(key)) objects.push(entry.object);
      }
      this.#rbac = rbacObjectsFrom(objects);
    }
    return this.#rbac;
  }

  /** Permissions (`verb group/resource` keys) RBAC granted to `username` so far. */
  usedPermissions(username: string): Set<string> {
    return new Set(this.#used.get(username) ?? []);
  }
}
