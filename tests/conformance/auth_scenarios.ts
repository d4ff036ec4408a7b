// Conformance scenarios about who may do what: a service account refused until a Role grants
// it, the wording of 403s at namespace and cluster scope, and bad or missing credentials.
import { SERVICE_ACCOUNTS } from "./api.ts";
import { configMapsPath, createNamespace, must, poll, type Scenario } from "./scenario.ts";

export const AUTH_SCENARIOS: Scenario[] = [
  {
    name: "RBAC: a service account is refused, then allowed by a Role",
    async run(api, r) {
      const [ns, account] = SERVICE_ACCOUNTS[0].split("/");
      await createNamespace(api, ns);
      await must(api, "POST", `/api/v1/namespaces/${ns}/serviceaccounts`, {
        metadata: { name: account },
      });
      const token = await api.serviceAccountToken(ns, account);
      const as = (method: string, path: string) => api.request(method, path, { token });
      r.response("list ConfigMaps", await as("GET", configMapsPath(ns)));
      r.response("get a Secret", await as("GET", `/api/v1/namespaces/${ns}/secrets/s`));
      r.response("list namespaces", await as("GET", "/api/v1/namespaces"));
      r.response(
        "create a cluster-scoped object",
        await api.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
          token,
          body: { metadata: { name: "escalate" }, rules: [] },
        }),
      );
      await must(api, "POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
        metadata: { name: "reader" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      });
      await must(api, "POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
        metadata: { name: "reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" },
        subjects: [{ kind: "ServiceAccount", name: account, namespace: ns }],
      });
      r.record(
        "allowed once bound",
        await poll(async () => (await as("GET", configMapsPath(ns))).status === 200, 10_000),
      );
      r.response("still no Secrets", await as("GET", `/api/v1/namespaces/${ns}/secrets`));
      r.response(
        "not create either",
        await api.request("POST", configMapsPath(ns), {
          token,
          body: { metadata: { name: "x" } },
        }),
      );
      r.response("version", await as("GET", "/version"), () => "answered");
      r.response(
        "a token nobody issued",
        await api.request("GET", configMapsPath(ns), {
          token: "not-a-token",
        }),
      );
    },
  },
];
