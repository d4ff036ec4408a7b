// Benchmark of ValidatingAdmissionPolicy evaluation in the dev API server: NetworkPolicy patches by
// the operator's service account in a tenant namespace, with and without deploy/'s policies, and
// the rate at which a tenant admin's patches are denied.
import { parseAllDocuments } from "yaml";
import { startDevApiServer } from "../dev_apiserver/mod.ts";

const WRITERS = 8;
const DURATION_MS = 3000;
const OPERATOR_TOKEN = "operator-token";
const TENANT_TOKEN = "tenant-token";

/** deploy/'s policy and binding objects. */
async function deployPolicies(): Promise<Record<string, unknown>[]> {
  const objects: Record<string, unknown>[] = [];
  for (const file of ["policy_tenant_namespaces.yaml", "policy_tenant_objects.yaml"]) {
    const text = await Deno.readTextFile(new URL(`../deploy/${file}`, import.meta.url));
    for (const doc of parseAllDocuments(text)) objects.push(doc.toJS());
  }
  return objects;
}

/** Patches kleff-isolation in ns-a with `token` for DURATION_MS; returns [writes/s, denials/s]. */
async function patchRate(withPolicies: boolean, token: string): Promise<[number, number]> {
  const server = await startDevApiServer({
    tokens: ["admin-token"],
    serviceAccountTokens: {
      [OPERATOR_TOKEN]: "kleff-system/kleff-tenant-operator",
      [TENANT_TOKEN]: "ns-a/admin",
    },
  });
  const send = (method: string, path: string, body: unknown, as = "admin-token") =>
    fetch(server.url + path, {
      method,
      body: JSON.stringify(body),
      headers: {
        authorization: `Bearer ${as}`,
        "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json",
      },
    }).then((response) => response.body?.cancel().then(() => response.status));
  try {
    await send("POST", "/api/v1/namespaces", {
      metadata: {
        name: "ns-a",
        labels: { "app.kubernetes.io/managed-by": "kleff-tenant-operator" },
      },
    });
    await send("POST", "/apis/networking.k8s.io/v1/namespaces/ns-a/networkpolicies", {
      metadata: { name: "kleff-isolation" },
      spec: { podSelector: {} },
    });
    if (withPolicies) {
      for (const object of await deployPolicies()) {
        const plural = object.kind === "ValidatingAdmissionPolicy"
          ? "validatingadmissionpolicies"
          : "validatingadmissionpolicybindings";
        await send("POST", `/apis/admissionregistration.k8s.io/v1/${plural}`, object);
      }
    }
    const path = "/apis/networking.k8s.io/v1/namespaces/ns-a/networkpolicies/kleff-isolation";
    let writes = 0;
    let denials = 0;
    const deadline = Date.now() + DURATION_MS;
    const started = performance.now();
    await Promise.all(Array.from({ length: WRITERS }, async (_, id) => {
      for (let n = 0; Date.now() < deadline; n++) {
        const status = await send("PATCH", path, {
          metadata: { labels: { writer: `${id}-${n}` } },
        }, token);
        if (status === 200) writes++;
        else denials++;
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    return [writes / seconds, denials / seconds];
  } finally {
    await server.close();
  }
}

/** Prints patch rates with and without deploy/'s admission policies. */
export async function benchAdmission(): Promise<void> {
  const [without] = await patchRate(false, OPERATOR_TOKEN);
  const [allowed] = await patchRate(true, OPERATOR_TOKEN);
  const [, denied] = await patchRate(true, TENANT_TOKEN);
  // One process, busy throughout: the difference of the time per write is the policies' cost.
  const overheadUs = 1e6 / allowed - 1e6 / without;
  console.log(
    `admission: operator patches ${Math.round(without)}/s without deploy/'s policies, ` +
      `${Math.round(allowed)}/s with them (about ${Math.round(overheadUs)} µs more per write); ` +
      `a tenant admin's patches denied at ${Math.round(denied)}/s (${WRITERS} writers, ${
        DURATION_MS / 1000
      } s each)`,
  );
}

if (import.meta.main) await benchAdmission();
