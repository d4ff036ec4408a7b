// The public face of plans: the catalogue format, built-in defaults, YAML parsing and validation,
// quantities, CIDRs, gateway host templates and mesh settings.
export * from "./catalogue.ts";
export { BUILTIN_CATALOGUE_YAML } from "./defaults.ts";
export { builtinCatalogue, parseCatalogue } from "./parse.ts";
export { compareQuantities, parseQuantity, type Quantity, quantityKey } from "./quantity.ts";
export { type Cidr, parseCidr } from "./cidr.ts";
export {
  HOST_PLACEHOLDERS,
  hostsOverlap,
  hostTemplateProblem,
  type HostValues,
  renderHost,
  renderHosts,
} from "./hosts.ts";
export {
  DEFAULT_MESH,
  egressHostProblem,
  type MeshProfile,
  MTLS_MODES,
  type MtlsMode,
} from "./mesh.ts";
export { validateCatalogue } from "./validate.ts";
