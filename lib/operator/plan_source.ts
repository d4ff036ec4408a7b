// Where the plan catalogue comes from: the built-in defaults, a file (--plans) or a ConfigMap
// (--plans-configmap), the latter also watched so edits take effect without a restart.
import type { ConfigMap } from "kubernetes-types/core/v1.d.ts";
import {
  configMaps,
  isNotFound,
  type KubeClient,
  type WatchHealth,
  type WatchTimings,
} from "../client/mod.ts";
import { CatalogueError, type PlanCatalogue } from "../plans/mod.ts";
import { builtinCatalogue, parseCatalogue } from "../plans/mod.ts";

/** The ConfigMap key holding the catalogue YAML. */
export const CONFIGMAP_KEY = "plans.yaml";

/** Where the catalogue is read from. */
export type PlanSource =
  | { kind: "builtin" }
  | { kind: "file"; path: string }
  | { kind: "configMap"; namespace: string; name: string };

/** A catalogue with where it came from. */
export interface LoadedPlans {
  /** The catalogue in force at start. */
  catalogue: PlanCatalogue;
  /** Where it came from (a ConfigMap source is watched by the manager). */
  source: PlanSource;
}

/** Names a source in messages: `file plans.yaml`, `ConfigMap kleff/plans`, ... */
export function describeSource(source: PlanSource): string {
  switch (source.kind) {
    case "builtin":
      return "the built-in defaults";
    case "file":
      return `file ${source.path}`;
    case "configMap":
      return `ConfigMap ${source.namespace}/${source.name} (key ${CONFIGMAP_KEY})`;
  }
}

/** Reads the catalogue of a ConfigMap; throws {@linkcode CatalogueError} when missing or invalid. */
export function catalogueFromConfigMap(configMap: ConfigMap, source: PlanSource): PlanCatalogue {
  const text = configMap.data?.[CONFIGMAP_KEY];
  if (typeof text !== "string") {
    throw new CatalogueError(describeSource(source), [
      `the ConfigMap has no data key ${CONFIGMAP_KEY}`,
    ]);
  }
  return parseCatalogue(text, describeSource(source));
}

/**
 * Loads the catalogue at start. Throws {@linkcode CatalogueError} for a missing file or ConfigMap
 * or an invalid catalogue (the operator refuses to start); other API errors propagate.
 */
export async function loadPlans(
  source: PlanSource,
  client?: KubeClient,
  options: { signal?: AbortSignal } = {},
): Promise<LoadedPlans> {
  switch (source.kind) {
    case "builtin":
      return { catalogue: builtinCatalogue(), source };
    case "file": {
      let text: string;
      try {
        text = await Deno.readTextFile(source.path);
      } catch (error) {
        throw new CatalogueError(describeSource(source), [
          `cannot read it: ${error instanceof Error ? error.message : String(error)}`,
        ]);
      }
      return { catalogue: parseCatalogue(text, describeSource(source)), source };
    }
    case "configMap": {
      if (client === undefined) throw new TypeError("a client is needed to read a ConfigMap");
      try {
        const configMap = await client.resource<ConfigMap>(configMaps).get(source.name, {
          namespace: source.namespace,
          signal: options.signal,
        });
        return { catalogue: catalogueFromConfigMap(configMap, source), source };
      } catch (error) {
        if (!isNotFound(error)) throw error;
        throw new CatalogueError(describeSource(source), ["the ConfigMap does not exist"]);
      }
    }
  }
}

/** What the ConfigMap watch reports. */
export type CatalogueUpdate =
  /** A valid catalogue was stored. */
  | { kind: "catalogue"; catalogue: PlanCatalogue; configMap: ConfigMap }
  /** The stored catalogue is invalid (or the key is missing): keep the last good one. */
  | { kind: "invalid"; error: CatalogueError; configMap: ConfigMap }
  /** The ConfigMap was deleted: keep the last good one. */
  | { kind: "deleted" };

/** Options of {@linkcode watchPlans}. */
export interface WatchPlansOptions {
  /** Ends the watch. */
  signal: AbortSignal;
  /** Watch timing overrides (tests). */
  timings?: WatchTimings;
  /** Called when the watch's health changes. */
  onHealth?: (health: WatchHealth) => void;
}

/** Watches a ConfigMap source, yielding every change of its catalogue. */
export async function* watchPlans(
  client: KubeClient,
  source: Extract<PlanSource, { kind: "configMap" }>,
  options: WatchPlansOptions,
): AsyncGenerator<CatalogueUpdate> {
  const watch = client.resource<ConfigMap>(configMaps).watch({
    namespace: source.namespace,
    fieldSelector: `metadata.name=${source.name}`,
    signal: options.signal,
    timings: options.timings,
    onHealth: options.onHealth,
  });
  for await (const event of watch) {
    if (event.type === "SYNCED") continue;
    if (event.type === "DELETED") {
      yield { kind: "deleted" };
      continue;
    }
    try {
      yield {
        kind: "catalogue",
        catalogue: catalogueFromConfigMap(event.object, source),
        configMap: event.object,
      };
    } catch (error) {
      if (!(error instanceof CatalogueError)) throw error;
      yield { kind: "invalid", error, configMap: event.object };
    }
  }
}
