// The operator (as its own process) under faults that do not close connections or that send too
// much: time from frozen connections to the tenant reconciled again, SIGTERM-to-exit at several
// moments, and peak RSS while a server sends a 256 MiB body or an endless `continue`. Prints
// numbers, asserts nothing.
import type { Tenant } from "../lib/api/mod.ts";
import { TENANT_RESOURCE } from "../lib/api/mod.ts";
import { connect } from "../lib/client/mod.ts";
import { startDevApiServer } from "../dev_apiserver/mod.ts";
import { operatorCommand } from "../tools/operator_process.ts";
import { startFreezeProxy } from "../tools/chaos/freeze_proxy.ts";

const REQUEST_TIMEOUT = "2s";

/** An operator process with its metrics on a known port. */
class Operator {
  readonly child: Deno.ChildProcess;
  readonly metrics: string;

  constructor(kubeconfig: string, extra: string[] = []) {
    this.metrics = `127.0.0.1:${freePort()}`;
    this.child = new Deno.Command(Deno.execPath(), {
      ...operatorCommand([
        "--kubeconfig",
        kubeconfig,
        "--log-level",
        "error",
        "--log-format",
        "json",
        "--metrics-bind-address",
        this.metrics,
        "--health-probe-bind-address",
        "0",
        ...extra,
      ]),
      stdout: "null",
      stderr: "null",
    }).spawn();
  }

