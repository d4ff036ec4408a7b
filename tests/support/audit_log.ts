// What clients asked a real kube-apiserver, read from its JSON audit log: the same request
// counters and used-permission sets the dev API server keeps, so that tests counting writes
// or checking least privilege run unchanged against either server.
import type { Counters, RequestCount, Verb } from "../../dev_apiserver/mod.ts";
import { permissionKey } from "../../dev_apiserver/auth/rbac.ts";

/** The fields of an audit event (`audit.k8s.io/v1` Event) the counters read. */
interface AuditEvent {
  verb: string;
  requestURI: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; apiGroup?: string };
  responseStatus?: { code?: number };
}

/** One request as the counters see it. */
interface Entry {
  verb: string;
  resource: string;
  apiGroup: string;
  username: string;
  code: number;
  resourceRequest: boolean;
}

/** Reads an audit log as it grows; only what was written since the last {@linkcode reset} counts. */
export class AuditLog implements Counters {
  readonly #path: string;
  #offset = 0;
  #partial = "";
  #entries: Entry[] = [];

  /** Follows the audit log at `path` (JSON lines, one event per line). */
  constructor(path: string) {
    this.#path = path;
  }

  /** Reads what was appended since the last read. */
  #read(): Entry[] {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(this.#path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return this.#entries;
      throw error;
    }
    try {
      const size = file.statSync().size;
      if (size > this.#offset) {
        const bytes = new Uint8Array(size - this.#offset);
        file.seekSync(this.#offset, Deno.SeekMode.Start);
        let read = 0;
        while (read < bytes.length) {
          const n = file.readSync(bytes.subarray(read));
          if (n === null) break;
          read += n;
        }
        this.#offset += read;
        const lines = (this.#partial + new TextDecoder().decode(bytes.subarray(0, read)))
          .split("\n");
        this.#partial = lines.pop() ?? "";
        for (const line of lines) {
          if (line.trim()) this.#entries.push(toEntry(JSON.parse(line)));
        }
      }
    } finally {
      file.close();
    }
    return this.#entries;
  }

  /** Requests matching every given field. */
  count(match: { verb?: Verb; resource?: string; code?: number } = {}): number {
    return this.#read().filter((entry) =>
      (match.verb === undefined || entry.verb === match.verb) &&
      (match.resource === undefined || entry.resource === match.resource) &&
      (match.code === undefined || entry.code === match.code)
    ).length;
  }

  /** Every (verb, resource, code) with its count. */
  snapshot(): RequestCount[] {
    const counts = new Map<string, RequestCount>();
    for (const entry of this.#read()) {
      const key = `${entry.verb} ${entry.resource} ${entry.code}`;
      const count = counts.get(key);
      if (count) count.count++;
      else {counts.set(key, {
          verb: entry.verb,
          resource: entry.resource,
          code: entry.code,
          count: 1,
        });}
    }
    return [...counts.values()];
  }

  /** Forgets everything logged so far. */
  reset(): void {
    this.#read();
    this.#entries = [];
  }

  /**
   * The `verb group/resource` permissions `username` was granted since the last reset (every
   * resource request not refused with 401 or 403), keyed as the dev API server keys them.
   */
  usedPermissions(username: string): Set<string> {
    const used = new Set<string>();
    for (const entry of this.#read()) {
      if (entry.username !== username || !entry.resourceRequest) continue;
      if (entry.code === 401 || entry.code === 403) continue;
      used.add(permissionKey(entry.verb, entry.apiGroup, entry.resource));
    }
    return used;
  }
}

function toEntry(event: AuditEvent): Entry {
  const ref = event.objectRef;
  const resourceRequest = ref?.resource !== undefined;
  const resource = resourceRequest
    ? (ref!.subresource ? `${ref!.resource}/${ref!.subresource}` : ref!.resource!)
    : event.requestURI.split("?")[0];
  return {
    verb: event.verb,
    resource,
    apiGroup: ref?.apiGroup ?? "",
    username: event.user.username,
    code: event.responseStatus?.code ?? 0,
    resourceRequest,
  };
}
