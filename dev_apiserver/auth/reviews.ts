// TokenReview (authentication.k8s.io/v1) and SubjectAccessReview (authorization.k8s.io/v1): the
// delegated authentication and authorization other servers ask kube-apiserver for (the operator's
// secure metrics endpoint among them), answered from this server's tokens and its RBAC mode.
import type { TokenReview } from "kubernetes-types/authentication/v1.d.ts";
import type { SubjectAccessReview } from "kubernetes-types/authorization/v1.d.ts";
import { isObject } from "../storage/objects.ts";
import { badRequest, invalid, type StatusCause } from "../http/status.ts";
import type { ResourceInfo } from "../storage/resources.ts";
import type { Authenticator } from "./auth.ts";
import type { Authorizer } from "./authorization.ts";
import type { AuthorizationRequest } from "./rbac.ts";

/** What answers the reviews. */
export interface Reviewers {
  authenticator: Authenticator;
  authorizer: Authorizer;
}

/** True for the resources answered here instead of being stored. */
export function isReview(info: ResourceInfo): boolean {
  return (info.group === "authentication.k8s.io" && info.resource === "tokenreviews") ||
    (info.group === "authorization.k8s.io" && info.resource === "subjectaccessreviews");
}

async function readBody(request: Request): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = JSON.parse(await request.text());
  } catch (error) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
  }
  if (!isObject(body)) {
    throw badRequest("couldn't get version/kind; json parse error: the body is not a JSON object");
  }
  return body;
}

const created = (object: unknown) =>
  new Response(JSON.stringify(object), {
    status: 201,
    headers: { "content-type": "application/json" },
  });

/** Answers a create of a TokenReview or SubjectAccessReview (`info` is one, see {@linkcode isReview}). */
export async function answerReview(
  request: Request,
  info: ResourceInfo,
  reviewers: Reviewers,
): Promise<Response> {
  const body = await readBody(request);
  return created(
    info.resource === "tokenreviews"
      ? tokenReview(body as Partial<TokenReview>, reviewers.authenticator)
      : subjectAccessReview(body as Partial<SubjectAccessReview>, reviewers.authorizer),
  );
}

function tokenReview(review: Partial<TokenReview>, authenticator: Authenticator): TokenReview {
  const token = review.spec?.token ?? "";
  if (token === "") throw badRequest("token is required for TokenReview in authentication");
  const identity = authenticator.authenticateToken(token);
  const audiences = review.spec?.audiences ?? [];
  return {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenReview",
    metadata: review.metadata ?? {},
    spec: review.spec ?? {},
    status: identity
      ? {
        authenticated: true,
        user: { username: identity.username, groups: [...identity.groups] },
        ...(audiences.length > 0 ? { audiences } : {}),
      }
      : { user: {} },
  };
}

function subjectAccessReview(
  review: Partial<SubjectAccessReview>,
  authorizer: Authorizer,
): SubjectAccessReview {
  const spec = review.spec ?? {};
  const causes: StatusCause[] = [];
  const resource = spec.resourceAttributes;
  const nonResource = spec.nonResourceAttributes;
  if ((resource === undefined) === (nonResource === undefined)) {
    causes.push({
      reason: "FieldValueInvalid",
      field: "spec.resourceAttributes",
      message:
        `Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified`,
    });
  }
  if (!spec.user && (spec.groups ?? []).length === 0) {
    causes.push({
      reason: "FieldValueInvalid",
      field: "spec.user",
      message: `Invalid value: "": at least one of user or group must be specified`,
    });
  }
  if (causes.length > 0) {
    throw invalid(
      {
        group: "authorization.k8s.io",
        resource: "subjectaccessreviews",
        kind: "SubjectAccessReview",
        name: "",
      },
      causes,
    );
  }
  const attributes: AuthorizationRequest = nonResource
    ? {
      verb: nonResource.verb ?? "",
      apiGroup: "",
      resource: "",
      nonResourcePath: nonResource.path ?? "",
    }
    : {
      verb: resource!.verb ?? "",
      apiGroup: resource!.group ?? "",
      resource: resource!.resource ?? "",
      subresource: resource!.subresource || undefined,
      namespace: resource!.namespace || undefined,
      name: resource!.name || undefined,
    };
  const decision = authorizer.review(
    { username: spec.user ?? "", groups: [...(spec.groups ?? [])] },
    attributes,
  );
  return {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    metadata: review.metadata ?? {},
    spec,
    status: {
      allowed: decision.allowed,
      ...(decision.reason ? { reason: decision.reason } : {}),
    },
  };
}
