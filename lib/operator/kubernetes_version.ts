// Which Kubernetes versions the operator supports, and what it gets from the one it runs
// against: the server's /version is read at start, what it has and lacks is logged, and a
// server older than the minimum is refused unless --allow-unsupported-kubernetes.
import type { KubeClient } from "../client/mod.ts";
import { Backoff, sleep } from "../backoff.ts";
import { log } from "../log.ts";

/** Retries of an unreadable `/version` (unreachable server, rejected token): as the watches do. */
const VERSION_BACKOFF = { initialMs: 800, maxMs: 30_000 };

/** A Kubernetes release as `/version` reports it. */
export interface KubernetesVersion {
  /** Major version, 1. */
  major: number;
  /** Minor version (a provider's `27+` is 27). */
  minor: number;
  /** The full version string, e.g. `v1.30.2-eks-1234`. */
  gitVersion: string;
}

/** The oldest release the operator and deploy/ are supported on: everything they rely on is GA. */
export const MINIMUM_KUBERNETES_VERSION: Readonly<Pick<KubernetesVersion, "major" | "minor">> = {
  major: 1,
  minor: 30,
};

/** Something the operator or deploy/ relies on, and what is lost on a server without it. */
export interface KubernetesFeature {
  /** Its name in log lines and the README. */
  name: string;
  /** Whether a server of this version has it, on by default. */
  available(version: KubernetesVersion): boolean;
  /** What the operator or deploy/ loses without it. */
  without: string;
  /** False when its absence degrades nothing the platform's guarantees rest on. */
  required: boolean;
}

function isAtLeast(
  version: Pick<KubernetesVersion, "major" | "minor">,
  minimum: Pick<KubernetesVersion, "major" | "minor">,
): boolean {
  return version.major > minimum.major ||
    (version.major === minimum.major && version.minor >= minimum.minor);
}

const atLeast = (minor: number) => (version: KubernetesVersion) =>
  isAtLeast(version, { major: 1, minor });

/** What the operator relies on, oldest first (README "Supported Kubernetes versions"). */
export const KUBERNETES_FEATURES: readonly KubernetesFeature[] = [
  {
    name: "the kubernetes.io/metadata.name namespace label",
    available: atLeast(21),
    without: "kleff-isolation's rules selecting the ingress namespace and kube-system's DNS by " +
      "name match nothing: ingress from the gateway and DNS egress are blocked",
    required: true,
  },
  {
    name: "Pod Security admission",
    available: atLeast(25),
    without: "the plans' Pod Security levels (namespace labels) are not enforced",
    required: true,
  },
  {
    name: "CRD validation rules (x-kubernetes-validations)",
    available: atLeast(25),
    without: "the server accepts an invalid or changed Tenant spec; the operator still refuses " +
      "it with InvalidSpec (install the CRD with kubectl apply --validate=false)",
    required: true,
  },
  {
    name: "ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1)",
    available: atLeast(30),
    without: "deploy/'s admission policies cannot be installed: only RBAC bounds the operator's " +
      "service account and tenant admins (the operator still restores drift)",
    required: true,
  },
  {
    name: "streaming lists (WatchList, on by default in 1.32 and from 1.34)",
    available: (version) => version.major === 1 && (version.minor === 32 || version.minor >= 34),
    without: "watches start with a list, then watch (one more request per watch)",
    required: false,
  },
];

