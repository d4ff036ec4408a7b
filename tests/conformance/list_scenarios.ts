// Conformance scenarios about lists and watches: selectors, paging and its snapshots, expired
// continue tokens and resourceVersions, event order, selector transitions, bookmarks, streaming
// lists and how boolean query parameters are read.
import type { Body } from "./observe.ts";
import { gadget, GADGETS, gadgetsPath } from "./crd_scenarios.ts";
import {
  configMap,
  configMapsPath,
  createNamespace,
  listVersion,
  must,
  type Scenario,
} from "./scenario.ts";

/** A list's names and each item's data: what a snapshot is about. */
const snapshotView = (body: Body) => ({
  kind: body.kind,
  status: body.status,
  reason: body.reason,
  message: body.message,
  items: body.items?.map((item: Body) => ({ name: item.metadata?.name, data: item.data })),
  continue: body.metadata?.continue === undefined ? undefined : !!body.metadata.continue,
  remainingItemCount: body.metadata?.remainingItemCount,
});

/** "too old resource version: 1 (542)" and the like, with the versions replaced. */
const versionsOut = (message: unknown) =>
  typeof message === "string" ? message.replace(/\d+/g, "<n>") : message;

async function fiveConfigMaps(api: Parameters<Scenario["run"]>[0], ns: string): Promise<void> {
  await createNamespace(api, ns);
  for (let i = 0; i < 5; i++) {
    await must(
      api,
      "POST",
      configMapsPath(ns),
      configMap(`c${i}`, { n: String(i) }, { labels: { tier: i % 2 ? "odd" : "even" } }),
    );
  }
}

