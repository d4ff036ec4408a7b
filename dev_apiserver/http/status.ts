// metav1.Status error bodies exactly as kube-apiserver sends them, so clients parse them unchanged.

/** One cause of an Invalid (422) or BadRequest Status. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** The `details` of a Status. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
  /** The deleted object's uid (Success answers of DELETE). */
  uid?: string;
}

/** A `metav1.Status` object. */
export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  /** A `continue` token only on a 410 for an expired continue token (to go on inconsistently). */
  metadata: { continue?: string };
  status: "Failure" | "Success";
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** Identifies the object an error is about, for messages and `details`. */
export interface ErrorTarget {
  group: string;
  /** Resource plural, e.g. "tenants" (used in messages like kube: `tenants.kleff.io "x" not found`). */
  resource: string;
  /** Kind, e.g. "Tenant" (used in `details.kind` of Invalid errors and messages). */
  kind?: string;
  name?: string;
}

/** An error the server answers with a Status body; thrown anywhere in request handling. */
export class ApiError extends Error {
  /** The HTTP status code and `code` of the body. */
  readonly code: number;
  /** The machine-readable `reason`. */
  readonly reason: string;
  /** The Status `details`, if any. */
  readonly details?: StatusDetails;
  /** The Status `metadata` (a `continue` token, for an expired continue token). */
  metadata: { continue?: string } = {};

  /** Builds an error from its code, reason, message and optional details. */
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  /** The Status body for this error. */
  toStatus(): StatusBody {
    const body: StatusBody = {
      kind: "Status",
      apiVersion: "v1",
      metadata: { ...this.metadata },
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) body.details = withoutEmptyNames(this.details);
    return body;
  }
}

/** Details without empty `name`, `group` and `kind`, which kube's JSON omits. */
function withoutEmptyNames(details: StatusDetails): StatusDetails {
  const copy = { ...details };
  for (const field of ["name", "group", "kind"] as const) {
    if (copy[field] === "") delete copy[field];
  }
  return copy;
}

/** `group.resource` or `resource` for the core group, as kube words qualified resources. */
export function qualifiedResource(target: { group: string; resource: string }): string {
  return target.group ? `${target.resource}.${target.group}` : target.resource;
}

/** `Kind.group` or `Kind` for the core group, as kube words qualified kinds. */
function qualifiedKind(target: ErrorTarget): string {
  const kind = target.kind ?? target.resource;
  return target.group ? `${kind}.${target.group}` : kind;
}

/** 404 NotFound: `tenants.kleff.io "x" not found`. */
export function notFound(target: ErrorTarget): ApiError {
  return new ApiError(404, "NotFound", `${qualifiedResource(target)} "${target.name}" not found`, {
    name: target.name,
    group: target.group,
    kind: target.resource,
  });
}

/** 409 AlreadyExists: `tenants.kleff.io "x" already exists`. */
export function alreadyExists(target: ErrorTarget): ApiError {
  return new ApiError(
    409,
    "AlreadyExists",
    `${qualifiedResource(target)} "${target.name}" already exists`,
    { name: target.name, group: target.group, kind: target.resource },
  );
}

/** 409 Conflict for a stale resourceVersion or failed precondition. */
export function conflict(target: ErrorTarget, detail?: string): ApiError {
  const why = detail ??
    "the object has been modified; please apply your changes to the latest version and try again";
  return new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(target)} "${target.name}": ${why}`,
    { name: target.name, group: target.group, kind: target.resource },
  );
}

/** 422 Invalid with one cause per bad field, worded like kube-apiserver. */
export function invalid(target: ErrorTarget, causes: StatusCause[]): ApiError {
  const parts = causes.map((c) => c.field ? `${c.field}: ${c.message}` : `${c.message}`);
  const list = parts.length === 1 ? parts[0] : `[${parts.join(", ")}]`;
  return new ApiError(
    422,
    "Invalid",
    `${qualifiedKind(target)} "${target.name ?? ""}" is invalid: ${list}`,
    {
      ...(target.name ? { name: target.name } : {}),
      group: target.group,
      kind: target.kind ?? target.resource,
      causes,
    },
  );
}

/** 400 BadRequest with a plain message. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

/**
 * 403 Forbidden in kube's three wordings: `<resource> "<name>" is forbidden: <why>`,
 * `<resource> is forbidden: <why>` without a name, and `forbidden: <why>` without a resource
 * (non-resource paths).
 */
export function forbidden(target: ErrorTarget | undefined, why: string): ApiError {
  const details: StatusDetails = { group: target?.group ?? "", kind: target?.resource ?? "" };
  let message = `forbidden: ${why}`;
  if (target?.name) {
    details.name = target.name;
    message = `${qualifiedResource(target)} ${JSON.stringify(target.name)} is ${message}`;
  } else if (target) {
    message = `${qualifiedResource(target)} is ${message}`;
  }
  return new ApiError(403, "Forbidden", message, details);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(message: string): ApiError {
  return new ApiError(405, "MethodNotAllowed", message, {});
}

/** 404 for paths that are not a known resource. */
export function unknownPath(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource", {});
}

/** A 404 for a group/version nobody serves: kube answers it with plain text, not a Status. */
export class PageNotFoundError extends ApiError {
  /** Builds the error. */
  constructor() {
    super(404, "NotFound", "404 page not found");
    this.name = "PageNotFoundError";
  }
}

/** 410 Expired for watches resuming from a version older than the history window. */
export function expired(message: string, reason: "Expired" | "Gone" = "Expired"): ApiError {
  return new ApiError(410, reason, message);
}

/** 504 Timeout for a list at a resourceVersion the server has not reached. */
export function tooLargeResourceVersion(rv: number, current: number): ApiError {
  return new ApiError(
    504,
    "Timeout",
    `Timeout: Too large resource version: ${rv}, current: ${current}`,
    {
      causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
      retryAfterSeconds: 1,
    },
  );
}

/** Serializes a Status as an HTTP response with the right code. */
export function statusResponse(error: ApiError, headers?: HeadersInit): Response {
  if (error instanceof PageNotFoundError) {
    return new Response(`${error.message}\n`, {
      status: 404,
      headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
    });
  }
  const h = new Headers(headers);
  h.set("content-type", "application/json");
  if (error.details?.retryAfterSeconds !== undefined) {
    h.set("retry-after", String(error.details.retryAfterSeconds));
  }
  return new Response(JSON.stringify(error.toStatus()), { status: error.code, headers: h });
}