/** Thrown when `/version` cannot be read or does not say which Kubernetes it is. */
export class KubernetesVersionError extends Error {
  /** Builds the error from what went wrong. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KubernetesVersionError";
  }
}

/** Thrown at start on a server older than the minimum without --allow-unsupported-kubernetes. */
export class UnsupportedKubernetesError extends Error {
  /** Builds the error naming the version, the minimum and what the server lacks. */
  constructor(version: KubernetesVersion, lacking: readonly KubernetesFeature[]) {
    super(
      `Kubernetes ${version.gitVersion} is older than the minimum supported ${
        formatVersion(MINIMUM_KUBERNETES_VERSION)
      } and lacks ${lacking.map((feature) => feature.name).join("; ")}. Upgrade the cluster, ` +
        "or start with --allow-unsupported-kubernetes to run without them",
    );
    this.name = "UnsupportedKubernetesError";
  }
}

function formatVersion(version: Pick<KubernetesVersion, "major" | "minor">): string {
  return `v${version.major}.${version.minor}`;
}

/** Reads `/version`'s answer (`major`, `minor`, `gitVersion`); providers' `27+` minors count as 27. */
export function parseKubernetesVersion(info: unknown): KubernetesVersion {
  const fields = (info ?? {}) as { major?: unknown; minor?: unknown; gitVersion?: unknown };
  const gitVersion = typeof fields.gitVersion === "string" ? fields.gitVersion : "";
  const number = (value: unknown) =>
    typeof value === "string" && /^\d+\+?$/.test(value) ? parseInt(value, 10) : NaN;
  let major = number(fields.major);
  let minor = number(fields.minor);
  if (Number.isNaN(major) || Number.isNaN(minor)) {
    const match = /^v(\d+)\.(\d+)/.exec(gitVersion);
    if (!match) {
      throw new KubernetesVersionError(
        `cannot tell the Kubernetes version from /version: ${JSON.stringify(info)}`,
      );
    }
    major = Number(match[1]);
    minor = Number(match[2]);
  }
  return { major, minor, gitVersion: gitVersion || `v${major}.${minor}` };
}

/** What a server of `version` gives the operator. */
export interface VersionAssessment {
  /** At least {@linkcode MINIMUM_KUBERNETES_VERSION}. */
  supported: boolean;
  /** Features it has. */
  available: KubernetesFeature[];
  /** Features it lacks. */
  missing: KubernetesFeature[];
}

/** Compares `version` with the minimum and the features the operator relies on. */
export function assessKubernetesVersion(version: KubernetesVersion): VersionAssessment {
  return {
    supported: isAtLeast(version, MINIMUM_KUBERNETES_VERSION),
    available: KUBERNETES_FEATURES.filter((feature) => feature.available(version)),
    missing: KUBERNETES_FEATURES.filter((feature) => !feature.available(version)),
  };
}

/**
 * Reads the server's `/version` (retrying with backoff while it cannot be read), logs what the
 * operator will and will not get, and throws {@linkcode UnsupportedKubernetesError} for a server
 * older than the minimum unless `allowUnsupported`. Resolves to undefined when `signal` stops it
 * before the server answered.
 */
export async function checkKubernetesVersion(
  client: KubeClient,
  options: { allowUnsupported: boolean; signal?: AbortSignal },
): Promise<VersionAssessment | undefined> {
  const info = await readVersion(client, options.signal);
  if (info === undefined) return undefined;
  const version = parseKubernetesVersion(info);
  const assessment = assessKubernetesVersion(version);
  const logger = log("operator");
  logger.info("Kubernetes {version}: {support}; it has {available}", {
    version: version.gitVersion,
    support: assessment.supported ? "supported" : "not supported",
    available: assessment.available.map((feature) => feature.name).join("; ") ||
      "nothing the operator looks for",
  });
  for (const feature of assessment.missing) {
    const line = `Kubernetes {version} lacks {feature}: {without}`;
    const properties = {
      version: version.gitVersion,
      feature: feature.name,
      without: feature.without,
    };
    if (feature.required) logger.warn(line, properties);
    else logger.info(line, properties);
  }
  if (!assessment.supported) {
    const lacking = assessment.missing.filter((feature) => feature.required);
    if (!options.allowUnsupported) throw new UnsupportedKubernetesError(version, lacking);
    logger.warn(
      "running on unsupported Kubernetes {version} (--allow-unsupported-kubernetes): the " +
        "guarantees listed above as lacking do not hold",
      { version: version.gitVersion },
    );
  }
  return assessment;
}

/**
 * Reads `/version`, retrying with backoff while it cannot be read (an unreachable server or a
 * rejected token may recover: a rotated token file, a server coming up); `undefined` once `signal`
 * aborts.
 */
async function readVersion(client: KubeClient, signal?: AbortSignal): Promise<unknown> {
  const backoff = new Backoff(VERSION_BACKOFF);
  for (;;) {
    try {
      return await client.request({ path: "/version", signal });
    } catch (error) {
      if (signal?.aborted) return undefined;
      const delay = backoff.next();
      log("operator").warn("cannot read the server's /version: {error}; retrying in {delay} ms", {
        error: error instanceof Error ? error.message : String(error),
        delay: Math.round(delay),
      });
      try {
        await sleep(delay, signal);
      } catch {
        return undefined;
      }
    }
  }
}
