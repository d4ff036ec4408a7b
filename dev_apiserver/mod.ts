// Public face of the dev API server: an in-memory Kubernetes API server for tests and `deno task dev`.
export { type DevApiServer, type DevApiServerOptions, startDevApiServer } from "./http/server.ts";
export type { AuthorizationMode } from "./auth/authorization.ts";
export type { Counters, RequestCount } from "./http/counters.ts";
export {
  type FaultRule,
  type Faults,
  type Trickle,
  trickle,
  type WatchCorruption,
} from "./http/faults.ts";
export type { Kubeconfig } from "./auth/kubeconfig.ts";
export type { Identity, KubeObject, Verb } from "./types.ts";
