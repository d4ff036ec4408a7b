// The processes `deno task bench peer` compares, each started the same way against a kubeconfig
// with the same worker count: our operator with the seed's feature set (a plan catalogue
// without quota, limits or network policy) and with the default plans, the peer built on
// client-node informers (tools/node_client/peer_operator.ts), and the write-only floor
// (bench/write_floor.ts).
import { BenchOperator, BenchProcess } from "./operator_bench.ts";
import { peerCommand } from "../tools/node_client/peer_process.ts";
import { OPERATOR_ENV, OPERATOR_V8_FLAGS } from "../tools/operator_process.ts";

const FLOOR = new URL("./write_floor.ts", import.meta.url).pathname;

/**
 * The seed's feature set as a plan catalogue: the three built-in plan names, each with no
 * ResourceQuota, no LimitRange and no NetworkPolicy (and no Gatekeeper constraints), so the
 * operator makes the seed's three writes per tenant: finalizer, namespace, status.
 */
export const SEED_PLANS_YAML = `plans:
  free: { network: { isolation: false } }
  basic: { network: { isolation: false } }
  pro: { network: { isolation: false } }
`;

/** Every contender, in table order. */
export const CONTENDER_KEYS = ["ours-seed", "ours", "peer", "floor"] as const;

/** Which contender. */
export type ContenderKey = typeof CONTENDER_KEYS[number];

/** How a contender is started. */
export interface StartOptions {
  /** Workers. */
  concurrency: number;
  /** `--resync-period` (ours and the peer), e.g. `20s`. */
  resyncPeriod?: string;
}

/** One contender: its name in the table and how to start it. */
export interface Contender {
  /** Key of its results. */
  key: ContenderKey;
  /** Column title. */
  title: string;
  /** Whether it reconciles existing tenants on start (the floor does not: it has nothing to check). */
  restarts: boolean;
  /** Starts it against `kubeconfig`. */
  start(kubeconfig: string, options: StartOptions): BenchProcess;
}

/** The contenders, in table order; `seedPlans` is the path of a file holding {@linkcode SEED_PLANS_YAML}. */
export function contenders(seedPlans: string): Contender[] {
  const resync = (options: StartOptions) =>
    options.resyncPeriod ? ["--resync-period", options.resyncPeriod] : [];
  return [
    {
      key: "ours-seed",
      title: "ours, seed set",
      restarts: true,
      start: (kubeconfig, options) =>
        new BenchOperator(kubeconfig, options.concurrency, {
          flags: ["--plans", seedPlans, ...resync(options)],
        }),
    },
    {
      key: "ours",
      title: "ours, default plans",
      restarts: true,
      start: (kubeconfig, options) =>
        new BenchOperator(kubeconfig, options.concurrency, { flags: resync(options) }),
    },
    {
      key: "peer",
      title: "peer (client-node informers)",
      restarts: true,
      start: (kubeconfig, options) =>
        new BenchProcess(peerCommand([
          "--kubeconfig",
          kubeconfig,
          "--concurrency",
          String(options.concurrency),
          ...resync(options),
        ])),
    },
    {
      key: "floor",
      title: "write-only floor",
      restarts: false,
      start: (kubeconfig, options) =>
        new BenchProcess({
          args: [
            "run",
            "--allow-net",
            "--allow-read",
            "--allow-env",
            `--v8-flags=${OPERATOR_V8_FLAGS}`,
            FLOOR,
            "--kubeconfig",
            kubeconfig,
            "--concurrency",
            String(options.concurrency),
          ],
          // The operator's V8 flags and environment, as for the peer.
          env: { ...OPERATOR_ENV },
        }),
    },
  ];
}
