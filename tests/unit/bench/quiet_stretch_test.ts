// The bench's idle detection: where a quiet stretch starts, from samples of requests and CPU time.
import assert from "node:assert/strict";
import { type QuietSample, QuietStretch } from "../../../bench/quiet_stretch.ts";

/** Feeds samples 100 ms apart (CPU time given per sample as the total so far); returns the answer. */
function run(
  samples: readonly { requests: number; cpuMs: number }[],
  quietMs = 2000,
): { start?: number; at: number } {
  const [first, ...rest] = samples.map((sample, index): QuietSample => ({
    ...sample,
    at: index * 100,
  }));
  const stretch = new QuietStretch(first, { quietMs });
  for (const sample of rest) {
    const start = stretch.add(sample);
    if (start !== undefined) return { start, at: sample.at };
  }
  return { at: rest.at(-1)?.at ?? 0 };
}

/** `n` samples from `from`, each adding `cpuStep` ms of CPU and `requestStep` requests. */
function steps(
  n: number,
  from: { requests: number; cpuMs: number },
  step: { cpuMs?: number; requests?: number } = {},
): { requests: number; cpuMs: number }[] {
  return Array.from({ length: n }, (_, i) => ({
    requests: from.requests + (i + 1) * (step.requests ?? 0),
    cpuMs: from.cpuMs + (i + 1) * (step.cpuMs ?? 0),
  }));
}

Deno.test("quiet stretch: starts where the CPU work ended, not a window after the last request", () => {
  // Requests for 0.3 s, CPU work (150% of a core) until 0.8 s, then nothing.
  const busy = [
    { requests: 0, cpuMs: 0 },
    ...steps(3, { requests: 0, cpuMs: 0 }, {
      requests: 2,
      cpuMs: 150,
    }),
  ];
  const working = steps(5, busy.at(-1)!, { cpuMs: 150 });
  const idle = steps(30, working.at(-1)!);
  const { start, at } = run([...busy, ...working, ...idle]);
  assert.equal(start, 800);
  assert.equal(at, 2800);
});

Deno.test("quiet stretch: a lone CPU tick in an interval is not work", () => {
  const samples = [{ requests: 5, cpuMs: 0 }, ...steps(25, { requests: 5, cpuMs: 0 })];
  samples[10] = { requests: 5, cpuMs: 10 };
  for (let i = 11; i < samples.length; i++) samples[i] = { ...samples[i], cpuMs: 10 };
  assert.deepEqual(run(samples), { start: 0, at: 2000 });
});

Deno.test("quiet stretch: steady work under the per-interval bar still counts over the stretch", () => {
  // 10% of a core all along: no interval is work, the stretch as a whole is; never quiet.
  const samples = [
    { requests: 0, cpuMs: 0 },
    ...steps(60, { requests: 0, cpuMs: 0 }, {
      cpuMs: 10,
    }),
  ];
  assert.equal(run(samples).start, undefined);
});

Deno.test("quiet stretch: a request starts the stretch again", () => {
  const samples = [{ requests: 0, cpuMs: 0 }, ...steps(30, { requests: 0, cpuMs: 0 })];
  samples[15] = { requests: 1, cpuMs: 0 };
  for (let i = 16; i < samples.length; i++) samples[i] = { ...samples[i], requests: 1 };
  assert.equal(run(samples).start, undefined);
  samples.push(...steps(6, samples.at(-1)!));
  assert.deepEqual(run(samples), { start: 1500, at: 3500 });
});
