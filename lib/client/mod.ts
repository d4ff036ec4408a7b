// Public face of the Kubernetes client: connect from kubeconfig or in-cluster, then typed requests, resources and watches.
import { Discovery } from "./discovery.ts";
import type { ConnectionConfig } from "./connection.ts";
import { loadConnectionConfig, type LoadOptions } from "./kubeconfig.ts";
import { Requester, type RequesterOptions, type RequestOptions } from "./request.ts";
import { ResourceClient, type ResourceDescriptor } from "./resource.ts";
import type { KubeObjectBase } from "./types.ts";

export * from "./errors.ts";
export type {
  KubeObject,
  KubeObjectBase,
  ObjectList,
  ObjectMeta,
  Status,
  StatusCause,
} from "./types.ts";
export type { AuthConfig, ConnectionConfig, ExecConfig } from "./connection.ts";
export { loadConnectionConfig, type LoadOptions } from "./kubeconfig.ts";
export { type InClusterOptions, loadInClusterConfig, SERVICE_ACCOUNT_DIR } from "./in_cluster.ts";
export type { CredentialProviderOptions, Credentials } from "./credentials.ts";
export type { RequesterOptions, RequestOptions } from "./request.ts";
export type { BackoffPolicy } from "../backoff.ts";
export {
  type DeleteOptions,
  type ListOptions,
  type ObjectOptions,
  type PatchOptions,
  ResourceClient,
  type ResourceDescriptor,
  type WatchOptions,
} from "./resource.ts";
export * from "../api/mod.ts";
export { Discovery, preferredResource, type ServedResource } from "./discovery.ts";
export { DEFAULT_LIST_LIMITS, type ListLimits, type ListPage } from "./list.ts";
export { compareResourceVersions } from "./resource_version.ts";
export { DEFAULT_MAX_RESPONSE_BYTES } from "./body.ts";
export { DEFAULT_REQUEST_TIMEOUT_MS } from "./request.ts";
export {
  ResumableWatch,
  type WatchEvent,
  type WatchHealth,
  type WatchRestartCause,
  type WatchTimings,
} from "./watch.ts";
export {
  DEFAULT_MAX_LINE_BYTES,
  parseWatchStream,
  type WatchStreamEvent,
  type WatchStreamOptions,
} from "./watch_stream.ts";

/** Options of {@linkcode connect}. */
export interface KubeClientOptions extends RequesterOptions {
  /** Kubeconfig path (`--kubeconfig`); overrides `KUBECONFIG` and `~/.kube/config`. */
  kubeconfig?: string;
  /** Context name (`--context`). */
  context?: string;
  /** Environment lookup and service account folder overrides (tests). */
  load?: Pick<LoadOptions, "env" | "serviceAccountDir">;
}

/**
 * Connects using `--kubeconfig`, the `KUBECONFIG` list or `~/.kube/config`, or the in-cluster
 * service account when no kubeconfig exists and `KUBERNETES_SERVICE_HOST` is set.
 * Broken configuration throws a {@linkcode KubeconfigError}. No request is sent yet.
 */
export async function connect(options: KubeClientOptions = {}): Promise<KubeClient> {
  const config = await loadConnectionConfig({
    kubeconfig: options.kubeconfig,
    context: options.context,
    ...options.load,
  });
  return new KubeClient(config, options);
}

/** A connection to one API server. */
export class KubeClient implements Disposable {
  /** The server's base URL. */
  readonly server: string;
  /** The default namespace of the context or service account. */
  readonly namespace: string;
  /** Discovery of served kinds (fetched afresh on every call). */
  readonly discovery: Discovery;
  #requester: Requester;

  /** Creates a client from an already loaded configuration; prefer {@linkcode connect}. */
  constructor(config: ConnectionConfig, options: RequesterOptions = {}) {
    this.server = config.server;
    this.namespace = config.namespace;
    this.#requester = new Requester(config, options);
    this.discovery = new Discovery(this.#requester);
  }

  /** Sends a request; JSON in and out; HTTP errors become typed errors. */
  request<T>(options: RequestOptions): Promise<T> {
    return this.#requester.request<T>(options);
  }

  /** Sends a request and returns the body as a stream after checking the HTTP status. */
  stream(options: RequestOptions): Promise<ReadableStream<Uint8Array>> {
    return this.#requester.stream(options);
  }

  /** A typed client for one kind. */
  resource<T extends KubeObjectBase>(descriptor: ResourceDescriptor): ResourceClient<T> {
    return new ResourceClient<T>(this.#requester, descriptor);
  }

  /** Closes pooled connections. */
  close(): void {
    this.#requester.close();
  }

  /** Same as {@linkcode close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
