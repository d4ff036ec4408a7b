// Go-style durations ("90s", "10m", "1h30m", "250ms") for command-line flags,
// so flags read the same as those of kube-controller-manager and client-go.

/** Thrown when a duration flag cannot be parsed. */
export class DurationError extends Error {
  /** Builds the error naming the flag and the bad value. */
  constructor(flag: string, value: string) {
    super(`${flag}: invalid duration "${value}" (examples: 90s, 10m, 1h30m, 500ms)`);
    this.name = "DurationError";
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration into milliseconds; `flag` names it in errors. */
export function parseDuration(value: string, flag: string): number {
  const text = value.trim();
  if (text === "0") return 0;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    part.lastIndex = index;
    const match = part.exec(text);
    if (!match) throw new DurationError(flag, value);
    total += Number(match[1]) * UNIT_MS[match[2]];
    index = part.lastIndex;
  }
  if (index === 0) throw new DurationError(flag, value);
  return Math.round(total);
}

/** Formats milliseconds as a short Go-style duration (for help and logs). */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
