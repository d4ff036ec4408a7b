// The pure reconcile decisions of the tenant operator: give `decide` a Tenant and what was observed,
// execute the returned Decision (see `Decision` for the executor's contract).
//
// Growth (plans, isolation, policy): each kind of per-tenant object gets its own step module like
// namespace.ts (desired objects, a diff to create/patch/delete actions, one ConditionInput);
// decide.ts appends its actions after the namespace's and its condition before the TenantReady
// summary, and teardown.ts deletes its cluster-scoped objects.
export * from "./actions.ts";
export * from "./conditions.ts";
export * from "./decide.ts";
export * from "./events.ts";
export * from "./failure.ts";
export * from "./metadata_patch.ts";
export * from "./namespace.ts";
export * from "./spec.ts";
export * from "./status.ts";
export * from "./teardown.ts";
