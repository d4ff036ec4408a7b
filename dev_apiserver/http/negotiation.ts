// Content negotiation: which representation the client asked for (object, Table, metadata only).

import { ApiError } from "./status.ts";

/** What the response body should be. */
export type Representation = "object" | "table" | "metadata";

interface MediaRange {
  type: string;
  params: Map<string, string>;
}

function parseAccept(header: string | null): MediaRange[] {
  if (!header) return [{ type: "*/*", params: new Map() }];
  return header.split(",").map((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim());
    return {
      type: type.toLowerCase(),
      params: new Map(params.map((p) => {
        const eq = p.indexOf("=");
        return [p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim()];
      })),
    };
  });
}

/** The first representation of `Accept` the server can produce; 406 when none. */
export function representation(accept: string | null): Representation {
  for (const range of parseAccept(accept)) {
    if (
      range.type !== "application/json" && range.type !== "*/*" && range.type !== "application/*"
    ) continue;
    const as = range.params.get("as");
    if (!as) return "object";
    const g = range.params.get("g");
    const v = range.params.get("v");
    if (g !== "meta.k8s.io" || (v !== "v1" && v !== "v1beta1")) continue;
    if (as === "Table") return "table";
    if (as === "PartialObjectMetadata" || as === "PartialObjectMetadataList") return "metadata";
  }
  throw notAcceptable();
}

/** The aggregated discovery version asked for (`v2` or `v2beta1`), if any. */
export function aggregatedDiscovery(accept: string | null): "v2" | "v2beta1" | undefined {
  for (const range of parseAccept(accept)) {
    if (range.type !== "application/json") continue;
    if (
      range.params.get("as") === "APIGroupDiscoveryList" &&
      range.params.get("g") === "apidiscovery.k8s.io"
    ) {
      const v = range.params.get("v");
      if (v === "v2" || v === "v2beta1") return v;
    }
    if (!range.params.get("as")) return undefined;
  }
  return undefined;
}

function notAcceptable(): ApiError {
  return new ApiError(
    406,
    "NotAcceptable",
    "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
  );
}
