// The HTTP side of resource requests: query options, the verbs' answers and DELETE's per kind.
import type { ApiCore, WriteOptions } from "../storage/core.ts";
import { groupVersion, type ResourceInfo, resourceKey } from "../storage/resources.ts";
import type { Identity, KubeObject } from "../types.ts";
import { log } from "../../lib/log.ts";
import type { AdmissionWrite } from "../admission/validating_admission.ts";
import { readDeleteOptions, readObject } from "./bodies.ts";
import { list } from "./list.ts";
import { representation } from "./negotiation.ts";
import { fieldManager } from "./params.ts";
import { readPatch } from "./patches.ts";
import { JSON_HEADERS, present, servedJson } from "./present.ts";
import type { ResourceRoute } from "./router.ts";
import { selectorTest } from "./selection.ts";
import { badRequest } from "./status.ts";
import { watch } from "./watches.ts";

/** Server settings the handlers need. */
export interface HandlerSettings {
  bookmarkIntervalMs: number;
  expiredAsHttp410: boolean;
  watchList: boolean;
}

/** Options of {@linkcode handleResource}. */
export interface HandleResourceOptions {
  /** The API server's store and write paths. */
  core: ApiCore;
  /** Server settings. */
  settings: HandlerSettings;
  /** Who is asking (already authenticated and authorized). */
  identity: Identity;
  /** Validating admission of every write (see `WriteOptions.admit`); `warnings` collects `Warn` results. */
  admit?: (write: AdmissionWrite, warnings: string[]) => void;
}

/** Answers one resource request, `route` being what `routeResource` made of it. */
export async function handleResource(
  request: Request,
  route: ResourceRoute,
  { core, settings, identity, admit }: HandleResourceOptions,
): Promise<Response> {
  log("apiserver").debug("{user} {verb} {resource}", {
    user: identity.username,
    verb: route.verb,
    resource: route.label,
  });
  const { info, namespace, name, params } = route;
  const warnings: string[] = [];
  const options: WriteOptions = {
    dryRun: params.getAll("dryRun").includes("All"),
    fieldValidation: fieldValidation(params.get("fieldValidation")),
    warnings,
    admit: admit && ((write) => admit(write, warnings)),
  };
  const subresource = route.subresource;
  const respond = (object: unknown, status = 200) => {
    const headers = new Headers(JSON_HEADERS);
    for (const w of warnings) headers.append("warning", `299 - ${JSON.stringify(w)}`);
    return new Response(JSON.stringify(object), { status, headers });
  };
  switch (route.verb) {
    case "get": {
      const as = representation(request.headers.get("accept"));
      const entry = core.get(info, namespace, name!);
      if (as === "object") return new Response(servedJson(entry, info), { headers: JSON_HEADERS });
      return respond(
        present([entry.object], info, as, params, { rv: String(entry.rv), single: true }),
      );
    }
    case "list":
      return list(core, route, request);
    case "watch":
      return watch(core, route, request, settings);
    case "create": {
      options.fieldManager = fieldManager(request, params, "CreateOptions");
      const body = await readObject(request, info);
      return respond(core.create(info, namespace, body, options), 201);
    }
    case "update": {
      options.fieldManager = fieldManager(request, params, "UpdateOptions");
      const body = await readObject(request, info);
      return respond(core.update(info, namespace, name!, body, { ...options, subresource }));
    }
    case "patch": {
      options.fieldManager = fieldManager(request, params, "PatchOptions");
      const patch = await readPatch(request, info, params);
      if (patch.kind === "patch") {
        return respond(
          core.patch(info, namespace, name!, patch.patch, { ...options, subresource }),
        );
      }
      const { force } = patch;
      const applied = core.apply(info, namespace, name!, patch.config, {
        ...options,
        subresource,
        force,
      });
      return respond(applied.object, applied.created ? 201 : 200);
    }
    case "delete": {
      const deleteOptions = await readDeleteOptions(request, params);
      const { object, deleted } = core.delete(info, namespace, name!, {
        ...options,
        ...deleteOptions,
      });
      return respond(deleted && !info.returnDeletedObject ? deletedStatus(info, object) : object);
    }
    case "deletecollection": {
      const deleteOptions = await readDeleteOptions(request, params);
      const matches = selectorTest(info, params);
      const items = core.store.list(
        resourceKey(info),
        info.namespaced && namespace ? namespace : undefined,
      ).map((e) => e.object).filter((object) => !matches || matches(object));
      // Each item goes through delete (preconditions, admission, finalizers, dry run) as in kube.
      for (const object of items) {
        core.delete(info, object.metadata?.namespace ?? "", object.metadata!.name!, {
          ...options,
          ...deleteOptions,
        });
      }
      return respond({
        apiVersion: groupVersion(info),
        kind: info.listKind,
        metadata: { resourceVersion: String(core.store.rv) },
        items,
      });
    }
  }
}

function fieldValidation(value: string | null): WriteOptions["fieldValidation"] {
  if (value === null || value === "") return "Warn";
  if (value === "Strict" || value === "Warn" || value === "Ignore") return value;
  throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${value}"`);
}

/**
 * kube's answer to a DELETE that removed an object of a kind whose storage does not return it:
 * `Status` Success naming the object (`details.kind` is the resource, as kube sets it).
 */
function deletedStatus(info: ResourceInfo, object: KubeObject): unknown {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: {
      name: object.metadata?.name,
      ...(info.group ? { group: info.group } : {}),
      kind: info.resource,
      uid: object.metadata?.uid,
    },
  };
}
