// A TCP proxy that can freeze connections: bytes stop in both directions and nothing is closed,
// as when a NAT or a firewall silently drops a flow, or a peer hangs. It works below HTTP and TLS,
// so it freezes fetch and node:https connections alike, and a frozen connection stays frozen: a
// client that reuses it hangs again, which is how tests prove that a client opens fresh ones.

/** A running freezing proxy. */
export interface FreezeProxy {
  /** `host:port` to connect to instead of the upstream. */
  readonly address: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections frozen so far. */
  readonly frozen: number;
  /** Freezes every open connection for good; returns how many. */
  freezeOpen(): number;
  /** While on, every new connection is frozen as soon as it is accepted. */
  freezeNew(on: boolean): void;
  /** Closes the listener and every connection, frozen ones included. */
  close(): Promise<void>;
}

interface Link {
  client: Deno.Conn;
  upstream?: Deno.Conn;
  frozen: boolean;
}

/** Starts a proxy on 127.0.0.1 to `upstream` (`host:port`). */
export function startFreezeProxy(upstream: string): FreezeProxy {
  const [hostname, port] = splitHostPort(upstream);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const links = new Set<Link>();
  let accepted = 0;
  let frozen = 0;
  let freezeNew = false;
  let closing = false;
  let release!: () => void;
  const closed = new Promise<void>((resolve) => release = resolve);
  const freeze = (link: Link) => {
    if (link.frozen) return;
    link.frozen = true;
    frozen++;
  };
  const pump = async (link: Link, from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        if (link.frozen) return await closed;
        const n = await from.read(buffer);
        if (n === null) break;
        if (link.frozen) return await closed;
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
      }
    } catch {
      // Either side went away: end the link below.
    }
    if (!link.frozen) end(link);
  };
  const end = (link: Link) => {
    if (!links.delete(link)) return;
    for (const conn of [link.client, link.upstream]) {
      try {
        conn?.close();
      } catch {
        // Already closed.
      }
    }
  };
  const serve = async () => {
    for await (const client of listener) {
      accepted++;
      const link: Link = { client, frozen: false };
      links.add(link);
      if (freezeNew) freeze(link);
      (async () => {
        try {
          link.upstream = await Deno.connect({ hostname, port });
        } catch {
          return end(link);
        }
        await Promise.all([
          pump(link, client, link.upstream),
          pump(link, link.upstream, client),
        ]);
      })();
    }
  };
  const serving = serve().catch(() => {});
  return {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get accepted() {
      return accepted;
    },
    get frozen() {
      return frozen;
    },
    freezeOpen() {
      let count = 0;
      for (const link of links) {
        if (!link.frozen) count++;
        freeze(link);
      }
      return count;
    },
    freezeNew(on: boolean) {
      freezeNew = on;
    },
    async close() {
      if (closing) return;
      closing = true;
      listener.close();
      await serving;
      release();
      for (const link of [...links]) end(link);
    },
  };
}

function splitHostPort(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon).replace(/^\[|\]$/g, ""), Number(address.slice(colon + 1))];
}
