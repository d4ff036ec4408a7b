// CLI of the dev API server: `deno task apiserver --port 8001 --kubeconfig ./dev.kubeconfig`.
import { parseArgs } from "node:util";
import { log, setupLogging } from "../lib/log.ts";
import { startDevApiServer } from "./mod.ts";

const HELP = `Usage: deno task apiserver [options]

An in-memory Kubernetes API server for development and tests.

Options:
  --port N                 port on 127.0.0.1 (default 8001; 0 picks a free port)
  --kubeconfig PATH        where to write a kubeconfig for kubectl (default ./dev.kubeconfig)
  --tls                    serve HTTPS with a generated CA (written into the kubeconfig)
  --token T                require this bearer token (written into the kubeconfig), /_dev/ too
  --history-limit N        watch events kept for resumes (default 10000)
  --bookmark-interval S    seconds between watch BOOKMARK events (default 60)
  --rbac                   hold service-account tokens to the RBAC objects stored in the server
  --service-account-token TOKEN=NAMESPACE/NAME
                           accept TOKEN as that service account (repeatable)
  -h, --help               show this help
`;

/** Thrown for unusable command-line values. */
class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function integer(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(`${flag}: expected an integer >= ${min}, got "${text}"`);
  }
  return value;
}

async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        port: { type: "string" },
        kubeconfig: { type: "string" },
        tls: { type: "boolean" },
        token: { type: "string" },
        "history-limit": { type: "string" },
        "bookmark-interval": { type: "string" },
        rbac: { type: "boolean" },
        "service-account-token": { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  await setupLogging({ format: "pretty" });
  const port = integer("--port", values.port, 8001, 0);
  const historyLimit = integer("--history-limit", values["history-limit"], 10_000, 0);
  const bookmarkSeconds = integer("--bookmark-interval", values["bookmark-interval"], 60, 1);
  const kubeconfigPath = values.kubeconfig ?? "./dev.kubeconfig";
  const serviceAccountTokens: Record<string, string> = {};
  for (const entry of values["service-account-token"] ?? []) {
    const match = /^([^=]+)=([^/=]+\/[^/=]+)$/.exec(entry);
    if (!match) {
      console.error(`--service-account-token: expected TOKEN=NAMESPACE/NAME, got "${entry}"`);
      return 2;
    }
    serviceAccountTokens[match[1]] = match[2];
  }
  const server = await startDevApiServer({
    port,
    tls: values.tls ?? false,
    tokens: values.token ? [values.token] : [],
    historyLimit,
    bookmarkIntervalMs: bookmarkSeconds * 1000,
    authorization: values.rbac ? "RBAC" : "AlwaysAllow",
    serviceAccountTokens,
  });
  await server.writeKubeconfig(kubeconfigPath);
  log("apiserver").info("dev API server listening on {url}; kubeconfig written to {path}", {
    url: server.url,
    path: kubeconfigPath,
  });
  const stopped = Promise.withResolvers<void>();
  const stop = () => stopped.resolve();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await stopped.promise;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  log("apiserver").info("stopping");
  await server.close();
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`apiserver: ${(error as Error).message}`);
    Deno.exit(error instanceof UsageError ? 2 : 1);
  }
}
