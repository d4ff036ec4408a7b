// kube-apiserver's ValidatingAdmissionPolicy admission plugin for the dev API server: every create,
// update (patch, subresources) and delete is checked against the stored policies and their
// bindings after the object is validated and before it is stored, and a denial is answered with
// kube's error (`… is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: …`).
import { clone } from "../storage/objects.ts";
import {
  NAMESPACES,
  type ResourceInfo,
  resourceKey,
  type ResourceRegistry,
} from "../storage/resources.ts";
import type { ObjectStore } from "../storage/store.ts";
import { ApiError, notFound, qualifiedResource } from "../http/status.ts";
import type { Identity, KubeObject } from "../types.ts";
import { type Activation, evaluatePolicy, type PolicyDecision } from "./evaluate.ts";
import {
  type AdmissionOperation,
  type MatchTarget,
  NamespaceNotFoundError,
  resourcesMatch,
} from "./matching.ts";
import {
  compileBinding,
  type CompiledBinding,
  type CompiledPolicy,
  compilePolicy,
  POLICIES,
  POLICY_BINDINGS,
} from "./policy.ts";

/** One write as admission sees it. */
export interface AdmissionWrite {
  operation: AdmissionOperation;
  /** The resource written (in the version of the request). */
  info: ResourceInfo;
  /** "status", "finalize", … (absent for the main resource). */
  subresource?: string;
  /** The object's name. */
  name: string;
  /** The object's namespace ("" when cluster-scoped). */
  namespace: string;
  /** The object to store (CREATE, UPDATE). */
  object?: KubeObject;
  /** The stored object (UPDATE, DELETE). */
  oldObject?: KubeObject;
  /** A dry run (admission runs all the same). */
  dryRun: boolean;
}

/** Who writes, and where warnings of `Warn` bindings go. */
export interface AdmissionRequester {
  /** The authenticated user. */
  identity: Identity;
  /** Collects `Warning` header texts. */
  warnings?: string[];
}

/** The HTTP code of a denial's Status reason (kube's reasonToCode). */
const REASON_CODES: Record<string, number> = {
  Forbidden: 403,
  Unauthorized: 401,
  RequestEntityTooLarge: 413,
  Invalid: 422,
};

/** admissionregistration.k8s.io kinds no policy may match, so a bad policy can always be undone. */
const EXEMPT = [
  "validatingadmissionpolicies",
  "validatingadmissionpolicybindings",
  "validatingwebhookconfigurations",
  "mutatingwebhookconfigurations",
];

interface Hook {
  policy: CompiledPolicy;
  bindings: CompiledBinding[];
}

/** The policies in force, compiled once per change of the policy or binding objects. */
export class ValidatingAdmission {
  readonly #store: ObjectStore;
  readonly #registry: ResourceRegistry;
  #hooks?: Hook[];

  /** Follows the policy and binding objects of `store`. */
  constructor(store: ObjectStore, registry: ResourceRegistry) {
    this.#store = store;
    this.#registry = registry;
    store.subscribe((event) => {
      if (event.key === POLICIES || event.key === POLICY_BINDINGS) this.#hooks = undefined;
    });
  }

  /** Throws the Status error of the first denial; records the warnings of `Warn` bindings. */
  validate(write: AdmissionWrite, requester: AdmissionRequester): void {
    const { info } = write;
    if (info.group === "admissionregistration.k8s.io" && EXEMPT.includes(info.resource)) return;
    const hooks = this.#compiled();
    if (hooks.length === 0) return;
    const target = this.#target(write);
    let activation: Activation | undefined;
    const denials: { policy: string; binding: string; decision: PolicyDecision }[] = [];
    try {
      for (const { policy, bindings } of hooks) {
        if (!resourcesMatch(policy.matchConstraints, target, { binding: false })) continue;
        for (const binding of bindings) {
          if (!resourcesMatch(binding.matchResources, target, { binding: true })) continue;
          activation ??= this.#activation(write, requester.identity);
          for (const decision of evaluatePolicy(policy, activation)) {
            if (decision.action !== "deny") continue;
            if (binding.validationActions.includes("Deny")) {
              denials.push({ policy: policy.name, binding: binding.name, decision });
            }
            if (binding.validationActions.includes("Warn")) {
              requester.warnings?.push(
                `Validation failed for ValidatingAdmissionPolicy '${policy.name}' with binding '${binding.name}': ${decision.message}`,
              );
            }
          }
        }
      }
    } catch (error) {
      if (error instanceof NamespaceNotFoundError) {
        throw notFound({ group: "", resource: "namespaces", name: error.namespace });
      }
      throw error;
    }
    const denial = denials[0];
    if (denial === undefined) return;
    const why =
      `ValidatingAdmissionPolicy '${denial.policy}' with binding '${denial.binding}' denied request: ${denial.decision.message}`;
    throw new ApiError(
      REASON_CODES[denial.decision.reason] ?? 422,
      denial.decision.reason,
      `${qualifiedResource(info)} ${JSON.stringify(write.name)} is forbidden: ${why}`,
      { name: write.name, group: info.group, kind: info.resource, causes: [{ message: why }] },
    );
  }

