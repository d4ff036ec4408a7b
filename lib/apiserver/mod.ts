// Public face of the dev API server: an in-memory Kubernetes API server for tests and `deno task dev`.
export { type DevApiServer, type DevApiServerOptions, startDevApiServer } from "./server.ts";
export type { AuthorizationMode } from "./authorization.ts";
export type { Counters, RequestCount } from "./counters.ts";
export type { FaultRule, Faults } from "./faults.ts";
export type { Kubeconfig } from "./kubeconfig.ts";
export type { Identity, KubeObject, Verb } from "./types.ts";
