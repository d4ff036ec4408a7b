// Conformance scenarios about single objects: Status errors, what each verb answers, finalizers,
// the namespace lifecycle, strategic merge patch, server-side apply, size limits, and the
// metadata-only and Table representations.
import { type Body, defaultView } from "./observe.ts";
import {
  configMap,
  configMapsPath,
  createNamespace,
  must,
  poll,
  type Scenario,
} from "./scenario.ts";

const PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const PARTIAL = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const TABLE = "application/json;as=Table;g=meta.k8s.io;v=v1";

/**
 * managedFields reduced to who manages what, the way apply users read it. Sorted by operation and
 * manager: a server orders entries of one operation by the second they were written in, then by
 * manager, so two writes on either side of a second boundary swap places on one server and not on
 * the other.
 */
function managers(body: Body): unknown {
  return (body?.metadata?.managedFields ?? []).map((entry: Body) => ({
    manager: entry.manager,
    operation: entry.operation,
    subresource: entry.subresource,
    fieldsType: entry.fieldsType,
    fields: Object.keys(entry.fieldsV1 ?? {}).sort(),
  })).sort((a: Body, b: Body) =>
    `${a.operation}/${a.manager}/${a.subresource ?? ""}`.localeCompare(
      `${b.operation}/${b.manager}/${b.subresource ?? ""}`,
    )
  );
}