export const LIST_SCENARIOS: Scenario[] = [
  {
    name: "lists: label and field selectors, paging with limit and continue",
    async run(api, r) {
      const ns = "conformance-paging";
      await fiveConfigMaps(api, ns);
      const list = (query: Record<string, string>) =>
        api.request("GET", configMapsPath(ns), { query });
      r.response("label selector", await list({ labelSelector: "tier=even" }));
      r.response("set-based selector", await list({ labelSelector: "tier in (odd),tier!=even" }));
      r.response("existence selector", await list({ labelSelector: "!tier" }));
      r.response("field selector", await list({ fieldSelector: "metadata.name=c3" }));
      r.response(
        "field selector across namespaces",
        await api.request("GET", "/api/v1/configmaps", {
          query: { fieldSelector: `metadata.namespace=${ns},metadata.name!=c0` },
        }),
      );
      const first = await list({ limit: "2" });
      r.response("first page", first);
      const second = await list({ limit: "2", continue: (first.body as Body).metadata.continue });
      r.response("second page", second);
      r.response(
        "last page",
        await list({ limit: "2", continue: (second.body as Body).metadata.continue }),
      );
      r.response(
        "a continue token that is not one",
        await list({ limit: "2", continue: "x" }),
        (body: Body) => ({
          reason: body.reason,
          code: body.code,
          // What follows is the decoder's own complaint about the token.
          message: String(body.message).replace(/(continue key is not valid:).*/, "$1 …"),
        }),
      );
    },
  },
  {
    name: "lists: every page is served at the first page's resourceVersion",
    async run(api, r) {
      const ns = "conformance-snapshot";
      await fiveConfigMaps(api, ns);
      const list = (query: Record<string, string>) =>
        api.request("GET", configMapsPath(ns), { query });
      const first = await list({ limit: "2" });
      r.response("first page", first, snapshotView);
      await must(api, "DELETE", configMapsPath(ns, "c3"));
      await must(api, "PATCH", configMapsPath(ns, "c2"), { data: { n: "changed" } });
      await must(api, "POST", configMapsPath(ns), configMap("c5"));
      const second = await list({ limit: "2", continue: (first.body as Body).metadata.continue });
      r.response("second page after changes", second, snapshotView);
      r.response(
        "last page",
        await list({ limit: "2", continue: (second.body as Body).metadata.continue }),
        snapshotView,
      );
    },
  },
  {
    name: "lists: an expired continue token gets 410 and a token to go on inconsistently",
    async run(api, r) {
      const ns = "conformance-expired-continue";
      await fiveConfigMaps(api, ns);
      const list = (query: Record<string, string>) =>
        api.request("GET", configMapsPath(ns), { query });
      const first = await list({ limit: "2" });
      await must(api, "POST", configMapsPath(ns), configMap("c5"));
      await api.compact();
      const expired = await list({ limit: "2", continue: (first.body as Body).metadata.continue });
      r.response("continue after compaction", expired, snapshotView);
      const offered = (expired.body as Body)?.metadata?.continue;
      if (offered) {
        r.response(
          "the offered token",
          await list({ limit: "10", continue: offered }),
          snapshotView,
        );
      }
    },
  },
  {
    name: "watches: events in order from a list's resourceVersion",
    async run(api, r) {
      const ns = "conformance-watch";
      await createNamespace(api, ns);
      const version = await listVersion(api, configMapsPath(ns));
      const watch = await api.watch(configMapsPath(ns), {
        query: { resourceVersion: version, timeoutSeconds: "10" },
        until: (events) => events.some((event) => event.type === "DELETED"),
      }, async () => {
        await must(api, "POST", configMapsPath(ns), configMap("w", { n: "1" }));
        await must(api, "PATCH", configMapsPath(ns, "w"), { data: { n: "2" } });
        await must(api, "PUT", configMapsPath(ns, "w"), {
          ...(await must(api, "GET", configMapsPath(ns, "w"))),
          data: { n: "3" },
        });
        await must(api, "DELETE", configMapsPath(ns, "w"));
      });
      r.watch("create, patch, update, delete", watch);
      const current = await api.watch(configMapsPath(ns), {
        query: { timeoutSeconds: "10" },
        until: (events) => events.length >= 2,
        timeoutMs: 3_000,
      }, async () => {
        await must(api, "POST", configMapsPath(ns), configMap("b"));
        await must(api, "POST", configMapsPath(ns), configMap("a"));
      });
      r.watch("without a resourceVersion", current);
    },
  },
  {
    name: "watches: a label selector turns relabelling into DELETED and ADDED",
    async run(api, r) {
      const ns = "conformance-watch-selector";
      await createNamespace(api, ns);
      const version = await listVersion(api, configMapsPath(ns));
      const watch = await api.watch(configMapsPath(ns), {
        query: { resourceVersion: version, labelSelector: "app=x", timeoutSeconds: "10" },
        until: (events) => events.length >= 3,
      }, async () => {
        await must(api, "POST", configMapsPath(ns), configMap("s", {}, { labels: { app: "x" } }));
        await must(api, "POST", configMapsPath(ns), configMap("t", {}, { labels: { app: "z" } }));
        await must(api, "PATCH", configMapsPath(ns, "s"), { metadata: { labels: { app: "y" } } });
        await must(api, "PATCH", configMapsPath(ns, "s"), { metadata: { labels: { app: "x" } } });
      });
      r.watch("relabelled out and back", watch);
    },
  },
  {
    name: "watches: a bookmark before the timeout when the resource moved on elsewhere",
    async run(api, r) {
      const ns = "conformance-bookmarks";
      await createNamespace(api, ns);
      await createNamespace(api, `${ns}-other`);
      const version = await listVersion(api, configMapsPath(ns));
      const watch = await api.watch(configMapsPath(ns), {
        query: { resourceVersion: version, allowWatchBookmarks: "true", timeoutSeconds: "4" },
        timeoutMs: 8_000,
      }, async () => {
        await must(api, "POST", configMapsPath(`${ns}-other`), configMap("elsewhere"));
      });
      // How many bookmarks arrive before the deadline is the server's choice: compare their kinds.
      const shapes = new Set(
        watch.events.map((event) =>
          JSON.stringify({
            type: event.type,
            kind: event.object.kind,
            metadata: event.object.metadata,
          })
        ),
      );
      r.record("a quiet watch until its timeout", {
        status: watch.status,
        events: [...shapes].map((shape) => JSON.parse(shape)),
        ended: watch.ended,
      });
    },
  },
  {
    name: "watches: a resourceVersion older than the history gets 410 Expired",
    async run(api, r) {
      const ns = "conformance-watch-expired";
      await createNamespace(api, ns);
      const before = await listVersion(api, configMapsPath(ns));
      // A kind served only from now on: its history starts after `before` on every server.
      await api.installCrd(GADGETS);
      await must(api, "POST", gadgetsPath(ns), gadget("e", {}));
      await api.compact();
      const watch = await api.watch(gadgetsPath(ns), {
        query: { resourceVersion: before, timeoutSeconds: "5" },
        timeoutMs: 8_000,
      });
      r.watch("from before the kind existed", watch, (event) => ({
        type: event.type,
        kind: event.object.kind,
        reason: event.object.reason,
        code: event.object.code,
        message: versionsOut(event.object.message),
      }));
    },
  },
  {
    name: "watches: a streaming list (sendInitialEvents)",
    async run(api, r) {
      const ns = "conformance-watch-list";
      await createNamespace(api, ns);
      await must(api, "POST", configMapsPath(ns), configMap("one"));
      const watch = await api.watch(configMapsPath(ns), {
        query: {
          sendInitialEvents: "true",
          resourceVersionMatch: "NotOlderThan",
          allowWatchBookmarks: "true",
          timeoutSeconds: "5",
        },
        until: (events) => events.some((event) => event.type === "BOOKMARK"),
        timeoutMs: 8_000,
      });
      r.watch("initial events, then the end bookmark", watch, (event) => ({
        type: event.type,
        kind: event.object.kind,
        name: event.object.metadata?.name,
        annotations: event.object.metadata?.annotations,
      }));
    },
  },
  {
    name: "query parameters: booleans read as kube-apiserver reads them",
    async run(api, r) {
      const ns = "conformance-booleans";
      await createNamespace(api, ns);
      await must(api, "POST", configMapsPath(ns), configMap("one"));
      for (const value of ["True", "TRUE", "yes", "false", "FALSE", "0"]) {
        const answer = await api.request("GET", configMapsPath(ns), {
          query: { watch: value, timeoutSeconds: "1" },
        });
        const body = answer.body as Body;
        r.record(`watch=${value}`, { status: answer.status, answer: body?.kind ?? body?.type });
      }
    },
  },
];
