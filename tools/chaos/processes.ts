// The chaos run's process invariants: what the replicas' logs, exits and
// recorded writes say about crashes and about two replicas acting at once.
import type { InvariantResult } from "./invariants.ts";
import type { RecordedWrite } from "./proxy.ts";
import type { ReplicaRecord } from "./supervisor.ts";

/** What one replica's log says. */
export interface LogSummary {
  /** The replica id. */
  id: string;
  /** Lines that mean a crash: non-JSON output, FATAL, panic, uncaught errors. */
  crashes: string[];
  /** ERROR-level messages with digits blurred, by count. */
  errors: Map<string, number>;
  /** Whether it logged "became leader". */
  becameLeader: boolean;
  /** Whether it logged losing the Lease (expected under faults: it then exits 1). */
  lostLeadership: boolean;
}

const CRASH = /panic|uncaught|unhandled|out of memory|stack overflow/i;

function blur(message: string): string {
  return message.replace(/\d+/g, "N").slice(0, 160);
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Reads and classifies the log of replica `record`. */
export async function scanLog(record: ReplicaRecord): Promise<LogSummary> {
  const summary: LogSummary = {
    id: record.id,
    crashes: [],
    errors: new Map(),
    becameLeader: false,
    lostLeadership: false,
  };
  const text = await Deno.readTextFile(record.logPath).catch(() => "");
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let entry: { level?: string; message?: string };
    try {
      entry = JSON.parse(line);
    } catch {
      summary.crashes.push(`${record.id}: ${line.slice(0, 200)}`);
      continue;
    }
    const message = String(entry.message ?? "");
    const level = String(entry.level ?? "").toUpperCase();
    const leaseLost = message.startsWith("lost leadership") ||
      message.startsWith("leader election lost");
    if (leaseLost) summary.lostLeadership = true;
    else if (level === "FATAL" || CRASH.test(message)) {
      summary.crashes.push(`${record.id}: ${level} ${message.slice(0, 200)}`);
    } else if (level === "ERROR") bump(summary.errors, blur(message));
    if (message.startsWith("became leader")) summary.becameLeader = true;
  }
  return summary;
}

/** The longest a replica may take to exit after SIGTERM. */
export const SIGTERM_EXIT_BOUND_MS = 2000;

/** Every SIGTERM (faults and the final stop) followed by an exit within {@linkcode SIGTERM_EXIT_BOUND_MS}. */
export function checkPromptExits(records: readonly ReplicaRecord[]): InvariantResult {
  const termed = records.filter((record) => record.termAt !== undefined);
  return {
    name: `every SIGTERM exits within ${SIGTERM_EXIT_BOUND_MS / 1000} s (worst ${
      Math.max(0, ...termed.map((r) => (r.exitedAt ?? Infinity) - r.termAt!))
    } ms)`,
    checked: termed.length,
    violations: termed.flatMap((record) => {
      const took = (record.exitedAt ?? Infinity) - record.termAt!;
      return took <= SIGTERM_EXIT_BOUND_MS ? [] : [`${record.id}: exit ${took} ms after SIGTERM`];
    }),
  };
}

/** Crash-free logs and only expected exits: our SIGKILLs, lease loss (code 1), clean SIGTERM (0). */
export function checkProcesses(
  records: readonly ReplicaRecord[],
  logs: readonly LogSummary[],
): InvariantResult[] {
  const clean: InvariantResult = {
    name: "no crash, uncaught error or panic in any replica's log",
    checked: logs.length,
    violations: logs.flatMap((log) => log.crashes),
  };
  const exits: InvariantResult = {
    name: "replica exits only by SIGKILL, lost lease (1) or clean SIGTERM (0)",
    checked: records.length,
    violations: [],
  };
  for (const record of records) {
    const log = logs.find((l) => l.id === record.id);
    const code = record.exit?.code;
    if (record.endedBy === "kill") continue;
    // A SIGTERM that lands before the operator installed its handler (while Deno loads the
    // modules) ends it by the signal's default action: as prompt, and as clean for a kubelet.
    const signalled = record.exit?.signal === "SIGTERM";
    if ((record.endedBy === "stop" || record.endedBy === "term") && (code === 0 || signalled)) {
      continue;
    }
    // A lost lease exits 1, also when a SIGTERM arrived while it was already on its way out.
    if (code === 1 && log?.lostLeadership) continue;
    exits.violations.push(
      `${record.id}: exit ${code ?? "none"}${
        record.exit?.signal ? ` (${record.exit.signal})` : ""
      }${record.endedBy ? " after SIGTERM" : " on its own"}`,
    );
  }
  return [clean, exits];
}

/** Whether a write is leader election's own (Lease) traffic. */
export function isLeaseWrite(write: RecordedWrite): boolean {
  return write.path.includes("/leases");
}

/**
 * At most one replica acting at a time: per process, the span from its first to its last
 * write (Lease writes aside) must not overlap any other process's span.
 */
export function checkSingleWriter(writes: readonly RecordedWrite[]): InvariantResult {
  const spans = new Map<string, { first: number; last: number; count: number; sample: string }>();
  for (const write of writes) {
    if (isLeaseWrite(write)) continue;
    const span = spans.get(write.replica);
    if (!span) {
      spans.set(write.replica, {
        first: write.at,
        last: write.at,
        count: 1,
        sample: `${write.method} ${write.path}`,
      });
    } else {
      span.first = Math.min(span.first, write.at);
      span.last = Math.max(span.last, write.at);
      span.count++;
    }
  }
  const sorted = [...spans].sort((a, b) => a[1].first - b[1].first);
  const violations: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const [a, spanA] = sorted[i];
      const [b, spanB] = sorted[j];
      if (spanB.first > spanA.last) continue;
      violations.push(
        `${a} (${spanA.count} writes) and ${b} (${spanB.count} writes, first ${spanB.sample}) wrote during the same ${
          Math.min(spanA.last, spanB.last) - spanB.first
        } ms`,
      );
    }
  }
  return {
    name: "at most one replica writing at any time (writes per process, Lease aside)",
    checked: spans.size,
    violations,
  };
}