  #compiled(): Hook[] {
    if (this.#hooks) return this.#hooks;
    const byName = (a: { name: string }, b: { name: string }) => a.name < b.name ? -1 : 1;
    const bindings = this.#store.list(POLICY_BINDINGS).map((entry) => compileBinding(entry.object));
    this.#hooks = this.#store.list(POLICIES)
      .map((entry) => compilePolicy(entry.object))
      .sort(byName)
      .map((policy) => ({
        policy,
        bindings: bindings.filter((b) => b.policyName === policy.name).sort(byName),
      }))
      .filter((hook) => hook.bindings.length > 0);
    return this.#hooks;
  }

  #target(write: AdmissionWrite): MatchTarget {
    const { info } = write;
    const equivalentVersions = this.#registry.versionsOf(resourceKey(info))
      .map((served) => served.version)
      .filter((version) => version !== info.version);
    return {
      operation: write.operation,
      group: info.group,
      version: info.version,
      resource: info.resource,
      equivalentVersions,
      subresource: write.subresource ?? "",
      namespace: this.#requestNamespace(write),
      name: write.name,
      objectLabels: write.object?.metadata?.labels,
      oldObjectLabels: write.oldObject?.metadata?.labels,
      namespaceLabels: () => {
        const stored = this.#store.get(NAMESPACES, "", this.#requestNamespace(write));
        return stored ? stored.object.metadata?.labels ?? {} : undefined;
      },
    };
  }

  /** kube's request namespace: a Namespace's own name (except when created), else the object's. */
  #requestNamespace(write: AdmissionWrite): string {
    if (resourceKey(write.info) === NAMESPACES) {
      return write.operation === "CREATE" && !write.subresource ? "" : write.name;
    }
    return write.namespace;
  }

  #activation(write: AdmissionWrite, identity: Identity): Activation {
    const { info } = write;
    const subResource = write.subresource ?? "";
    const kind = { group: info.group, version: info.version, kind: info.kind };
    const resource = { group: info.group, version: info.version, resource: info.resource };
    const options = { CREATE: "CreateOptions", UPDATE: "UpdateOptions", DELETE: "DeleteOptions" };
    const isNamespace = resourceKey(info) === NAMESPACES;
    const stored = !isNamespace && write.namespace !== ""
      ? this.#store.get(NAMESPACES, "", write.namespace)?.object
      : undefined;
    return {
      // CEL only reads: the objects are handed over as they are, not copied.
      object: write.object ?? null,
      oldObject: write.oldObject ?? null,
      request: {
        uid: crypto.randomUUID(),
        kind,
        resource,
        subResource,
        requestKind: kind,
        requestResource: resource,
        requestSubResource: subResource,
        name: write.name,
        namespace: this.#requestNamespace(write),
        operation: write.operation,
        userInfo: { username: identity.username, uid: "", groups: [...identity.groups], extra: {} },
        dryRun: write.dryRun,
        options: { kind: options[write.operation], apiVersion: "meta.k8s.io/v1" },
      },
      namespaceObject: stored ? namespaceObjectOf(stored) : null,
    };
  }
}

/** The fields of a namespace CEL sees as `namespaceObject` (kube's CreateNamespaceObject). */
function namespaceObjectOf(namespace: KubeObject): KubeObject {
  const metadata = namespace.metadata ?? {};
  const kept = [
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "finalizers",
  ] as const;
  return clone({
    metadata: Object.fromEntries(
      kept.filter((key) => metadata[key] !== undefined).map((key) => [key, metadata[key]]),
    ),
    spec: namespace.spec ?? {},
    status: namespace.status ?? {},
  });
}
