// Reads a plan catalogue from YAML text (a file, a ConfigMap key or the built-in defaults).
import { parse } from "yaml";
import { CatalogueError, type PlanCatalogue } from "./catalogue.ts";
import { validateCatalogue } from "./validate.ts";
import { BUILTIN_CATALOGUE_YAML } from "./defaults.ts";

/** Parses and validates catalogue YAML; throws {@linkcode CatalogueError} naming `source`. */
export function parseCatalogue(text: string, source: string): PlanCatalogue {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new CatalogueError(source, [
      `not valid YAML: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
    ]);
  }
  return validateCatalogue(raw, source);
}

/** The built-in catalogue (free, basic, pro). */
export function builtinCatalogue(): PlanCatalogue {
  return parseCatalogue(BUILTIN_CATALOGUE_YAML, "the built-in defaults");
}
