// The API semantics behind the HTTP layer: create/update/delete with kube's rules, namespaces and CRDs.
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import type { ManagedFieldsEntry } from "kubernetes-types/meta/v1.d.ts";
import { builtinResources } from "./builtins.ts";
import { admit, type WriteContext } from "../crd/admission.ts";
import {
  CRD_CLEANUP_FINALIZER,
  crdResources,
  establishedStatus,
  terminatingStatus,
} from "../crd/crds.ts";
import { NamespaceController } from "./namespaces.ts";
import {
  clone,
  contentChanged,
  isDeleting,
  meta,
  ordered,
  pendingFinalizers,
  sameObject,
  timestamp,
} from "./objects.ts";
import {
  CRDS,
  groupVersion,
  NAMESPACES,
  type ResourceInfo,
  resourceKey,
  ResourceRegistry,
} from "./resources.ts";
import {
  alreadyExists,
  badRequest,
  conflict,
  type ErrorTarget,
  forbidden,
  invalid,
  methodNotAllowed,
  notFound,
  type StatusCause,
} from "../http/status.ts";
import { applyConfiguration, type FieldOwner, recordUpdate } from "./field_manager.ts";
import { ObjectStore, type StoredEntry } from "./store.ts";
import type { KubeObject } from "../types.ts";
import { generatedName, validateMetadata, validateName } from "./validation.ts";
import { WatchHub } from "./watch.ts";
import type { AdmissionWrite } from "../admission/validating_admission.ts";

/** Options of writes. */
export interface WriteOptions {
  dryRun?: boolean;
  /** `fieldValidation`: Strict rejects unknown fields, Warn (default) reports them. */
  fieldValidation?: "Strict" | "Warn" | "Ignore";
  /** Collects `Warning` header texts. */
  warnings?: string[];
  /** Validating admission of the write (policies), after validation and before storage; throws to deny. */
  admit?: (write: AdmissionWrite) => void;
  /** The field manager of the write (default `kube-apiserver`, the server's own). */
  fieldManager?: string;
}

/** How the managedFields of a write are set. */
type Fields =
  /** Track it as an Update, starting from the managedFields the request carried. */
  | { requested: unknown }
  /** Server-side apply already computed them. */
  | { applied: ManagedFieldsEntry[] };

/** The manager of the server's own writes (kube-apiserver's user agent). */
const SERVER_MANAGER = "kube-apiserver";

/** `metav1.DeleteOptions` fields the server honours. */
export interface DeleteOptions extends WriteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: string;
}

/** The error target for messages about one object of a resource. */
export function targetOf(info: ResourceInfo, name?: string): ErrorTarget {
  return { group: info.group, resource: info.resource, kind: info.kind, name };
}

/** The whole server state and the write paths with kube's semantics. */
export class ApiCore {
  readonly registry = new ResourceRegistry();
  readonly store = new ObjectStore();
  readonly hub: WatchHub;
  readonly #namespaces: NamespaceController;
  readonly #crdSyncing = new Set<string>();

