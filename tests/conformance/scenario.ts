// What a conformance scenario is, and the small builders the scenarios share.
import type { ConformanceApi } from "./api.ts";
import type { Recorder } from "./observe.ts";

/** What both runs of a scenario may rely on (the same for the dev and the real server). */
export interface ScenarioContext {
  /** Namespaces finish deleting on the real server (kube-controller-manager runs). */
  namespacesFinishDeleting: boolean;
}

/** One scenario: requests sent to each server, recording what comes back. */
export interface Scenario {
  /** What it is about (also the test's name). */
  name: string;
  /** Sends its requests to `api` and records the answers. */
  run(api: ConformanceApi, recorder: Recorder, context: ScenarioContext): Promise<void>;
}

/** A ConfigMap body (without `data` when there is none). */
export function configMap(
  name: string,
  data: Record<string, string> = {},
  metadata: Record<string, unknown> = {},
): Record<string, unknown> {
  const body = { apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...metadata } };
  return Object.keys(data).length > 0 ? { ...body, data } : body;
}

/** Creates namespace `name`, failing the scenario when the server refuses. */
export async function createNamespace(api: ConformanceApi, name: string): Promise<void> {
  const response = await api.request("POST", "/api/v1/namespaces", {
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
  });
  if (response.status !== 201) {
    throw new Error(`namespace ${name}: ${response.status} ${JSON.stringify(response.body)}`);
  }
}

/** Sends a request that must succeed (setup, not an observation). */
export async function must(
  api: ConformanceApi,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const response = await api.request(method, path, { body });
  if (response.status >= 300) {
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  }
  return response.body as Record<string, unknown>;
}

/** The path of the ConfigMaps of namespace `namespace` (and of `name`). */
export function configMapsPath(namespace: string, name?: string): string {
  return `/api/v1/namespaces/${namespace}/configmaps${name ? `/${name}` : ""}`;
}

/** The resourceVersion a list answer carries. */
export async function listVersion(api: ConformanceApi, path: string): Promise<string> {
  const list = await must(api, "GET", path) as { metadata: { resourceVersion: string } };
  return list.metadata.resourceVersion;
}

/** Polls `check` until it holds or `timeoutMs` passes; resolves to whether it held. */
export async function poll(
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
