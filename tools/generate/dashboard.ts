// deploy/monitoring/dashboard.json, the Grafana dashboard of the operator, generated from the panel
// list below (one place for titles, the question each panel answers, and its queries) so that the
// layout, ids and data source references of the JSON stay consistent.

/** One query of a panel. */
export interface PanelQuery {
  /** PromQL; may use `$job` and `$__rate_interval`, which Grafana fills in. */
  expr: string;
  /** Series name template, e.g. `{{instance}}`. */
  legend?: string;
}

/** One panel: what it shows and the question it answers. */
export interface PanelSpec {
  /** Panel title. */
  title: string;
  /** The question the panel answers, and how to read it (the panel's description in Grafana). */
  question: string;
  /** Grafana panel type. */
  type: "timeseries" | "table" | "state-timeline";
  /** Grafana unit of the values. */
  unit: string;
  /** Width in grid columns (of 24). */
  width: number;
  /** Queries, in order (refIds A, B, ...). */
  queries: PanelQuery[];
  /** Stack the series (counts that add up). */
  stacked?: boolean;
}

/** A row of panels under a heading. */
export interface RowSpec {
  /** Row title. */
  title: string;
  /** Its panels, laid out left to right, wrapping at 24 columns. */
  panels: PanelSpec[];
}

/** The job the ServiceMonitor gives (the metrics Service's name): the `job` variable's default. */
export const DEFAULT_JOB = "kleff-tenant-operator-metrics";

/** The `job` variable's query: jobs exporting the operator's tenant controller. */
export const JOB_QUERY =
  'label_values(controller_runtime_max_concurrent_reconciles{controller="tenant"}, job)';

const J = 'job="$job"';

