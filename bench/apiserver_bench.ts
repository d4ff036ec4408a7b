// Benchmark of the dev API server alone: configmap writes per second with ten open watches.
import { startDevApiServer } from "../dev_apiserver/mod.ts";

const WATCHES = 10;
const WRITERS = 8;
const DURATION_MS = 3000;

/** Prints sustained writes/s (creates and updates) with ten open watches draining events. */
export async function benchApiServer(): Promise<void> {
  const server = await startDevApiServer({ historyLimit: 10_000 });
  const path = `${server.url}/api/v1/namespaces/default/configmaps`;
  const watchAborts: AbortController[] = [];
  const drained: Promise<number>[] = [];
  try {
    for (let i = 0; i < WATCHES; i++) {
      const abort = new AbortController();
      watchAborts.push(abort);
      const response = await fetch(`${path}?watch=true&resourceVersion=0`, {
        signal: abort.signal,
      });
      drained.push((async () => {
        let bytes = 0;
        try {
          for await (const chunk of response.body!) bytes += chunk.length;
        } catch {
          // aborted at the end of the run
        }
        return bytes;
      })());
    }
    let writes = 0;
    let failures = 0;
    const deadline = Date.now() + DURATION_MS;
    const writer = async (id: number) => {
      let n = 0;
      while (Date.now() < deadline) {
        const name = `bench-${id}-${n % 50}`;
        const body = JSON.stringify({ metadata: { name }, data: { n: String(n) } });
        const response = n < 50
          ? await fetch(path, {
            method: "POST",
            body,
            headers: { "content-type": "application/json" },
          })
          : await fetch(`${path}/${name}`, {
            method: "PATCH",
            body: JSON.stringify({ data: { n: String(n) } }),
            headers: { "content-type": "application/merge-patch+json" },
          });
        await response.body?.cancel();
        if (response.ok) writes++;
        else failures++;
        n++;
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: WRITERS }, (_, i) => writer(i)));
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `apiserver: ${Math.round(writes / seconds)} writes/s with ${WATCHES} open watches ` +
        `(${writes} writes in ${seconds.toFixed(1)} s, ${WRITERS} writers, ${failures} failures)`,
    );
  } finally {
    for (const abort of watchAborts) abort.abort();
    await Promise.all(drained);
    await server.close();
  }
}

if (import.meta.main) await benchApiServer();
