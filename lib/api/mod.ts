// The public face of the Tenant API: resource names, types, keys, condition vocabulary.
export * from "./tenant.ts";
export * from "./keys.ts";
export * from "./conditions.ts";
export * from "./names.ts";
export * from "./reserved.ts";
export * from "./time.ts";
export * from "./resources.ts";
