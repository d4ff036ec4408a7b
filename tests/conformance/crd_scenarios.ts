// Conformance scenarios about custom resources: pruning, defaulting and validation by the
// structural schema, the status subresource and generation, CEL rules, and what DELETE answers.
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import { parse } from "yaml";
import type { Body } from "./observe.ts";
import { createNamespace, must, type Scenario } from "./scenario.ts";

const GROUP = "conformance.kleff.io";

/** A namespaced kind with defaults, bounds, an enum, a free-form subtree, a CEL rule, a status. */
export const GADGETS = parse(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: gadgets.${GROUP} }
spec:
  group: ${GROUP}
  scope: Namespaced
  names: { plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList }
  versions:
    - name: v1
      served: true
      storage: true
      subresources: { status: {} }
      additionalPrinterColumns: [{ name: Size, type: integer, jsonPath: .spec.size }]
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: { type: integer, minimum: 1, maximum: 10, default: 3 }
                color: { type: string, enum: [red, green, blue], default: red }
                tags: { type: array, maxItems: 3, items: { type: string } }
                config: { type: object, x-kubernetes-preserve-unknown-fields: true }
                nested: { type: object, properties: { keep: { type: string } } }
                owner:
                  type: string
                  x-kubernetes-validations:
                    - { rule: self == oldSelf, message: owner is immutable }
            status:
              type: object
              properties: { phase: { type: string }, observed: { type: integer } }
`) as CustomResourceDefinition;

/** The path of the Gadgets of namespace `ns` (and of `name`, and its subresource). */
export const gadgetsPath = (ns: string, name?: string, sub?: string): string =>
  `/apis/${GROUP}/v1/namespaces/${ns}/gadgets${name ? `/${name}` : ""}${sub ? `/${sub}` : ""}`;

/** A Gadget body. */
export const gadget = (
  name: string,
  spec: unknown,
  extra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  apiVersion: `${GROUP}/v1`,
  kind: "Gadget",
  metadata: { name },
  spec,
  ...extra,
});

/** An Invalid answer's message and causes (each cause's reason and field). */
const invalidView = (body: Body) => ({
  kind: body.kind,
  reason: body.reason,
  code: body.code,
  message: body.message,
  causes: body.details?.causes?.map((cause: Body) => ({ reason: cause.reason, field: cause.field }))
    .sort((a: Body, b: Body) => `${a.field}`.localeCompare(`${b.field}`)),
});

export const CRD_SCENARIOS: Scenario[] = [
  {
    name: "custom resources: pruning, defaulting and schema validation",
    async run(api, r) {
      const ns = "conformance-schema";
      await createNamespace(api, ns);
      await api.installCrd(GADGETS);
      const create = (body: unknown) => api.request("POST", gadgetsPath(ns), { body });
      r.response(
        "unknown fields pruned, defaults applied, free-form kept",
        await create(gadget("pruned", {
          size: 5,
          extra: "dropped",
          nested: { keep: "k", drop: 1 },
          config: { any: { thing: [1, "two"] } },
        }, { unknownTop: 1 })),
        (body: Body) => ({ status: body.status, spec: body.spec, unknownTop: body.unknownTop }),
      );
      r.response("stored as answered", await api.request("GET", gadgetsPath(ns, "pruned")));
      r.response(
        "an empty spec gets every default",
        await create(gadget("defaults", {})),
        (body: Body) => ({ spec: body.spec }),
      );
      r.response("below the minimum", await create(gadget("small", { size: 0 })), invalidView);
      r.response("wrong type", await create(gadget("typed", { size: "big" })), invalidView);
      r.response("not in the enum", await create(gadget("pink", { color: "pink" })), invalidView);
      r.response(
        "too many items",
        await create(gadget("tags", { tags: ["a", "b", "c", "d"] })),
        invalidView,
      );
      r.response(
        "two problems at once",
        await create(gadget("both", { size: 11, color: "pink" })),
        invalidView,
      );
    },
  },
  {
    name: "custom resources: the status subresource and generation",
    async run(api, r) {
      const ns = "conformance-status";
      await createNamespace(api, ns);
      await api.installCrd(GADGETS);
      const view = (body: Body) => ({
        kind: body.kind,
        reason: body.reason,
        generation: body.metadata?.generation,
        spec: body.spec,
        status: body.status,
        labels: body.metadata?.labels,
      });
      r.response(
        "create ignores status",
        await api.request("POST", gadgetsPath(ns), {
          body: gadget("g", { size: 2 }, { status: { phase: "Made-up" } }),
        }),
        view,
      );
      const current = await must(api, "GET", gadgetsPath(ns, "g"));
      r.response(
        "update of the main resource ignores status",
        await api.request("PUT", gadgetsPath(ns, "g"), {
          body: { ...current, spec: { size: 4 }, status: { phase: "Ignored" } },
        }),
        view,
      );
      r.response(
        "status patch ignores spec",
        await api.request("PATCH", gadgetsPath(ns, "g", "status"), {
          body: { spec: { size: 9 }, status: { phase: "Ready", observed: 2 } },
        }),
        view,
      );
      r.response(
        "a metadata change keeps the generation",
        await api.request("PATCH", gadgetsPath(ns, "g"), {
          body: { metadata: { labels: { a: "b" } } },
        }),
        view,
      );
      r.response(
        "get the status subresource",
        await api.request("GET", gadgetsPath(ns, "g", "status")),
        view,
      );
      r.response(
        "status of a missing object",
        await api.request("PATCH", gadgetsPath(ns, "missing", "status"), {
          body: { status: { phase: "x" } },
        }),
      );
    },
  },
  {
    name: "custom resources: CEL validation rules",
    async run(api, r) {
      const ns = "conformance-cel";
      await createNamespace(api, ns);
      await api.installCrd(GADGETS);
      await must(api, "POST", gadgetsPath(ns), gadget("c", { owner: "alice" }));
      r.response(
        "a transition rule refuses the change",
        await api.request("PATCH", gadgetsPath(ns, "c"), { body: { spec: { owner: "bob" } } }),
        invalidView,
      );
    },
  },
  {
    name: "custom resources: what DELETE answers",
    async run(api, r) {
      const ns = "conformance-delete";
      await createNamespace(api, ns);
      await api.installCrd(GADGETS);
      await must(api, "POST", gadgetsPath(ns), gadget("d", {}));
      r.response("delete", await api.request("DELETE", gadgetsPath(ns, "d")));
      await must(api, "POST", gadgetsPath(ns), {
        ...gadget("held", {}),
        metadata: { name: "held", finalizers: ["x/y"] },
      });
      r.response(
        "delete held by a finalizer",
        await api.request("DELETE", gadgetsPath(ns, "held")),
      );
      await must(api, "PATCH", gadgetsPath(ns, "held"), { metadata: { finalizers: null } });
    },
  },
];