/** The dashboard's rows and panels. */
export const ROWS: RowSpec[] = [
  {
    title: "Tenants",
    panels: [
      {
        title: "Tenants by condition",
        question: "How many tenants are Ready, and which condition holds the others back? " +
          "Counts of tenants per condition type and status, as the leader last reconciled them.",
        type: "timeseries",
        unit: "short",
        width: 8,
        stacked: false,
        queries: [{
          expr: `sum by (condition, status) (kleff_tenants{${J}})`,
          legend: "{{condition}}={{status}}",
        }],
      },
      {
        title: "Tenants not Ready, by reason",
        question: "Why are tenants not Ready? Tenants whose condition is not True, counted by " +
          "condition and reason (docs/api.md lists every reason; docs/runbook.md says what to do).",
        type: "timeseries",
        unit: "short",
        width: 8,
        stacked: true,
        queries: [{
          expr: `count by (condition, reason) (kleff_tenant_condition{${J}, status!="True"})`,
          legend: "{{condition}}: {{reason}}",
        }],
      },
      {
        title: "Tenants not Ready",
        question: "Which tenants are not Ready right now, and why? One row per tenant, with the " +
          "reason of its TenantReady condition; `kubectl describe tenant NAME` has the message.",
        type: "table",
        unit: "none",
        width: 8,
        queries: [{
          expr: `kleff_tenant_condition{${J}, condition="TenantReady", status!="True"}`,
        }],
      },
    ],
  },
  {
    title: "Reconciles",
    panels: [
      {
        title: "Reconciles by result",
        question: "How much work does the operator do, and how does it end? Reconciles per " +
          "second by result: success, requeue (a routine retry from fresh state), error.",
        type: "timeseries",
        unit: "ops",
        width: 8,
        stacked: true,
        queries: [{
          expr: `sum by (result) (rate(controller_runtime_reconcile_total{${J}, ` +
            `controller="tenant"}[$__rate_interval]))`,
          legend: "{{result}}",
        }],
      },
      {
        title: "Reconcile errors",
        question: "Are reconciles failing? Failed reconciles per second (API errors other than " +
          "conflicts, unreachable API server); the failing tenants are retried with backoff.",
        type: "timeseries",
        unit: "ops",
        width: 8,
        queries: [{
          expr: `sum(rate(controller_runtime_reconcile_errors_total{${J}, ` +
            `controller="tenant"}[$__rate_interval]))`,
          legend: "errors",
        }],
      },
      {
        title: "Reconcile duration",
        question: "How long does a reconcile take? Quantiles of the reconcile time (reads, " +
          "writes, status and Events); a rise follows API server latency.",
        type: "timeseries",
        unit: "s",
        width: 8,
        queries: [0.5, 0.9, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(` +
            `controller_runtime_reconcile_time_seconds_bucket{${J}, ` +
            `controller="tenant"}[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
      },
      {
        title: "Oldest reconcile in flight",
        question: "Is a reconcile stuck? How long the oldest reconcile in flight has been " +
          "running, and the work in flight not yet observed by the duration metrics.",
        type: "timeseries",
        unit: "s",
        width: 12,
        queries: [
          {
            expr: `max by (instance) (workqueue_longest_running_processor_seconds{${J}, ` +
              `name="tenant"})`,
            legend: "oldest {{instance}}",
          },
          {
            expr: `sum by (instance) (workqueue_unfinished_work_seconds{${J}, name="tenant"})`,
            legend: "unfinished {{instance}}",
          },
        ],
      },
      {
        title: "Active workers",
        question: "Are the workers busy? Reconciles running at once against --concurrency; " +
          "always at the maximum means more work than workers.",
        type: "timeseries",
        unit: "short",
        width: 12,
        queries: [
          {
            expr: `sum by (instance) (controller_runtime_active_workers{${J}, ` +
              `controller="tenant"})`,
            legend: "active {{instance}}",
          },
          {
            expr: `max(controller_runtime_max_concurrent_reconciles{${J}, controller="tenant"})`,
            legend: "maximum",
          },
        ],
      },
    ],
  },
  {
    title: "Work queue",
    panels: [
      {
        title: "Queue depth",
        question: "Is the work queue backing up? Tenants waiting for a worker; it should return " +
          "to zero between bursts (resyncs, catalogue edits).",
        type: "timeseries",
        unit: "short",
        width: 8,
        queries: [{
          expr: `sum by (instance) (workqueue_depth{${J}, name="tenant"})`,
          legend: "{{instance}}",
        }],
      },
      {
        title: "Queue adds and retries",
        question: "Where does the work come from? Tenants queued per second (watch events, " +
          "resyncs) and retries per second (backoff after failures, routine retries).",
        type: "timeseries",
        unit: "ops",
        width: 8,
        queries: [
          {
            expr: `sum(rate(workqueue_adds_total{${J}, name="tenant"}[$__rate_interval]))`,
            legend: "adds",
          },
          {
            expr: `sum(rate(workqueue_retries_total{${J}, name="tenant"}[$__rate_interval]))`,
            legend: "retries",
          },
        ],
      },
      {
        title: "Time in queue",
        question: "How long does a tenant wait for a worker? Quantiles of the time between " +
          "being queued and being picked up.",
        type: "timeseries",
        unit: "s",
        width: 8,
        queries: [0.5, 0.9, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(` +
            `workqueue_queue_duration_seconds_bucket{${J}, name="tenant"}[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
      },
    ],
  },
  {
    title: "API server and watches",
    panels: [
      {
        title: "API requests by code",
        question: "How does the API server answer? Requests per second by status code and " +
          "method: 403 (RBAC), 409 (conflicts, retried), 422 (admission), 429 (throttling), " +
          "5xx, and 0 (no answer).",
        type: "timeseries",
        unit: "reqps",
        width: 8,
        stacked: true,
        queries: [{
          expr: `sum by (code, method) (rate(rest_client_requests_total{${J}}[$__rate_interval]))`,
          legend: "{{method}} {{code}}",
        }],
      },
      {
        title: "Watch restarts by cause",
        question: "Are the watches healthy? Restarts in the last 10 minutes by watch and cause; " +
          "`closed` every 5 to 10 minutes is normal, anything looping is not (see the runbook).",
        type: "timeseries",
        unit: "short",
        width: 8,
        queries: [{
          expr: `sum by (watch, cause) (increase(kleff_watch_restarts_total{${J}}[10m]))`,
          legend: "{{watch}} {{cause}}",
        }],
      },
      {
        title: "Dropped Events",
        question: "Are Events lost? Events the recorder gave up on in the last 10 minutes, by " +
          "reason; reconciles are unaffected, only the Events are missing from `kubectl describe`.",
        type: "timeseries",
        unit: "short",
        width: 8,
        queries: [{
          expr: `sum by (reason) (increase(kleff_events_dropped_total{${J}}[10m]))`,
          legend: "{{reason}}",
        }],
      },
    ],
  },
  {
    title: "Replicas",
    panels: [
      {
        title: "Leader",
        question: "Which replica leads? 1 for the replica holding the Lease, 0 for standbys; " +
          "no 1 anywhere for more than the lease duration means nobody reconciles.",
        type: "state-timeline",
        unit: "none",
        width: 12,
        queries: [{
          expr: `max by (instance) (leader_election_master_status{${J}})`,
          legend: "{{instance}}",
        }],
      },
      {
        title: "Replicas up",
        question: "Can Prometheus scrape every replica? 1 per replica scraped successfully.",
        type: "state-timeline",
        unit: "none",
        width: 12,
        queries: [{ expr: `up{${J}}`, legend: "{{instance}}" }],
      },
      {
        title: "Memory (RSS)",
        question: "How much memory does each replica use? Resident set size, against the " +
          "Deployment's 256Mi limit (the README's benchmarks give the expected range).",
        type: "timeseries",
        unit: "bytes",
        width: 8,
        queries: [{ expr: `process_resident_memory_bytes{${J}}`, legend: "{{instance}}" }],
      },
      {
        title: "CPU",
        question: "How much CPU does each replica use? CPU seconds per second (cores), against " +
          "the Deployment's 500m limit.",
        type: "timeseries",
        unit: "short",
        width: 8,
        queries: [{
          expr: `rate(process_cpu_seconds_total{${J}}[$__rate_interval])`,
          legend: "{{instance}}",
        }],
      },
      {
        title: "Process restarts",
        question: "Do replicas restart? Process starts in the last hour per replica (a lost " +
          "Lease, a crash or an OOM kill restarts the container).",
        type: "timeseries",
        unit: "short",
        width: 8,
        queries: [{
          expr: `changes(process_start_time_seconds{${J}}[1h])`,
          legend: "{{instance}}",
        }],
      },
    ],
  },
];

const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** Grafana's field configuration of a panel. */
function fieldConfig(panel: PanelSpec): Record<string, unknown> {
  const defaults: Record<string, unknown> = { unit: panel.unit };
  if (panel.type === "timeseries") {
    defaults.min = 0;
    defaults.custom = {
      drawStyle: "line",
      lineInterpolation: "stepAfter",
      fillOpacity: panel.stacked ? 30 : 10,
      showPoints: "never",
      stacking: { mode: panel.stacked ? "normal" : "none", group: "A" },
    };
  }
  if (panel.type === "state-timeline") {
    defaults.mappings = [{
      type: "value",
      options: {
        "0": { text: panel.title === "Leader" ? "standby" : "down", color: "blue", index: 0 },
        "1": { text: panel.title === "Leader" ? "leader" : "up", color: "green", index: 1 },
      },
    }];
    defaults.color = { mode: "thresholds" };
    defaults.thresholds = { mode: "absolute", steps: [{ color: "red", value: null }] };
  }
  return { defaults, overrides: [] };
}

/** Grafana's options of a panel. */
function options(panel: PanelSpec): Record<string, unknown> {
  if (panel.type === "table") return { showHeader: true, cellHeight: "sm" };
  const legend = { displayMode: "list", placement: "bottom", showLegend: true };
  if (panel.type === "state-timeline") {
    return { legend, showValue: "never", mergeValues: true, rowHeight: 0.8 };
  }
  return { legend, tooltip: { mode: "multi", sort: "desc" } };
}

/** The Grafana panel JSON of `panel` at `gridPos` with `id`. */
function panelJson(
  panel: PanelSpec,
  gridPos: { x: number; y: number; w: number; h: number },
  id: number,
): Record<string, unknown> {
  const table = panel.type === "table";
  return {
    id,
    type: panel.type,
    title: panel.title,
    description: panel.question,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: fieldConfig(panel),
    options: options(panel),
    targets: panel.queries.map((query, index) => ({
      datasource: DATASOURCE,
      refId: String.fromCharCode(65 + index),
      expr: query.expr,
      ...(query.legend ? { legendFormat: query.legend } : {}),
      ...(table ? { instant: true, range: false, format: "table" } : { range: true }),
    })),
    ...(table
      ? {
        transformations: [{
          id: "organize",
          options: {
            excludeByName: {
              Time: true,
              Value: true,
              __name__: true,
              condition: true,
              container: true,
              endpoint: true,
              instance: true,
              job: true,
              namespace: true,
              pod: true,
              service: true,
            },
            indexByName: { tenant: 0, status: 1, reason: 2 },
          },
        }],
      }
      : {}),
  };
}

/** The dashboard as Grafana's JSON model (schema 39: Grafana 10 and later import it as is). */
export function dashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 0;
  let y = 0;
  for (const row of ROWS) {
    panels.push({
      id: ++id,
      type: "row",
      title: row.title,
      collapsed: false,
      gridPos: { x: 0, y, w: 24, h: 1 },
      panels: [],
    });
    y += 1;
    let x = 0;
    for (const panel of row.panels) {
      if (x + panel.width > 24) {
        x = 0;
        y += 8;
      }
      panels.push(panelJson(panel, { x, y, w: panel.width, h: 8 }, ++id));
      x += panel.width;
    }
    y += 8;
  }
  return {
    title: "kleff tenant operator",
    uid: "kleff-tenant-operator",
    description: "Tenants, reconciles, the work queue, the API server, watches and replicas of " +
      "the kleff tenant operator (README, Monitoring; alerts: docs/runbook.md).",
    tags: ["kleff", "kubernetes", "operator"],
    editable: true,
    graphTooltip: 1,
    id: null,
    links: [],
    refresh: "30s",
    schemaVersion: 39,
    time: { from: "now-3h", to: "now" },
    timepicker: {},
    timezone: "",
    version: 1,
    annotations: { list: [] },
    templating: {
      list: [
        {
          name: "datasource",
          label: "Data source",
          type: "datasource",
          query: "prometheus",
          current: {},
          hide: 0,
          refresh: 1,
          regex: "",
          options: [],
        },
        {
          name: "job",
          label: "Job",
          type: "query",
          datasource: DATASOURCE,
          query: { query: JOB_QUERY, refId: "job" },
          definition: JOB_QUERY,
          current: { selected: true, text: DEFAULT_JOB, value: DEFAULT_JOB },
          hide: 0,
          refresh: 2,
          sort: 1,
          includeAll: false,
          multi: false,
          regex: "",
          options: [],
        },
      ],
    },
    panels,
  };
}

/** The dashboard's JSON text (before `deno fmt`). */
export function dashboardJson(): string {
  return JSON.stringify(dashboard(), null, 2) + "\n";
}
