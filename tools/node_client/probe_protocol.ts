// What tools/node_client/probe.ts reads and prints, in a module of its own with no imports, so
// that tests in the root package can type the probe's JSON without pulling in client-node.

/** Where the scenario's custom object lives. */
export interface CustomTarget {
  /** API group of the custom resource. */
  group: string;
  /** API version of the custom resource. */
  version: string;
  /** Namespace of the object. */
  namespace: string;
  /** Plural name of the custom resource. */
  plural: string;
}

/** What the probe does: create `object`, read it back, then watch while applying `patch`. */
export interface Scenario {
  /** The custom resource the object belongs to. */
  target: CustomTarget;
  /** The object to create (it must carry metadata.name). */
  object: { metadata: { name: string } } & Record<string, unknown>;
  /** A JSON patch (RFC 6902), sent the way client-node sends patches by default. */
  patch: unknown[];
  /** A name that does not exist, to see how a 404 surfaces. */
  missingName: string;
}

/** What the client saw, step by step. */
export interface ProbeReport {
  /** Names of the namespaces listed through CoreV1Api. */
  namespaces: string[];
  /** The object the create call returned. */
  created: Record<string, unknown>;
  /** The object a get by name returned. */
  got: Record<string, unknown>;
  /** The `code` of the error a get of the missing name threw, or null if it did not throw. */
  missingCode: number | null;
  /** The first watch event after the get's resourceVersion, once the patch went out. */
  watched: { type: string; object: Record<string, unknown> };
}
