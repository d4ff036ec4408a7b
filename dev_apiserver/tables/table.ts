// Renders lists as meta.k8s.io/v1 Tables with the columns and cells kube-apiserver sends,
// so `kubectl get` prints the same headings, ages and printer-column values.
import type { KubeObject, Table, TableColumnDefinition, TableRow } from "../types.ts";
import { evaluateJsonPath, JsonPathError } from "./jsonpath.ts";
import { timestamp } from "../storage/objects.ts";

export type { TableColumnDefinition } from "../types.ts";

/** A CRD `additionalPrinterColumns` entry. */
export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

/** Options of {@linkcode renderTable}. */
export interface RenderTableOptions {
  /** Kind of the listed objects, e.g. `Namespace` or `Tenant`. */
  kind: string;
  /** API group (`""` for core). */
  group: string;
  /** A CRD's printer columns; absent or empty for a CRD means the default Age column. */
  printerColumns?: PrinterColumn[];
  /** What each row's `object` holds; default `Metadata` (a PartialObjectMetadata). */
  includeObject?: "None" | "Metadata" | "Object";
  resourceVersion: string;
  continue?: string;
  /** The reference time for ages; default now. */
  now?: Date;
}

const NAME_DESCRIPTION =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATED_DESCRIPTION =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/** apimachinery's `duration.HumanDuration`, as kubectl shows ages (`45s`, `5m30s`, `2d3h`). */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.trunc(milliseconds / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.trunc(hours / 24) % 365;
    const years = Math.trunc(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** kube's `translateTimestampSince`: the age of a timestamp, `<unknown>` when unset. */
function since(timestamp: unknown, now: Date): string {
  if (typeof timestamp !== "string" || timestamp === "") return "<unknown>";
  const time = Date.parse(timestamp);
  if (Number.isNaN(time)) return "<unknown>";
  return humanDuration(now.getTime() - time);
}

function column(
  name: string,
  type: string,
  description: string,
  extra: { format?: string; priority?: number } = {},
): TableColumnDefinition {
  return { name, type, format: extra.format ?? "", description, priority: extra.priority ?? 0 };
}

const NAME_COLUMN = column("Name", "string", NAME_DESCRIPTION, { format: "name" });
const AGE_COLUMN = column("Age", "string", CREATED_DESCRIPTION);

type Cells = (object: KubeObject, now: Date) => unknown[];

interface Printer {
  columns: TableColumnDefinition[];
  cells: Cells;
}

function field(object: unknown, ...path: string[]): unknown {
  let current = object;
  for (const key of path) {
    if (typeof current !== "object" || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function count(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  return typeof value === "object" && value !== null ? Object.keys(value).length : 0;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

const age: Cells = (object, now) => [since(object.metadata?.creationTimestamp, now)];

function eventCells(object: KubeObject, now: Date, modern: boolean): unknown[] {
  const get = (core: string, events: string) => modern ? object[events] : object[core];
  const eventTime = object.eventTime;
  const first = get("firstTimestamp", "deprecatedFirstTimestamp");
  const firstSeen = first ? since(first, now) : since(eventTime, now);
  const last = get("lastTimestamp", "deprecatedLastTimestamp");
  let lastSeen = last ? since(last, now) : firstSeen;
  let total = Number(get("count", "deprecatedCount") ?? 0);
  const series = object.series;
  if (series && typeof series === "object") {
    lastSeen = since(field(series, "lastObservedTime"), now);
    total = Number(field(series, "count") ?? 0);
  } else if (total === 0) {
    total = 1;
  }
  const involved = get("involvedObject", "regarding");
  const kind = text(field(involved, "kind")).toLowerCase();
  const name = text(field(involved, "name"));
  const source = get("source", "deprecatedSource");
  const component = text(field(source, "component")) ||
    text(get("reportingComponent", "reportingController"));
  const host = text(field(source, "host")) || text(get("reportingInstance", "reportingInstance"));
  return [
    lastSeen,
    text(object.type),
    text(object.reason),
    name ? `${kind}/${name}` : kind,
    text(field(involved, "fieldPath")),
    component === "" && host === "" ? "" : host === "" ? component : `${component}, ${host}`,
    text(get("message", "note")).trim(),
    firstSeen,
    total,
    object.metadata?.name ?? "",
  ];
}

const EVENT_COLUMNS = [
  column(
    "Last Seen",
    "string",
    "The time at which the most recent occurrence of this event was recorded.",
  ),
  column(
    "Type",
    "string",
    "Type of this event (Normal, Warning), new types could be added in the future",
  ),
  column(
    "Reason",
    "string",
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  ),
  column("Object", "string", "The object that this event is about."),
  column(
    "Subobject",
    "string",
    "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].",
    { priority: 1 },
  ),
  column(
    "Source",
    "string",
    "The component reporting this event. Should be a short machine understandable string.",
    { priority: 1 },
  ),
  column("Message", "string", "A human-readable description of the status of this operation."),
  column(
    "First Seen",
    "string",
    "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
    { priority: 1 },
  ),
  column("Count", "string", "The number of times this event has occurred.", { priority: 1 }),
  column("Name", "string", NAME_DESCRIPTION, { format: "name", priority: 1 }),
];

function subjects(object: KubeObject, kind: string): string {
  const list = Array.isArray(object.subjects) ? object.subjects : [];
  return list
    .filter((subject) => field(subject, "kind") === kind)
    .map((subject) => {
      const namespace = text(field(subject, "namespace"));
      const name = text(field(subject, "name"));
      return kind === "ServiceAccount" ? `${namespace}/${name}` : name;
    })
    .join(", ");
}

const BINDING: Printer = {
  columns: [
    NAME_COLUMN,
    column("Role", "string", "RoleRef references the role being granted."),
    AGE_COLUMN,
    column("Users", "string", "Users in the binding", { priority: 1 }),
    column("Groups", "string", "Groups in the binding", { priority: 1 }),
    column("ServiceAccounts", "string", "ServiceAccounts in the binding", { priority: 1 }),
  ],
  cells: (object, now) => [
    `${text(field(object.roleRef, "kind"))}/${text(field(object.roleRef, "name"))}`,
    since(object.metadata?.creationTimestamp, now),
    subjects(object, "User"),
    subjects(object, "Group"),
    subjects(object, "ServiceAccount"),
  ],
};

const CREATED_AT: Printer = {
  columns: [NAME_COLUMN, column("Created At", "date", CREATED_DESCRIPTION)],
  cells: (object) => [createdAt(object)],
};

function createdAt(object: KubeObject): string {
  const time = Date.parse(object.metadata?.creationTimestamp ?? "");
  return Number.isNaN(time) ? "" : timestamp(new Date(time));
}

const BUILTIN: Record<string, Printer> = {
  "/Namespace": {
    columns: [NAME_COLUMN, column("Status", "string", "The status of the namespace"), AGE_COLUMN],
    cells: (object, now) => [text(field(object.status, "phase")), ...age(object, now)],
  },
  "/ConfigMap": {
    columns: [
      NAME_COLUMN,
      column(
        "Data",
        "string",
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
      ),
      AGE_COLUMN,
    ],
    cells: (object, now) => [count(object.data) + count(object.binaryData), ...age(object, now)],
  },
  "/Secret": {
    columns: [
      NAME_COLUMN,
      column(
        "Type",
        "string",
        "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
      ),
      column(
        "Data",
        "string",
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
      ),
      AGE_COLUMN,
    ],
    cells: (object, now) => [text(object.type), count(object.data), ...age(object, now)],
  },
  "/ServiceAccount": {
    columns: [
      NAME_COLUMN,
      column(
        "Secrets",
        "string",
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
      ),
      AGE_COLUMN,
    ],
    cells: (object, now) => [count(object.secrets), ...age(object, now)],
  },
  "/Event": { columns: EVENT_COLUMNS, cells: (object, now) => eventCells(object, now, false) },
  "events.k8s.io/Event": {
    columns: EVENT_COLUMNS,
    cells: (object, now) => eventCells(object, now, true),
  },
  "coordination.k8s.io/Lease": {
    columns: [
      NAME_COLUMN,
      column(
        "Holder",
        "string",
        "HolderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.",
      ),
      AGE_COLUMN,
    ],
    cells: (object, now) => [text(field(object.spec, "holderIdentity")), ...age(object, now)],
  },
  "apiextensions.k8s.io/CustomResourceDefinition": CREATED_AT,
  "rbac.authorization.k8s.io/Role": CREATED_AT,
  "rbac.authorization.k8s.io/ClusterRole": CREATED_AT,
  "rbac.authorization.k8s.io/RoleBinding": BINDING,
  "rbac.authorization.k8s.io/ClusterRoleBinding": BINDING,
};

const BUILTIN_GROUPS = new Set([
  "",
  "events.k8s.io",
  "coordination.k8s.io",
  "apiextensions.k8s.io",
  "rbac.authorization.k8s.io",
  "networking.k8s.io",
  "policy",
  "apps",
  "batch",
  "storage.k8s.io",
  "scheduling.k8s.io",
  "admissionregistration.k8s.io",
  "certificates.k8s.io",
  "discovery.k8s.io",
  "node.k8s.io",
  "authorization.k8s.io",
  "authentication.k8s.io",
  "autoscaling",
  "flowcontrol.apiserver.k8s.io",
]);

/** Go `fmt.Print` of a JSON value, as kube's JSONPath printer writes non-strings. */
function goPrint(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(goPrint).join(" ")}]`;
  if (value === null) return "<nil>";
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0
    );
    return `map[${entries.map(([k, v]) => `${k}:${goPrint(v)}`).join(" ")}]`;
  }
  return String(value);
}

/** kube's `cellForJSONValue` for a typed printer column. */
function printerCell(type: string, value: unknown, now: Date): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case "string":
      return typeof value === "string" ? value : goPrint(value);
    case "integer":
      return typeof value === "number" ? Math.trunc(value) : null;
    case "number":
      return typeof value === "number" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    case "date":
      if (typeof value !== "string") return null;
      return Number.isNaN(Date.parse(value)) ? "<invalid>" : since(value, now);
    default:
      return null;
  }
}

function customPrinter(printerColumns: PrinterColumn[] | undefined): Printer {
  const columns = printerColumns && printerColumns.length > 0 ? printerColumns : [{
    name: "Age",
    type: "date",
    jsonPath: ".metadata.creationTimestamp",
    description: CREATED_DESCRIPTION,
  }];
  return {
    columns: [
      NAME_COLUMN,
      ...columns.map((printer) =>
        column(
          printer.name,
          printer.type,
          printer.description ||
            `Custom resource definition column (in JSONPath format): ${printer.jsonPath}`,
          { format: printer.format, priority: printer.priority },
        )
      ),
    ],
    cells: (object, now) =>
      columns.map((printer) => {
        let found: unknown[];
        try {
          found = evaluateJsonPath(printer.jsonPath, object);
        } catch (error) {
          if (error instanceof JsonPathError) return null;
          throw error;
        }
        return printerCell(printer.type, found[0], now);
      }),
  };
}

function rowObject(object: KubeObject, include: "None" | "Metadata" | "Object"): unknown {
  if (include === "None") return undefined;
  if (include === "Object") return object;
  return {
    kind: "PartialObjectMetadata",
    apiVersion: "meta.k8s.io/v1",
    metadata: object.metadata ?? {},
  };
}

/**
 * Renders objects as a `meta.k8s.io/v1` Table like kube-apiserver: custom resources get
 * NAME plus their printer columns (default: Age), `date` columns rendered as ages; built-in
 * kinds get kube's own columns (all of them; kubectl hides priority > 0 without `-o wide`);
 * other built-ins get NAME and AGE.
 */
export function renderTable(objects: KubeObject[], options: RenderTableOptions): Table {
  const now = options.now ?? new Date();
  const builtin = BUILTIN[`${options.group}/${options.kind}`];
  const printer = builtin ??
    (BUILTIN_GROUPS.has(options.group) && !options.printerColumns?.length
      ? { columns: [NAME_COLUMN, AGE_COLUMN], cells: age }
      : customPrinter(options.printerColumns));
  const include = options.includeObject ?? "Metadata";
  const nameFirst = printer.columns[0] === NAME_COLUMN;
  const rows: TableRow[] = objects.map((object) => {
    const cells = printer.cells(object, now);
    const row: TableRow = { cells: nameFirst ? [object.metadata?.name ?? "", ...cells] : cells };
    const attached = rowObject(object, include);
    if (attached !== undefined) row.object = attached;
    return row;
  });
  const metadata: Table["metadata"] = { resourceVersion: options.resourceVersion };
  if (options.continue) metadata.continue = options.continue;
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata,
    columnDefinitions: printer.columns,
    rows,
  };
}
