// The standard process metrics of the Prometheus client libraries (resident memory, CPU time,
// start time), read from the runtime when scraped, so that dashboards and alerts written for any
// exporter work here. `process_open_fds` is left out: it needs read access to /proc/self/fd, which
// the image's narrowed Deno permissions do not grant.
import process from "node:process";
import { CollectedCounter, CollectedGauge, type Registry } from "./registry.ts";

/** Registers `process_resident_memory_bytes`, `process_cpu_seconds_total` and `process_start_time_seconds`. */
export function registerProcessMetrics(registry: Registry): void {
  registry.register(
    new CollectedGauge(
      "process_resident_memory_bytes",
      "Resident memory size in bytes.",
      () => [{ labels: {}, value: Deno.memoryUsage().rss }],
    ),
  );
  registry.register(
    new CollectedCounter(
      "process_cpu_seconds_total",
      "Total user and system CPU time spent in seconds.",
      () => {
        const { user, system } = process.cpuUsage();
        return [{ labels: {}, value: (user + system) / 1e6 }];
      },
    ),
  );
  registry.register(
    new CollectedGauge(
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.",
      () => [{ labels: {}, value: performance.timeOrigin / 1000 }],
    ),
  );
}
