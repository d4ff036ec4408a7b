// `deno task dev`: the one-command playground. Starts the dev API server,
// installs the Tenant CRD, runs the operator against it, applies the samples,
// and tells the user how to poke at it with kubectl; Ctrl-C stops everything.
import { parseArgs } from "node:util";
import { parseAllDocuments } from "yaml";
import { startDevApiServer } from "../dev_apiserver/mod.ts";
import { connect, customResourceDefinitions, type KubeObject } from "../lib/client/mod.ts";
import { TENANT_RESOURCE } from "../lib/api/mod.ts";
import { log, parseLogLevel, setupLogging } from "../lib/log.ts";
import { Manager } from "../lib/operator/manager.ts";
import { processIdentity } from "../lib/operator/run.ts";
import { Registry } from "../lib/metrics/registry.ts";

const DEPLOY = new URL("../deploy/", import.meta.url);

const HELP = `deno task dev: the kleff tenant operator on an in-memory Kubernetes API server.

Flags:
  --port N             API server port on 127.0.0.1 (default 8001; 0 = any free port)
  --kubeconfig PATH    where to write the kubeconfig (default ./dev.kubeconfig)
  --no-samples         do not create the sample Tenants
  --log-level LEVEL    trace, debug, info, warning, error (default info)
  -h, --help           print this help
`;

/** Reads every YAML document of a file under deploy/. */
async function readDocuments(path: string): Promise<KubeObject[]> {
  const text = await Deno.readTextFile(new URL(path, DEPLOY));
  return parseAllDocuments(text).map((document) => document.toJSON() as KubeObject).filter(
    Boolean,
  );
}

/** Runs the playground until SIGINT/SIGTERM; resolves to the exit code. */
export async function runPlayground(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: "string", default: "8001" },
        kubeconfig: { type: "string", default: "dev.kubeconfig" },
        "no-samples": { type: "boolean", default: false },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`error: --port: not a port number: "${values.port}"`);
    return 2;
  }
  await setupLogging({ level: parseLogLevel(values["log-level"]), format: "pretty" });
  const server = await startDevApiServer({ port });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await server.writeKubeconfig(values.kubeconfig);
    const client = await connect({ kubeconfig: values.kubeconfig });
    let running: Promise<unknown> | undefined;
    try {
      for (const crd of await readDocuments("crd.yaml")) {
        await client.resource(customResourceDefinitions).create(crd);
      }
      const manager = new Manager(client, {
        concurrency: 4,
        resyncPeriodMs: 600_000,
        metrics: new Registry(),
        instance: processIdentity(),
      });
      running = manager.run(stop.signal);
      const samples: string[] = [];
      if (!values["no-samples"]) {
        for await (const entry of Deno.readDir(new URL("samples/", DEPLOY))) {
          if (entry.isFile && entry.name.endsWith(".yaml")) samples.push(entry.name);
        }
        samples.sort();
        for (const file of samples) {
          for (const tenant of await readDocuments(`samples/${file}`)) {
            await client.resource(TENANT_RESOURCE).create(tenant);
          }
        }
      }
      const kc = `--kubeconfig ${values.kubeconfig}`;
      console.log(`
kleff dev playground: API server at ${server.url}, operator running.
${samples.length ? `Applied deploy/samples/: ${samples.join(", ")}\n` : ""}
Try:
  kubectl ${kc} get tenants -o wide
  kubectl ${kc} wait --for=condition=TenantReady tenant/example-tenant
  kubectl ${kc} get namespace user-12345 --show-labels
  kubectl ${kc} describe tenant example-tenant
  kubectl ${kc} explain tenant.spec
  kubectl ${kc} apply -f deploy/samples/pro-tenant.yaml
  kubectl ${kc} delete tenant example-tenant
  kubectl ${kc} get tenants -w

Ctrl-C stops the operator and the server.
`);
      await running;
    } finally {
      // On an error too: the operator stops, and is done with the client, before it is closed.
      stop.abort();
      await running?.catch(() => {});
      client.close();
    }
    return 0;
  } catch (error) {
    log("dev").fatal("playground failed: {error}", {
      error: error instanceof Error ? error.message : String(error),
    });
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await server.close();
    log("dev").info("playground stopped");
  }
}

if (import.meta.main) Deno.exit(await runPlayground(Deno.args));