  async metric(pattern: RegExp): Promise<number> {
    try {
      const text = await (await fetch(`http://${this.metrics}/metrics`)).text();
      return Number(pattern.exec(text)?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  /** SIGTERM, and the ms until the process is gone. */
  async terminate(): Promise<number> {
    const start = performance.now();
    this.child.kill("SIGTERM");
    await this.child.status;
    return performance.now() - start;
  }

  async peakRssMiB(): Promise<number> {
    const output = await new Deno.Command("cat", {
      args: [`/proc/${this.child.pid}/status`],
      stdout: "piped",
    }).output();
    const status = new TextDecoder().decode(output.stdout);
    return Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1]) / 1024;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("bench: timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const spec = (userId: string) => ({ plan: "basic", userId, username: userId });

/** A dev API server, an admin client and a kubeconfig for the operator (optionally changed). */
async function bed(dir: string) {
  const server = await startDevApiServer({ bookmarkIntervalMs: 1000 });
  await server.writeKubeconfig(`${dir}/admin.kubeconfig`);
  const client = await connect({ kubeconfig: `${dir}/admin.kubeconfig` });
  const crd = (await import("yaml")).parse(
    await Deno.readTextFile(new URL("../deploy/crd.yaml", import.meta.url)),
  );
  await client.request({
    method: "POST",
    path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    body: crd,
  });
  const tenants = client.resource<Tenant>(TENANT_RESOURCE);
  const ready = async (name: string) => {
    const tenant = await tenants.get(name).catch(() => undefined);
    return tenant?.status?.conditions?.some((c) =>
      c.type === "TenantReady" && c.status === "True"
    ) ??
      false;
  };
  const create = (name: string) =>
    tenants.create({
      apiVersion: "kleff.kleff.io/v1",
      kind: "Tenant",
      metadata: { name },
      spec: spec(`user-${name}`) as Tenant["spec"],
    });
  const kubeconfig = async (server_: string, file: string) => {
    const config = structuredClone(server.kubeconfig);
    config.clusters[0].cluster.server = server_;
    await Deno.writeTextFile(`${dir}/${file}`, JSON.stringify(config));
    return `${dir}/${file}`;
  };
  return { server, client, ready, create, kubeconfig };
}

/** Frozen connections during a reconcile: the time until that tenant is Ready. */
async function frozen(dir: string): Promise<void> {
  const { server, client, ready, create, kubeconfig } = await bed(dir);
  const proxy = startFreezeProxy(new URL(server.url).host);
  const operator = new Operator(await kubeconfig(`http://${proxy.address}`, "frozen.kubeconfig"), [
    "--request-timeout",
    REQUEST_TIMEOUT,
    // Each round freezes the watches too: they must see the next round's tenant in time.
    "--watch-inactivity-timeout",
    "5s",
  ]);
  try {
    await create("before");
    await until(() => ready("before"));
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      server.faults.setLatency(60_000, { verb: "get", resource: "tenants" });
      await create(`during-${i}`);
      await until(async () =>
        (await operator.metric(/^controller_runtime_active_workers\{[^}]*\} (\S+)/m)) > 0
      );
      const start = performance.now();
      proxy.freezeOpen();
      server.faults.setLatency(0);
      await until(() => ready(`during-${i}`));
      times.push(performance.now() - start);
    }
    console.log(
      `  frozen connections to tenant Ready (--request-timeout ${REQUEST_TIMEOUT}): ${
        times.map((ms) => (ms / 1000).toFixed(2)).join(", ")
      } s (worst ${(Math.max(...times) / 1000).toFixed(2)} s)`,
    );
  } finally {
    await operator.terminate();
    await proxy.close();
    client.close();
    await server.close();
  }
}

/** SIGTERM at several moments: ms to exit each. */
async function sigterm(dir: string): Promise<void> {
  const { server, client, create, kubeconfig } = await bed(dir);
  const results: [string, number][] = [];
  const run = async (name: string, config: string, prepare: () => Promise<void>) => {
    const operator = new Operator(config);
    try {
      await prepare();
    } finally {
      results.push([name, await operator.terminate()]);
    }
  };
  const healthy = await kubeconfig(server.url, "healthy.kubeconfig");
  const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  await run("idle, all synced", healthy, () => wait(3000));
  const rejected = structuredClone(server.kubeconfig);
  rejected.users[0].user = { token: "rejected" };
  await Deno.writeTextFile(`${dir}/rejected.kubeconfig`, JSON.stringify(rejected));
  await run("rejected token", `${dir}/rejected.kubeconfig`, () => wait(3000));
  await run(
    "unreachable server",
    await kubeconfig(`http://127.0.0.1:${freePort()}`, "gone.kubeconfig"),
    () => wait(3000),
  );
  await run("during discovery (slow server)", healthy, async () => {
    server.faults.setLatency(60_000);
    await wait(1500);
  });
  server.faults.setLatency(0);
  await run("in a reconcile (slow server)", healthy, async () => {
    await wait(2500);
    server.faults.setLatency(60_000, { verb: "get", resource: "tenants" });
    await create("slow");
    await wait(1500);
  });
  server.faults.setLatency(0);
  for (const [name, ms] of results) console.log(`  SIGTERM to exit, ${name}: ${ms.toFixed(0)} ms`);
  console.log(
    `  SIGTERM to exit, worst: ${Math.max(...results.map(([, ms]) => ms)).toFixed(0)} ms`,
  );
  client.close();
  await server.close();
}

/** A hostile server: a 256 MiB body for discovery, or an endless `continue` for lists. */
async function hostile(dir: string, mode: "body" | "continue"): Promise<void> {
  const big = 256 * 1024 * 1024;
  const filler = new TextEncoder().encode(
    "[" + '"xxxxxxxxxxxxxxxxxxxxxxxxxxxxx",'.repeat(2047) + "",
  );
  let served = 0;
  let page = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    if (url.searchParams.get("watch") === "1") {
      return Response.json({ kind: "Status", code: 400, reason: "BadRequest", message: "no" }, {
        status: 400,
      });
    }
    if (mode === "continue" && url.searchParams.has("limit")) {
      const items = Array.from({ length: 500 }, (_, i) => ({
        metadata: {
          name: `t-${page}-${i}`,
          resourceVersion: "1",
          labels: { padding: "x".repeat(60) },
        },
      }));
      return Response.json({ metadata: { resourceVersion: "1", continue: `p${++page}` }, items });
    }
    if (mode === "continue") return Response.json({ kind: "APIGroupList", groups: [] });
    let sent = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= big) return controller.close();
          sent += filler.length;
          served += filler.length;
          controller.enqueue(filler);
        },
      }),
    );
  });
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "h", cluster: { server: `http://127.0.0.1:${server.addr.port}` } }],
    users: [{ name: "h", user: { token: "t" } }],
    contexts: [{ name: "h", context: { cluster: "h", user: "h" } }],
    "current-context": "h",
  };
  await Deno.writeTextFile(`${dir}/hostile.kubeconfig`, JSON.stringify(config));
  const operator = new Operator(`${dir}/hostile.kubeconfig`);
  await new Promise((resolve) => setTimeout(resolve, 20_000));
  const peak = await operator.peakRssMiB();
  await operator.terminate();
  await server.shutdown();
  console.log(
    mode === "body"
      ? `  peak RSS while every answer is a 256 MiB body: ${peak.toFixed(1)} MiB (${
        (served / 1024 / 1024).toFixed(0)
      } MiB sent in 20 s)`
      : `  peak RSS while every list keeps sending continue: ${
        peak.toFixed(1)
      } MiB (${page} pages served in 20 s)`,
  );
}

/** The `faults` section. */
export async function benchFaults(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kleff-bench-faults-" });
  try {
    await frozen(dir);
    await sigterm(dir);
    await hostile(dir, "body");
    await hostile(dir, "continue");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