export const OBJECT_SCENARIOS: Scenario[] = [
  {
    name: "errors: Status codes, reasons and messages of common failures",
    async run(api, r) {
      const ns = "conformance-errors";
      await createNamespace(api, ns);
      r.response("get missing", await api.request("GET", configMapsPath(ns, "nope")));
      const created = await must(api, "POST", configMapsPath(ns), configMap("c", { a: "1" }));
      r.response(
        "create existing",
        await api.request("POST", configMapsPath(ns), { body: configMap("c") }),
      );
      await must(api, "PATCH", configMapsPath(ns, "c"), { data: { a: "2" } });
      r.response(
        "update with a stale resourceVersion",
        await api.request("PUT", configMapsPath(ns, "c"), {
          body: { ...created, data: { a: "3" } },
        }),
      );
      r.response(
        "invalid name",
        await api.request("POST", configMapsPath(ns), { body: configMap("Bad_Name") }),
      );
      r.response(
        "missing namespace",
        await api.request("POST", configMapsPath("absent"), { body: configMap("x") }),
      );
      r.response(
        "unknown resource",
        await api.request("GET", `/api/v1/namespaces/${ns}/frobs`),
      );
      r.response("unknown group", await api.request("GET", "/apis/nope.example.com/v1/things"));
      r.response(
        "unsupported patch type",
        await api.request("PATCH", configMapsPath(ns, "c"), {
          body: "<data/>",
          contentType: "application/xml",
        }),
      );
      r.response(
        "body is not JSON",
        await api.request("POST", configMapsPath(ns), {
          body: "{",
          contentType: "application/json",
        }),
        (body: Body) => ({
          ...(defaultView(body) as Record<string, unknown>),
          // What follows are the JSON parser's own words (Go's or JavaScript's).
          message: String(body.message).replace(/json parse error: .*/, "json parse error: …"),
        }),
      );
      r.response(
        "name differs from the URL",
        await api.request("PUT", configMapsPath(ns, "c"), { body: configMap("d") }),
      );
      r.response("delete missing", await api.request("DELETE", configMapsPath(ns, "nope")));
      r.response(
        "post to an object's URL",
        await api.request("POST", configMapsPath(ns, "c"), { body: configMap("c") }),
      );
      r.response(
        "unknown field selector",
        await api.request("GET", configMapsPath(ns), { query: { fieldSelector: "spec.x=y" } }),
      );
      r.response(
        "malformed label selector",
        await api.request("GET", configMapsPath(ns), { query: { labelSelector: "a=b=c" } }),
      );
    },
  },
  {
    name: "responses: what each verb answers for built-in kinds",
    async run(api, r) {
      const ns = "conformance-verbs";
      r.response(
        "create namespace",
        await api.request("POST", "/api/v1/namespaces", { body: { metadata: { name: ns } } }),
      );
      r.response(
        "create",
        await api.request("POST", configMapsPath(ns), { body: configMap("c", { a: "1" }) }),
      );
      const current = (await api.request("GET", configMapsPath(ns, "c"))).body as Body;
      r.response("get", await api.request("GET", configMapsPath(ns, "c")));
      r.response(
        "update",
        await api.request("PUT", configMapsPath(ns, "c"), {
          body: { ...current, data: { a: "2" } },
        }),
      );
      r.response(
        "merge patch",
        await api.request("PATCH", configMapsPath(ns, "c"), { body: { data: { b: "1" } } }),
      );
      r.response(
        "JSON patch",
        await api.request("PATCH", configMapsPath(ns, "c"), {
          body: [{ op: "add", path: "/data/c", value: "1" }],
          contentType: "application/json-patch+json",
        }),
      );
      r.response(
        "JSON patch with a failing test",
        await api.request("PATCH", configMapsPath(ns, "c"), {
          body: [{ op: "test", path: "/data/a", value: "nope" }],
          contentType: "application/json-patch+json",
        }),
      );
      r.response(
        "create with empty data",
        await api.request("POST", configMapsPath(ns), {
          body: { metadata: { name: "empty" }, data: {} },
        }),
      );
      r.response("list", await api.request("GET", configMapsPath(ns)));
      r.response("delete", await api.request("DELETE", configMapsPath(ns, "c")));
      await must(api, "POST", configMapsPath(ns), configMap("held", {}, { finalizers: ["x/y"] }));
      r.response(
        "delete held by a finalizer",
        await api.request("DELETE", configMapsPath(ns, "held")),
      );
      r.response(
        "delete with a wrong uid precondition",
        await api.request("DELETE", configMapsPath(ns, "held"), {
          body: { preconditions: { uid: "00000000-0000-0000-0000-000000000000" } },
        }),
      );
      await must(api, "PATCH", configMapsPath(ns, "held"), { metadata: { finalizers: null } });
      r.response(
        "delete namespace",
        await api.request("DELETE", `/api/v1/namespaces/${ns}`),
        (body: Body) => ({
          kind: body.kind,
          metadata: {
            name: body.metadata?.name,
            deletionTimestamp: !!body.metadata?.deletionTimestamp,
          },
          spec: body.spec,
          phase: body.status?.phase,
        }),
      );
    },
  },
  {
    name: "finalizers: a deleted object waits for them, and none can be added",
    async run(api, r) {
      const ns = "conformance-finalizers";
      await createNamespace(api, ns);
      await must(api, "POST", configMapsPath(ns), configMap("f", {}, { finalizers: ["x/a"] }));
      r.response("delete", await api.request("DELETE", configMapsPath(ns, "f")));
      r.response("still there", await api.request("GET", configMapsPath(ns, "f")));
      r.response(
        "add a finalizer",
        await api.request("PATCH", configMapsPath(ns, "f"), {
          body: { metadata: { finalizers: ["x/a", "x/b"] } },
        }),
      );
      r.response(
        "change data while deleting",
        await api.request("PATCH", configMapsPath(ns, "f"), { body: { data: { k: "v" } } }),
      );
      r.response(
        "remove the finalizer",
        await api.request("PATCH", configMapsPath(ns, "f"), {
          body: { metadata: { finalizers: null } },
        }),
      );
      r.response("gone", await api.request("GET", configMapsPath(ns, "f")));
    },
  },
  {
    name: "namespaces: Terminating refuses new content, then the namespace goes",
    async run(api, r, context) {
      const ns = "conformance-lifecycle";
      r.response(
        "create",
        await api.request("POST", "/api/v1/namespaces", { body: { metadata: { name: ns } } }),
        (body: Body) => ({
          kind: body.kind,
          labels: body.metadata?.labels,
          spec: body.spec,
          status: body.status,
        }),
      );
      // A finalizer inside holds the namespace in Terminating on both servers.
      await must(
        api,
        "POST",
        configMapsPath(ns),
        configMap("inside", {}, { finalizers: ["x/hold"] }),
      );
      r.response(
        "delete",
        await api.request("DELETE", `/api/v1/namespaces/${ns}`),
        (body: Body) => ({ kind: body.kind, spec: body.spec, phase: body.status?.phase }),
      );
      r.response(
        "create inside",
        await api.request("POST", configMapsPath(ns), { body: configMap("late") }),
      );
      r.response(
        "delete again",
        await api.request("DELETE", `/api/v1/namespaces/${ns}`),
        (body: Body) => ({ kind: body.kind, phase: body.status?.phase }),
      );
      await must(api, "PATCH", configMapsPath(ns, "inside"), { metadata: { finalizers: null } });
      if (!context.namespacesFinishDeleting) return;
      const gone = await poll(
        async () => (await api.request("GET", `/api/v1/namespaces/${ns}`)).status === 404,
        30_000,
      );
      r.record("gone", gone);
      r.response(
        "create again",
        await api.request("POST", "/api/v1/namespaces", { body: { metadata: { name: ns } } }),
        (body: Body) => ({ kind: body.kind, phase: body.status?.phase }),
      );
    },
  },
  {
    name: "strategic merge patch: merge keys and directives on built-in kinds",
    async run(api, r) {
      const ns = "conformance-smp";
      await createNamespace(api, ns);
      const smp = (path: string, body: unknown) =>
        api.request("PATCH", path, { body, contentType: "application/strategic-merge-patch+json" });
      // Owners that exist, so that a garbage collector leaves the object alone.
      const owner = async (name: string) => {
        const created = await must(api, "POST", configMapsPath(ns), configMap(name));
        const uid = (created.metadata as { uid: string }).uid;
        return { apiVersion: "v1", kind: "ConfigMap", name, uid };
      };
      const one = await owner("one");
      const two = await owner("two");
      await must(
        api,
        "POST",
        configMapsPath(ns),
        configMap("c", { k1: "1", k2: "2" }, {
          labels: { a: "1", b: "2" },
          finalizers: ["x/a"],
          ownerReferences: [one],
        }),
      );
      r.response(
        "maps merge, null deletes, finalizers and ownerReferences merge",
        await smp(configMapsPath(ns, "c"), {
          metadata: {
            labels: { b: null, c: "3" },
            finalizers: ["x/b"],
            ownerReferences: [two],
          },
          data: { k1: null, k3: "3" },
        }),
      );
      r.response(
        "$deleteFromPrimitiveList",
        await smp(configMapsPath(ns, "c"), {
          metadata: { "$deleteFromPrimitiveList/finalizers": ["x/a"] },
        }),
      );
      r.response(
        "$patch: delete in a merged list",
        await smp(configMapsPath(ns, "c"), {
          metadata: {
            ownerReferences: [{ uid: one.uid, $patch: "delete" }],
          },
        }),
      );
      r.response(
        "$patch: replace on a map",
        await smp(configMapsPath(ns, "c"), { metadata: { labels: { $patch: "replace", z: "9" } } }),
      );
      await must(api, "PATCH", configMapsPath(ns, "c"), { metadata: { finalizers: null } });
      const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`;
      await must(api, "POST", rbac, {
        metadata: { name: "r" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
      });
      r.response(
        "a list without a merge key is replaced",
        await smp(`${rbac}/r`, {
          rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["list"] }],
        }),
        (body: Body) => ({ status: body.status, rules: body.rules }),
      );
      const quotas = `/api/v1/namespaces/${ns}/resourcequotas`;
      await must(api, "POST", quotas, { metadata: { name: "q" }, spec: { hard: { pods: "1" } } });
      r.response(
        "quota hard merges",
        await smp(`${quotas}/q`, { spec: { hard: { "requests.cpu": "1" } } }),
        (body: Body) => ({ spec: body.spec }),
      );
      const limits = `/api/v1/namespaces/${ns}/limitranges`;
      await must(api, "POST", limits, {
        metadata: { name: "l" },
        spec: { limits: [{ type: "Container", max: { cpu: "1" } }] },
      });
      r.response(
        "limit range limits",
        await smp(`${limits}/l`, {
          spec: { limits: [{ type: "Pod", max: { cpu: "2" } }] },
        }),
        (body: Body) => ({ spec: body.spec }),
      );
      const policies = `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`;
      await must(api, "POST", policies, {
        metadata: { name: "p" },
        spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] },
      });
      r.response(
        "network policy ingress",
        await smp(`${policies}/p`, {
          spec: { ingress: [{ from: [{ namespaceSelector: {} }] }] },
        }),
        (body: Body) => ({ spec: body.spec }),
      );
    },
  },
  {
    name: "built-in kinds: defaults and canonical quantities",
    async run(api, r) {
      const ns = "conformance-defaults";
      await createNamespace(api, ns);
      r.response(
        "a NetworkPolicy without policyTypes or protocols",
        await api.request("POST", `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`, {
          body: {
            metadata: { name: "p" },
            spec: {
              podSelector: {},
              ingress: [{ ports: [{ port: 80 }] }],
              egress: [{ ports: [{ port: 53, protocol: "UDP" }, { port: 53 }] }],
            },
          },
        }),
        (body: Body) => ({ status: body.status, spec: body.spec }),
      );
      r.response(
        "a ResourceQuota spelled unusually",
        await api.request("POST", `/api/v1/namespaces/${ns}/resourcequotas`, {
          body: {
            metadata: { name: "q" },
            spec: { hard: { "requests.cpu": "8000m", "requests.memory": "16384Mi", pods: "10" } },
          },
        }),
        (body: Body) => ({ status: body.status, spec: body.spec }),
      );
    },
  },
  {
    name: "server-side apply: field managers, conflicts, force",
    async run(api, r) {
      const ns = "conformance-apply";
      await createNamespace(api, ns);
      const apply = (manager: string | undefined, body: unknown, force = false) =>
        api.request("PATCH", configMapsPath(ns, "applied"), {
          body: JSON.stringify(body),
          contentType: "application/apply-patch+yaml",
          query: {
            ...(manager ? { fieldManager: manager } : {}),
            ...(force ? { force: "true" } : {}),
          },
        });
      const view = (body: Body) => ({
        kind: body.kind,
        reason: body.reason,
        message: body.message,
        causes: body.details?.causes,
        data: body.data,
        managers: managers(body),
      });
      r.response("apply creates", await apply("alice", configMap("applied", { a: "1" })), view);
      r.response(
        "apply again, unchanged",
        await apply("alice", configMap("applied", { a: "1" })),
        view,
      );
      r.response(
        "another manager conflicts",
        await apply("bob", configMap("applied", { a: "2" })),
        view,
      );
      r.response(
        "force takes the field",
        await apply("bob", configMap("applied", { a: "2" }), true),
        view,
      );
      r.response(
        "a manager drops a field it no longer owns",
        await apply("alice", configMap("applied", { b: "1" })),
        view,
      );
      r.response("without a field manager", await apply(undefined, configMap("applied")), view);
      r.response(
        "an update keeps managedFields",
        await api.request("PATCH", configMapsPath(ns, "applied"), {
          body: { data: { c: "1" } },
          query: { fieldManager: "carol" },
        }),
        view,
      );
      r.response(
        "a create records its manager",
        await api.request("POST", configMapsPath(ns), {
          body: configMap("created", { a: "1" }),
          query: { fieldManager: "dave" },
        }),
        view,
      );
    },
  },
  {
    name: "limits: request body size and object size",
    async run(api, r) {
      const ns = "conformance-limits";
      await createNamespace(api, ns);
      r.response(
        "a body over 3 MiB",
        await api.request("POST", configMapsPath(ns), {
          body: configMap("huge", { blob: "x".repeat(3 * 1024 * 1024 + 1024) }),
        }),
      );
      r.response(
        "a ConfigMap over 1 MiB",
        await api.request("POST", configMapsPath(ns), {
          body: configMap("big", { blob: "x".repeat(1024 * 1024 + 1) }),
        }),
      );
    },
  },
  {
    name: "representations: metadata only and Table",
    async run(api, r) {
      const ns = "conformance-partial";
      await createNamespace(api, ns);
      await must(
        api,
        "POST",
        configMapsPath(ns),
        configMap("p", { a: "1" }, { labels: { x: "y" } }),
      );
      r.response(
        "list as PartialObjectMetadataList",
        await api.request("GET", configMapsPath(ns), { accept: PARTIAL_LIST }),
        (body: Body) => ({
          kind: body.kind,
          apiVersion: body.apiVersion,
          items: body.items?.map((item: Body) => ({
            kind: item.kind,
            apiVersion: item.apiVersion,
            name: item.metadata?.name,
            labels: item.metadata?.labels,
            data: item.data,
          })),
        }),
      );
      r.response(
        "get as PartialObjectMetadata",
        await api.request("GET", configMapsPath(ns, "p"), { accept: PARTIAL }),
        (body: Body) => ({
          kind: body.kind,
          apiVersion: body.apiVersion,
          name: body.metadata?.name,
          data: body.data,
        }),
      );
      r.response(
        "list as Table",
        await api.request("GET", configMapsPath(ns), { accept: TABLE }),
        (body: Body) => ({
          kind: body.kind,
          apiVersion: body.apiVersion,
          columns: body.columnDefinitions?.map((column: Body) => column.name),
          cells: body.rows?.map((row: Body) => row.cells?.slice(0, -1)),
        }),
      );
      const watch = await api.watch(configMapsPath(ns), {
        accept: PARTIAL,
        until: (events) => events.length >= 1,
        timeoutMs: 5_000,
      });
      r.watch("watch metadata only", watch, (event) => ({
        type: event.type,
        kind: event.object.kind,
        apiVersion: event.object.apiVersion,
        data: event.object.data,
      }));
    },
  },
];
