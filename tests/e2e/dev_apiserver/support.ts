// Helpers for dev API server tests: a server per test, JSON requests and watch-stream readers.
import {
  type DevApiServer,
  type DevApiServerOptions,
  startDevApiServer,
} from "../../../dev_apiserver/mod.ts";

/** A parsed JSON response. */
export interface JsonResponse {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Runs `fn` with a fresh server and always closes it. */
export async function withServer(
  fn: (server: DevApiServer) => Promise<void>,
  options: DevApiServerOptions = {},
): Promise<void> {
  const server = await startDevApiServer(options);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

/** Sends a request with an optional JSON body and returns the parsed JSON answer. */
export async function api(
  server: DevApiServer,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] ??= method === "PATCH"
      ? "application/merge-patch+json"
      : "application/json";
  }
  const response = await fetch(server.url + path, init);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** One decoded watch event. */
export interface WatchEvent {
  type: string;
  // deno-lint-ignore no-explicit-any
  object: any;
}

/** Reads newline-delimited watch events from a streaming response. */
export class WatchReader {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  #read?: Promise<ReadableStreamReadResult<string>>;
  readonly response: Response;

  /** Wraps a watch response. */
  constructor(response: Response) {
    this.response = response;
    this.#reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next event, or undefined when the stream ended; fails after `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<WatchEvent | undefined> {
    while (true) {
      const newline = this.#buffer.indexOf("\n");
      if (newline >= 0) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        if (line.trim()) return JSON.parse(line);
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no watch event within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        this.#read ??= this.#reader.read();
        const { done, value } = await Promise.race([this.#read, timeout]);
        this.#read = undefined;
        if (done) return undefined;
        this.#buffer += value;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Reads `n` events. */
  async take(n: number, timeoutMs = 3000): Promise<WatchEvent[]> {
    const out: WatchEvent[] = [];
    for (let i = 0; i < n; i++) {
      const event = await this.next(timeoutMs);
      if (!event) throw new Error(`watch ended after ${i} of ${n} events`);
      out.push(event);
    }
    return out;
  }

  /** Stops reading and releases the connection. */
  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** Opens a watch request. */
export async function openWatch(server: DevApiServer, path: string): Promise<WatchReader> {
  const response = await fetch(server.url + path);
  if (!response.body) throw new Error("watch response has no body");
  return new WatchReader(response);
}

/** A small namespaced CRD with a status subresource, a schema and a transition rule. */
export const WIDGET_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.kleff.io" },
  spec: {
    group: "example.kleff.io",
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget", shortNames: ["wd"] },
    versions: [{
      name: "v1",
      served: true,
      storage: true,
      subresources: { status: {} },
      additionalPrinterColumns: [{ name: "Size", type: "integer", jsonPath: ".spec.size" }],
      schema: {
        openAPIV3Schema: {
          type: "object",
          properties: {
            spec: {
              type: "object",
              required: ["size", "color"],
              properties: {
                size: { type: "integer", minimum: 1, maximum: 10 },
                color: { type: "string", enum: ["red", "green", "blue"] },
                owner: {
                  type: "string",
                  pattern: "^[a-z][a-z0-9-]*$",
                  "x-kubernetes-validations": [{
                    rule: "self == oldSelf",
                    message: "owner is immutable",
                  }],
                },
                tags: { type: "array", maxItems: 2, items: { type: "string", maxLength: 5 } },
              },
            },
            status: { type: "object", properties: { phase: { type: "string" } } },
          },
        },
      },
    }],
  },
};

/** Path of widgets in a namespace. */
export const WIDGETS = "/apis/example.kleff.io/v1/namespaces/default/widgets";

/** Creates the widget CRD and checks it was accepted. */
export async function createWidgetCrd(server: DevApiServer): Promise<void> {
  const created = await api(
    server,
    "POST",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    WIDGET_CRD,
  );
  if (created.status !== 201) throw new Error(`CRD not created: ${JSON.stringify(created.body)}`);
}

/** A valid widget. */
export function widget(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "example.kleff.io/v1",
    kind: "Widget",
    metadata: { name },
    spec: { size: 1, color: "red", ...spec },
  };
}
