// A real Prometheus server (the `prometheus` binary, as Debian packages it) for tests: started on a
// free 127.0.0.1 port with a configuration of the test's, queried through its HTTP API, stopped.
import { eventually } from "./wait.ts";

/** One series of an instant query's answer. */
export interface PromSample {
  /** The series' labels. */
  metric: Record<string, string>;
  /** `[unix seconds, value]`. */
  value: [number, string];
}

/** The answer of `/api/v1/query`. */
export type QueryAnswer =
  | { status: "success"; data: { resultType: string; result: PromSample[] } }
  | { status: "error"; errorType: string; error: string };

/** A rule as `/api/v1/rules` reports it. */
export interface RuleState {
  name: string;
  health: "ok" | "err" | "unknown";
  lastError?: string;
  lastEvaluation: string;
}

/** Options of {@linkcode PrometheusServer.start}. */
export interface PrometheusOptions {
  /** Scrape interval, e.g. `1s`. */
  scrapeInterval: string;
  /** Jobs to scrape: job name -> `host:port` targets. */
  jobs: Record<string, string[]>;
  /** Rule files to load (absolute paths). */
  ruleFiles?: string[];
}

/** Picks a port that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A running Prometheus. */
export class PrometheusServer implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #dir: string;
  readonly #log: Promise<string>;
  /** Base URL of its HTTP API, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;

  private constructor(child: Deno.ChildProcess, dir: string, url: string) {
    this.#child = child;
    this.#dir = dir;
    this.url = url;
    this.#log = new Response(child.stderr).text();
  }

  /** Starts Prometheus and waits until it answers `/-/ready`. */
  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    const dir = await Deno.makeTempDir({ prefix: "kleff-prometheus-" });
    const config = {
      global: {
        scrape_interval: options.scrapeInterval,
        evaluation_interval: options.scrapeInterval,
      },
      rule_files: options.ruleFiles ?? [],
      scrape_configs: Object.entries(options.jobs).map(([job, targets]) => ({
        job_name: job,
        static_configs: [{ targets }],
      })),
    };
    await Deno.writeTextFile(`${dir}/prometheus.yml`, JSON.stringify(config, null, 2));
    const port = freePort();
    const child = new Deno.Command("prometheus", {
      args: [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      cwd: dir,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const server = new PrometheusServer(child, dir, `http://127.0.0.1:${port}`);
    try {
      await eventually("Prometheus ready", async () => {
        const response = await fetch(`${server.url}/-/ready`);
        await response.body?.cancel();
        return response.ok;
      }, 30_000);
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw new Error(`${error}; Prometheus logged:\n${await server.#log}`);
    }
    return server;
  }

  /** Runs an instant query (`/api/v1/query`) and returns Prometheus's answer as it is. */
  async query(expr: string): Promise<QueryAnswer> {
    const response = await fetch(`${this.url}/api/v1/query`, {
      method: "POST",
      body: new URLSearchParams({ query: expr }),
    });
    return await response.json();
  }

  /** The series an instant query returns; fails with Prometheus's error when it does not parse. */
  async series(expr: string): Promise<PromSample[]> {
    const answer = await this.query(expr);
    if (answer.status !== "success") {
      throw new Error(`${answer.errorType}: ${answer.error} (query: ${expr})`);
    }
    return answer.data.result;
  }

  /** The values of label `name` over series matching `selector` (Grafana's `label_values`). */
  async labelValues(name: string, selector: string): Promise<string[]> {
    const response = await fetch(
      `${this.url}/api/v1/label/${name}/values?${new URLSearchParams({ "match[]": selector })}`,
    );
    const answer = await response.json() as { status: string; data: string[] };
    return answer.data;
  }

  /** Every alerting and recording rule loaded, with its health. */
  async rules(): Promise<RuleState[]> {
    const response = await fetch(`${this.url}/api/v1/rules`);
    const answer = await response.json() as { data: { groups: { rules: RuleState[] }[] } };
    return answer.data.groups.flatMap((group) => group.rules);
  }

  /** Stops Prometheus and removes its data. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await this.#child.status;
    await this.#log;
    await Deno.remove(this.#dir, { recursive: true });
  }
}
