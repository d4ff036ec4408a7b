// The bench's view of Tenant readiness: one watch, opened before the measured process starts,
// that notes when each Tenant was first seen TenantReady=True, so a benchmark can wait for one
// tenant (create → Ready latency) or for a count (pending tenants to all Ready) without
// requests of its own while the measurement runs.
import { type KubeClient, type Tenant, TENANT_RESOURCE } from "../lib/client/mod.ts";
import { BenchTimeoutError } from "./operator_bench.ts";

/** Whether `tenant` is TenantReady=True. */
function isReady(tenant: Tenant): boolean {
  return tenant.status?.conditions?.some((condition) =>
    condition.type === "TenantReady" && condition.status === "True"
  ) ?? false;
}

/** Tenants seen Ready, with the time (`performance.now()`) each was first seen so. */
export class ReadyWatch implements AsyncDisposable {
  readonly #readyAt = new Map<string, number>();
  readonly #stop = new AbortController();
  readonly #synced = Promise.withResolvers<void>();
  #changed = Promise.withResolvers<void>();
  #failure?: unknown;
  readonly #loop: Promise<void>;

  /** Opens the watch and resolves once it has delivered the current state. */
  static async open(client: KubeClient): Promise<ReadyWatch> {
    const watch = new ReadyWatch(client);
    await watch.#synced.promise;
    return watch;
  }

  private constructor(client: KubeClient) {
    this.#loop = this.#run(client);
  }

  async #run(client: KubeClient): Promise<void> {
    try {
      const events = client.resource<Tenant>(TENANT_RESOURCE).watch({ signal: this.#stop.signal });
      for await (const event of events) {
        if (event.type === "SYNCED") {
          this.#synced.resolve();
          continue;
        }
        const name = event.object.metadata?.name ?? "";
        if (event.type !== "DELETED" && isReady(event.object)) {
          if (!this.#readyAt.has(name)) this.#readyAt.set(name, performance.now());
        } else this.#readyAt.delete(name);
        this.#wake();
      }
    } catch (error) {
      if (!this.#stop.signal.aborted) this.#failure = error;
    }
    this.#synced.resolve();
    this.#wake();
  }

  #wake(): void {
    this.#changed.resolve();
    this.#changed = Promise.withResolvers<void>();
  }

  /** Tenants Ready now. */
  get size(): number {
    return this.#readyAt.size;
  }

  /** When `name` was first seen Ready; waits for it up to `timeoutMs`. */
  async readyAt(name: string, timeoutMs: number): Promise<number> {
    await this.#until(() => this.#readyAt.has(name) ? 1 : 0, { expected: 1, timeoutMs });
    return this.#readyAt.get(name)!;
  }

  /** Resolves once `count` tenants are Ready; fails after `timeoutMs`. */
  async count(count: number, timeoutMs: number): Promise<void> {
    await this.#until(() => this.#readyAt.size, { expected: count, timeoutMs });
  }

  /** Waits until `ready()` reaches `expected`. */
  async #until(
    ready: () => number,
    { expected, timeoutMs }: { expected: number; timeoutMs: number },
  ): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (ready() < expected) {
      if (this.#failure !== undefined || this.#stop.signal.aborted) {
        throw new Error(`the ready watch ended: ${this.#failure ?? "closed"}`);
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new BenchTimeoutError(ready(), expected, timeoutMs);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#changed.promise,
        new Promise((resolve) => timer = setTimeout(resolve, left)),
      ]);
      clearTimeout(timer);
    }
  }

  /** Ends the watch. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }
}