  /** Creates the state with built-in kinds and the default namespaces. */
  constructor(options: { historyLimit: number }) {
    this.hub = new WatchHub(options.historyLimit, () => this.store.rv);
    this.store.subscribe((event) => this.hub.publish(event));
    for (const info of builtinResources()) this.registry.add(info);
    this.#namespaces = new NamespaceController(this);
    const nsInfo = this.registry.lookup("", "v1", "namespaces")!;
    for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      this.create(nsInfo, "", { metadata: { name } });
    }
  }

  /** The stored entry or a 404 NotFound. */
  get(info: ResourceInfo, namespace: string, name: string): StoredEntry {
    const entry = this.store.get(resourceKey(info), info.namespaced ? namespace : "", name);
    if (!entry) throw notFound(targetOf(info, name));
    return entry;
  }

  /** Creates an object (POST). */
  create(
    info: ResourceInfo,
    namespace: string,
    body: KubeObject,
    options: WriteOptions = {},
  ): KubeObject {
    return this.#create(info, namespace, body, {
      options,
      fields: { requested: body.metadata?.managedFields },
    });
  }

  #create(
    info: ResourceInfo,
    namespace: string,
    body: KubeObject,
    { options, fields }: { options: WriteOptions; fields: Fields },
  ): KubeObject {
    const key = resourceKey(info);
    const object = ordered(clone(body), { apiVersion: groupVersion(info), kind: info.kind });
    const metadata = meta(object);
    if (info.namespaced) {
      if (metadata.namespace && metadata.namespace !== namespace) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      metadata.namespace = namespace;
    } else {
      delete metadata.namespace;
    }
    if (!metadata.name && metadata.generateName) {
      metadata.name = generatedName(metadata.generateName);
    }
    const target = targetOf(info, metadata.name);
    if (info.namespaced) this.#checkNamespaceOpen(info, namespace, metadata.name);
    if (info.crd) this.#checkCrdOpen(info);
    for (
      const field of [
        "uid",
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
      ]
    ) {
      delete (metadata as Record<string, unknown>)[field];
    }
    delete metadata.managedFields;
    delete metadata.generation;
    const causes: StatusCause[] = [];
    if (!metadata.name) {
      causes.push({
        reason: "FieldValueRequired",
        field: "metadata.name",
        message: "Required value: name or generateName is required",
      });
    } else {
      causes.push(...validateName(metadata.name, info.nameRule));
    }
    causes.push(...validateMetadata(object));
    const context: WriteContext = { info, operation: "create", options };
    const admitted = admit(object, undefined, context);
    causes.push(...admitted.causes);
    if (causes.length > 0) throw invalid(target, causes);
    const created = admitted.object;
    this.#recordFields(info, undefined, created, { options, fields });
    meta(created).uid = crypto.randomUUID();
    meta(created).creationTimestamp = timestamp();
    if (info.generation) meta(created).generation = 1;
    options.admit?.({
      operation: "CREATE",
      info,
      name: meta(created).name!,
      namespace: meta(created).namespace ?? "",
      object: created,
      dryRun: options.dryRun ?? false,
    });
    if (this.store.get(key, metadata.namespace ?? "", metadata.name!)) throw alreadyExists(target);
    if (key === CRDS) {
      const crd = created as unknown as CustomResourceDefinition;
      meta(created).finalizers = [
        ...new Set([...(meta(created).finalizers ?? []), CRD_CLEANUP_FINALIZER]),
      ];
      const unestablished = clone(created);
      created.status = establishedStatus(crd, meta(created).creationTimestamp!);
      recordUpdate(info, unestablished, created, CRD_CONTROLLER);
    }
    if (options.dryRun) return created;
    const entry = this.store.create(key, created);
    if (key === CRDS) this.#serveCrd(entry.object);
    return entry.object;
  }

  /** Replaces an object (PUT), or its status or namespace finalizers with a subresource. */
  update(
    info: ResourceInfo,
    namespace: string,
    name: string,
    body: KubeObject,
    options: WriteOptions & { subresource?: string } = {},
  ): KubeObject {
    const current = this.get(info, namespace, name).object;
    const target = targetOf(info, name);
    if (body.metadata?.name !== undefined && body.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    if (info.namespaced && body.metadata?.namespace && body.metadata.namespace !== namespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const rv = body.metadata?.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== current.metadata?.resourceVersion) {
      throw conflict(target);
    }
    if ((rv === undefined || rv === "") && info.crd) {
      throw invalid(target, [{
        reason: "FieldValueInvalid",
        field: "metadata.resourceVersion",
        message: "Invalid value: 0x0: must be specified for an update",
      }]);
    }
    const next = this.#merge(info, current, body, options.subresource);
    return this.#commit(info, current, next, {
      options,
      fields: { requested: body.metadata?.managedFields },
    });
  }

  /** Applies a patch function to the current object, then updates like PUT. */
  patch(
    info: ResourceInfo,
    namespace: string,
    name: string,
    patchFn: (current: KubeObject) => KubeObject,
    options: WriteOptions & { subresource?: string } = {},
  ): KubeObject {
    const current = this.get(info, namespace, name).object;
    const patched = patchFn(clone(current));
    if (!patched || typeof patched !== "object" || Array.isArray(patched)) {
      throw badRequest("the patch did not produce an object");
    }
    const rv = patched.metadata?.resourceVersion;
    if (rv !== undefined && rv !== current.metadata?.resourceVersion) {
      throw conflict(targetOf(info, name));
    }
    if (patched.metadata?.name !== undefined && patched.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${patched.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const next = this.#merge(info, current, patched, options.subresource);
    return this.#commit(info, current, next, {
      options,
      fields: { requested: patched.metadata?.managedFields },
    });
  }

  /**
   * Server-side apply (PATCH with `application/apply-patch+yaml`): creates the object when it
   * does not exist (`created`), else merges `config` into it with kube's field ownership.
   */
  apply(
    info: ResourceInfo,
    namespace: string,
    name: string,
    config: KubeObject,
    options: WriteOptions & { subresource?: string; force: boolean },
  ): { object: KubeObject; created: boolean } {
    const scope = info.namespaced ? namespace : "";
    const current = this.store.get(resourceKey(info), scope, name)?.object;
    if (current === undefined && options.subresource !== undefined) {
      throw notFound(targetOf(info, name));
    }
    if (current === undefined && info.namespaced) {
      this.#checkNamespaceOpen(info, namespace, name);
    }
    const applied = applyConfiguration(info, current, config, {
      manager: options.fieldManager ?? SERVER_MANAGER,
      subresource: options.subresource,
      force: options.force,
      name,
      namespace: scope,
    });
    const fields = { applied: applied.metadata?.managedFields ?? [] };
    if (current === undefined) {
      meta(applied).name = name;
      return { object: this.#create(info, namespace, applied, { options, fields }), created: true };
    }
    const next = this.#merge(info, current, applied, options.subresource);
    return { object: this.#commit(info, current, next, { options, fields }), created: false };
  }

  /**
   * Deletes an object (DELETE): marks it when finalizers hold it (`deleted` false, the object as
   * marked), removes it otherwise (`deleted` true, the object as it was last stored).
   */
  delete(
    info: ResourceInfo,
    namespace: string,
    name: string,
    options: DeleteOptions = {},
  ): { object: KubeObject; deleted: boolean } {
    const current = this.get(info, namespace, name).object;
    // kube checks delete preconditions before anything else, naming the kind as the resource.
    const target = { group: info.group, resource: info.kind, name };
    const pre = options.preconditions ?? {};
    if (pre.uid !== undefined && pre.uid !== current.metadata?.uid) {
      throw conflict(
        target,
        `the UID in the precondition (${pre.uid}) does not match the UID in record (${current.metadata?.uid}). The object might have been deleted and then recreated`,
      );
    }
    if (
      pre.resourceVersion !== undefined && pre.resourceVersion !== current.metadata?.resourceVersion
    ) {
      throw conflict(
        target,
        `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${current.metadata?.resourceVersion}). The object might have been modified`,
      );
    }
    options.admit?.({
      operation: "DELETE",
      info,
      name,
      namespace: info.namespaced ? namespace : "",
      oldObject: current,
      dryRun: options.dryRun ?? false,
    });
    const deleted = pendingFinalizers(current).length === 0;
    if (options.dryRun) {
      return {
        object: deleted ? current : this.#markDeleting(resourceKey(info), current),
        deleted,
      };
    }
    const object = this.deleteObject(info, current);
    return { object: deleted ? current : object, deleted };
  }

  /** Deletes a stored object without preconditions (also used by the namespace and CRD cleanups). */
  deleteObject(info: ResourceInfo, current: KubeObject): KubeObject {
    const key = resourceKey(info);
    if (pendingFinalizers(current).length === 0) return this.#remove(key, current);
    if (isDeleting(current)) return current;
    const next = this.#markDeleting(key, current);
    const entry = this.store.update(key, next);
    if (key === NAMESPACES) this.#namespaces.sync(current.metadata!.name!);
    if (key === CRDS) this.#syncCrd(current.metadata!.name!);
    return this.store.get(key, next.metadata?.namespace ?? "", meta(next).name!)?.object ??
      entry.object;
  }

  /** A copy of `current` marked for deletion (deletionTimestamp, a Terminating namespace). */
  #markDeleting(key: string, current: KubeObject): KubeObject {
    if (isDeleting(current)) return current;
    const next = clone(current);
    meta(next).deletionTimestamp = timestamp();
    meta(next).deletionGracePeriodSeconds = 0;
    // Controllers see the deletion as a change of intent, as kube marks it.
    const generation = meta(next).generation;
    if (typeof generation === "number" && generation > 0) meta(next).generation = generation + 1;
    if (key === NAMESPACES) next.status = { ...(next.status as object), phase: "Terminating" };
    return next;
  }

  /**
   * Writes a server-side change (controllers, tracked as `owner`'s when given), removing the
   * object when no finalizer holds it.
   */
  write(key: string, current: KubeObject, next: KubeObject, owner?: FieldOwner): KubeObject {
    if (isDeleting(next) && pendingFinalizers(next).length === 0) return this.#remove(key, next);
    const info = owner && this.infoFor(key);
    if (info) recordUpdate(info, current, next, owner);
    if (sameObject(current, next)) return current;
    return this.store.update(key, next).object;
  }

  /** The resource info that serves a storage key (its first served version). */
  infoFor(key: string): ResourceInfo | undefined {
    return this.registry.versionsOf(key)[0];
  }

  #merge(
    info: ResourceInfo,
    current: KubeObject,
    body: KubeObject,
    subresource?: string,
  ): KubeObject {
    const key = resourceKey(info);
    if (subresource === "status") {
      const next = clone(current);
      if (body.status === undefined) delete next.status;
      else next.status = clone(body.status);
      return next;
    }
    if (subresource === "finalize") {
      const next = clone(current);
      const finalizers = (body.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [];
      next.spec = { ...(next.spec as object), finalizers };
      return next;
    }
    // managedFields are dropped here (the write computes them), so they are not copied either.
    const { managedFields: _, ...bodyMetadata } = body.metadata ?? {};
    const next = ordered(clone({ ...body, metadata: bodyMetadata }), {
      apiVersion: current.apiVersion!,
      kind: current.kind!,
    });
    const metadata = meta(next);
    const old = current.metadata!;
    for (
      const field of [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
      ] as const
    ) {
      if (old[field] === undefined) delete metadata[field];
      else (metadata as Record<string, unknown>)[field] = old[field];
    }
    delete metadata.selfLink;
    if (info.statusSubresource) {
      if (current.status === undefined) delete next.status;
      else next.status = clone(current.status);
    }
    if (key === NAMESPACES) {
      next.spec = clone(current.spec);
    }
    return next;
  }

  /** Sets the managedFields of a write (`before` absent for a create). */
  #recordFields(
    info: ResourceInfo,
    before: KubeObject | undefined,
    after: KubeObject,
    { options, fields }: { options: WriteOptions & { subresource?: string }; fields: Fields },
  ): void {
    if ("applied" in fields) {
      if (fields.applied.length > 0) meta(after).managedFields = clone(fields.applied);
      else delete meta(after).managedFields;
      return;
    }
    recordUpdate(info, before, after, {
      manager: options.fieldManager ?? SERVER_MANAGER,
      subresource: options.subresource,
      requested: fields.requested,
    });
  }

  #commit(
    info: ResourceInfo,
    current: KubeObject,
    next: KubeObject,
    { options, fields }: { options: WriteOptions & { subresource?: string }; fields: Fields },
  ): KubeObject {
    const key = resourceKey(info);
    const name = current.metadata!.name!;
    const target = targetOf(info, name);
    const causes = validateMetadata(next);
    if (isDeleting(current)) {
      const had = new Set(current.metadata?.finalizers ?? []);
      const added = (next.metadata?.finalizers ?? []).filter((f) => !had.has(f));
      if (added.length > 0) {
        causes.push({
          reason: "FieldValueForbidden",
          field: "metadata.finalizers",
          message:
            `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${
              added.map((f) => JSON.stringify(f)).join(", ")
            }}`,
        });
      }
    }
    const admitted = admit(next, current, {
      info,
      operation: "update",
      options,
      subresource: options.subresource,
    });
    causes.push(...admitted.causes);
    if (causes.length > 0) throw invalid(target, causes);
    const result = admitted.object;
    this.#recordFields(info, current, result, { options, fields });
    if (
      info.generation && contentChanged(current, result, { ignoreStatus: info.statusSubresource })
    ) {
      meta(result).generation = (current.metadata?.generation ?? 0) + 1;
    }
    meta(result).resourceVersion = current.metadata!.resourceVersion;
    options.admit?.({
      operation: "UPDATE",
      info,
      subresource: options.subresource,
      name,
      namespace: current.metadata?.namespace ?? "",
      object: result,
      oldObject: current,
      dryRun: options.dryRun ?? false,
    });
    if (options.dryRun) return result;
    const written = this.write(key, current, result);
    if (key === CRDS && written !== current && !isDeleting(written)) this.#serveCrd(written);
    return written;
  }

  #remove(key: string, object: KubeObject): KubeObject {
    const removed = this.store.remove(key, clone(object)).object;
    const namespace = object.metadata?.namespace;
    if (namespace) this.#namespaces.contentRemoved(namespace);
    if (key === CRDS) {
      this.registry.removeCrd(object.metadata!.name!);
      this.hub.finishKey(crdStorageKey(object));
    } else {
      const info = this.infoFor(key);
      if (info?.crd) this.#syncCrd(info.crd);
    }
    return removed;
  }

  #checkNamespaceOpen(info: ResourceInfo, namespace: string, name?: string): void {
    const ns = this.store.get(NAMESPACES, "", namespace);
    if (!ns) throw notFound({ group: "", resource: "namespaces", name: namespace });
    if (isDeleting(ns.object)) {
      const error = forbidden(
        targetOf(info, name),
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
      error.details!.causes = [{
        reason: "NamespaceTerminating",
        message: `namespace ${namespace} is being terminated`,
        field: "metadata.namespace",
      }];
      throw error;
    }
  }

  #checkCrdOpen(info: ResourceInfo): void {
    const crd = this.store.get(CRDS, "", info.crd!);
    if (crd && isDeleting(crd.object)) {
      throw methodNotAllowed("create not allowed while custom resource definition is terminating");
    }
  }

  #serveCrd(object: KubeObject): void {
    const crd = object as unknown as CustomResourceDefinition;
    this.registry.removeCrd(crd.metadata!.name!);
    for (const info of crdResources(crd)) this.registry.add(info);
    const status = establishedStatus(crd, timestamp());
    const current = this.store.get(CRDS, "", crd.metadata!.name!)!.object;
    this.write(CRDS, current, { ...clone(current), status }, CRD_CONTROLLER);
  }

  #syncCrd(name: string): void {
    const entry = this.store.get(CRDS, "", name);
    if (!entry || !isDeleting(entry.object) || this.#crdSyncing.has(name)) return;
    const crd = entry.object as unknown as CustomResourceDefinition;
    const key = crdStorageKey(entry.object);
    const info = this.infoFor(key);
    this.#crdSyncing.add(name);
    try {
      for (const item of info ? this.store.list(key) : []) {
        const meta = item.object.metadata!;
        const fresh = this.store.get(key, meta.namespace ?? "", meta.name!);
        if (fresh && !isDeleting(fresh.object)) this.deleteObject(info!, fresh.object);
      }
    } finally {
      this.#crdSyncing.delete(name);
    }
    const current = this.store.get(CRDS, "", name);
    if (!current) return;
    const next = clone(current.object);
    if (this.store.list(key).length === 0) {
      meta(next).finalizers = (meta(next).finalizers ?? []).filter((f) =>
        f !== CRD_CLEANUP_FINALIZER
      );
    } else {
      next.status = terminatingStatus(crd, timestamp());
    }
    this.write(CRDS, current.object, next, CRD_CONTROLLER);
  }
}

/** The apiextensions controllers that keep a CRD's status (kube-apiserver's own). */
const CRD_CONTROLLER: FieldOwner = { manager: SERVER_MANAGER, subresource: "status" };

/** The storage key of the resources a CRD object serves. */
function crdStorageKey(object: KubeObject): string {
  const spec = object.spec as { group: string; names: { plural: string } };
  return resourceKey({ group: spec.group, resource: spec.names.plural });
}
