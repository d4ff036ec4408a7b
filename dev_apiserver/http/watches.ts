// WATCH requests: resume points, 410 past the history window, streaming lists (sendInitialEvents),
// bookmarks and server-side timeouts, answered as a stream of watch events.
import type { ApiCore } from "../storage/core.ts";
import { groupVersion, resourceKey } from "../storage/resources.ts";
import type { StoredEntry } from "../storage/store.ts";
import type { KubeObject } from "../types.ts";
import type { HandlerSettings } from "./handlers.ts";
import { representation } from "./negotiation.ts";
import { queryBoolean, queryOptionalBoolean } from "./params.ts";
import { JSON_HEADERS, present } from "./present.ts";
import type { ResourceRoute } from "./router.ts";
import { selectorTest } from "./selection.ts";
import { badRequest, expired, invalid } from "./status.ts";

function parseRv(text: string): number {
  if (!/^\d+$/.test(text)) throw badRequest(`invalid resource version: ${JSON.stringify(text)}`);
  return Number(text);
}

/** Answers a WATCH request with a stream of newline-delimited watch events. */
export function watch(
  core: ApiCore,
  route: ResourceRoute,
  request: Request,
  settings: HandlerSettings,
): Response {
  const { info, namespace, params } = route;
  const as = representation(request.headers.get("accept"));
  const matches = selectorTest(info, params);
  const rvText = params.get("resourceVersion") ?? "";
  const bookmarks = queryBoolean(params, "allowWatchBookmarks");
  const sendInitial = queryOptionalBoolean(params, "sendInitialEvents");
  const timeoutText = params.get("timeoutSeconds");
  const requested = timeoutText ? Number(timeoutText) : 0;
  if (!Number.isFinite(requested) || requested < 0) {
    throw badRequest(`invalid timeoutSeconds: ${timeoutText}`);
  }
  // kube reads a missing or zero timeoutSeconds as "the server's default": 30 to 60 minutes.
  const timeoutSeconds = requested > 0 ? requested : 1800 + Math.floor(Math.random() * 1800);
  const listOptionsTarget = {
    group: "meta.k8s.io",
    resource: "ListOptions",
    kind: "ListOptions",
    name: "",
  };
  if (sendInitial !== undefined) {
    if (!settings.watchList) {
      throw invalid(listOptionsTarget, [{
        reason: "FieldValueForbidden",
        field: "sendInitialEvents",
        message:
          "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
      }]);
    }
    const causes = [];
    if (params.get("resourceVersionMatch") !== "NotOlderThan") {
      causes.push({
        reason: "FieldValueForbidden",
        field: "resourceVersionMatch",
        message:
          "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
      });
    }
    if (sendInitial && !bookmarks) {
      causes.push({
        reason: "FieldValueRequired",
        field: "allowWatchBookmarks",
        message: "Required value: sendInitialEvents requires setting allowWatchBookmarks to true",
      });
    }
    if (causes.length > 0) throw invalid(listOptionsTarget, causes);
  }
  const key = resourceKey(info);
  const scope = info.namespaced && namespace ? namespace : undefined;
  const current = () => core.store.list(key, scope).filter((e) => !matches || matches(e.object));
  let initial: StoredEntry[] | undefined;
  let sinceRv: number | undefined;
  let initialEventsEnd = false;
  if (sendInitial) {
    initial = current();
    initialEventsEnd = true;
    if (rvText !== "" && rvText !== "0") parseRv(rvText);
  } else if (rvText === "" || rvText === "0") {
    if (sendInitial === undefined) initial = current();
  } else {
    sinceRv = parseRv(rvText);
    if (core.hub.tooOld(sinceRv)) {
      const message = `too old resource version: ${sinceRv} (${core.hub.oldestResumableRv})`;
      if (settings.expiredAsHttp410) throw expired(message, "Gone");
      return new Response(core.hub.errorStream(expired(message).toStatus()), {
        headers: JSON_HEADERS,
      });
    }
  }
  const apiVersion = groupVersion(info);
  const render = as === "object"
    ? undefined
    : (object: KubeObject) =>
      present([object], info, as, params, {
        rv: object.metadata?.resourceVersion ?? "",
        single: true,
      });
  const body = core.hub.open({
    key,
    namespace: scope,
    matches,
    apiVersion,
    kind: info.kind,
    render,
    sinceRv,
    initial,
    initialEventsEnd,
    bookmarks,
    bookmarkIntervalMs: settings.bookmarkIntervalMs,
    timeoutMs: timeoutSeconds * 1000,
  });
  return new Response(body, { headers: { ...JSON_HEADERS, "cache-control": "no-cache, private" } });
}
