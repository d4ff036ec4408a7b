// What the monitoring tests read: the alert rules of deploy/monitoring/ and the queries of its
// Grafana dashboard, parsed from the files users install.
import { parse } from "yaml";

const ROOT = new URL("../../", import.meta.url);

/** The repository's path of `path`. */
export function repoPath(path: string): string {
  return new URL(path, ROOT).pathname;
}

/** One alerting rule. */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations: Record<string, string>;
}

/** The alerting rules of deploy/monitoring/rules.yaml, across its groups. */
export async function alertRules(): Promise<AlertRule[]> {
  const file = parse(await Deno.readTextFile(repoPath("deploy/monitoring/rules.yaml"))) as {
    groups: { rules: AlertRule[] }[];
  };
  return file.groups.flatMap((group) => group.rules);
}

/** One panel query of the dashboard. */
export interface PanelQuery {
  /** The panel's title. */
  panel: string;
  /** The query as written, with Grafana's variables. */
  expr: string;
}

/** Grafana's JSON model, as far as the tests read it. */
export interface DashboardJson {
  panels: {
    id: number;
    type: string;
    title: string;
    description?: string;
    datasource?: { type: string; uid: string };
    gridPos: { x: number; y: number; w: number; h: number };
    targets?: { expr: string; refId: string; datasource?: { type: string; uid: string } }[];
  }[];
  templating: { list: { name: string; type: string; query: unknown; current?: unknown }[] };
  [key: string]: unknown;
}

/** deploy/monitoring/dashboard.json. */
export async function dashboardJson(): Promise<DashboardJson> {
  return JSON.parse(await Deno.readTextFile(repoPath("deploy/monitoring/dashboard.json")));
}

/** Every query of every panel of the dashboard. */
export async function panelQueries(): Promise<PanelQuery[]> {
  return (await dashboardJson()).panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr }))
  );
}
