// Renders a chaos report as text: what ran, every invariant with its count,
// and on failure the seed and the exact command that replays the run.
import { replayCommand } from "./options.ts";
import type { ChaosReport } from "./run.ts";

function counts(map: ReadonlyMap<string, number>, skip: (key: string) => boolean = () => false) {
  return [...map].filter(([key]) => !skip(key)).sort(([a], [b]) => a.localeCompare(b))
    .map(([key, count]) => `${key} ${count}`).join(", ") || "none";
}

/** The report's text, one line per fact, invariants last. */
export function formatReport(report: ChaosReport): string {
  const { options } = report;
  const lines: string[] = [];
  lines.push(
    `chaos run: seed ${options.seed}, ${
      options.durationMs / 1000
    } s, ${options.replicas} replica(s) with leader election, up to ${options.tenants} tenants`,
  );
  lines.push(`  workload   ${counts(report.actions, (key) => key.startsWith("error: "))}`);
  const errors = [...report.actions.keys()].filter((key) => key.startsWith("error: "));
  for (const error of errors.slice(0, 5)) lines.push(`             driver ${error}`);
  lines.push(`  faults     ${counts(report.faults)}`);
  const leaders = report.logs.filter((log) => log.becameLeader).length;
  const lost = report.logs.filter((log) => log.lostLeadership).length;
  lines.push(
    `  processes  ${report.processes.length} started, ${leaders} leader terms, ${lost} lost the lease, ${report.writes} writes`,
  );
  const errorLines = new Map<string, number>();
  for (const log of report.logs) {
    for (const [message, count] of log.errors) {
      errorLines.set(message, (errorLines.get(message) ?? 0) + count);
    }
  }
  const top = [...errorLines].sort((a, b) => b[1] - a[1]).slice(0, 6);
  for (const [message, count] of top) lines.push(`  log ERROR  ${count}x ${message}`);
  lines.push(`  settle     ${(report.settleMs / 1000).toFixed(1)} s`);
  lines.push("invariants:");
  for (const result of report.invariants) {
    const status = result.violations.length ? "FAIL" : "ok  ";
    lines.push(
      `  ${status} ${result.name}: ${
        result.checked - Math.min(result.checked, result.violations.length)
      }/${result.checked} ok${
        result.violations.length ? `, ${result.violations.length} violation(s)` : ""
      }`,
    );
    for (const violation of result.violations.slice(0, 10)) lines.push(`         - ${violation}`);
    if (result.violations.length > 10) {
      lines.push(`         - ... ${result.violations.length - 10} more`);
    }
  }
  if (report.violations) {
    lines.push(
      `${report.violations} violation(s); seed ${options.seed}; logs kept in ${report.logDir}`,
    );
    lines.push(`replay: ${replayCommand(options)}`);
  } else {
    lines.push(`all invariants hold (seed ${options.seed})`);
  }
  return lines.join("\n");
}
