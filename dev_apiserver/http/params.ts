// Query parameters read as kube-apiserver reads them (apimachinery's query parameter conversion).
import { invalid } from "./status.ts";

/**
 * A boolean query parameter: false when absent; otherwise its first value is false only when it
 * is `0` or `false` in any case, and true for anything else (`true`, `True`, `1`, even an empty
 * value as in `?watch`), as apimachinery's `Convert_Slice_string_To_bool` reads it.
 */
export function queryBoolean(params: URLSearchParams, name: string): boolean {
  return queryOptionalBoolean(params, name) ?? false;
}

/** A `*bool` query parameter (such as `sendInitialEvents`): undefined when absent, else as {@linkcode queryBoolean}. */
export function queryOptionalBoolean(params: URLSearchParams, name: string): boolean | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  return value !== "0" && value.toLowerCase() !== "false";
}

/** kube's longest field manager name. */
const FIELD_MANAGER_MAX_LENGTH = 128;

/**
 * The field manager of a write: the `fieldManager` parameter (422 when longer than 128 characters
 * or unprintable), else the user agent up to its first `/` (`kubectl`, `Deno`), as kube names it.
 * `options` names the options kind in the error (`CreateOptions`, `UpdateOptions`, `PatchOptions`).
 */
export function fieldManager(request: Request, params: URLSearchParams, options: string): string {
  const requested = params.get("fieldManager") ?? "";
  if (requested === "") {
    const product = (request.headers.get("user-agent") ?? "").split("/")[0];
    return [...product].filter(isPrintable).join("").slice(0, FIELD_MANAGER_MAX_LENGTH);
  }
  const causes = [];
  if (requested.length > FIELD_MANAGER_MAX_LENGTH) {
    causes.push({
      reason: "FieldValueTooLong",
      field: "fieldManager",
      message: `Too long: may not be longer than ${FIELD_MANAGER_MAX_LENGTH}`,
    });
  }
  [...requested].forEach((character, i) => {
    if (!isPrintable(character)) {
      const code = character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
      causes.push({
        reason: "FieldValueInvalid",
        field: "fieldManager",
        message: `Invalid value: ${
          JSON.stringify(requested)
        }: invalid character U+${code} (at position ${i})`,
      });
    }
  });
  if (causes.length > 0) {
    throw invalid({ group: "meta.k8s.io", resource: options, kind: options, name: "" }, causes);
  }
  return requested;
}

function isPrintable(character: string): boolean {
  return !/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(character) &&
    (character === " " || !/\p{Zs}/u.test(character));
}
