// A CRD's structural schema as server-side apply sees it: `x-kubernetes-list-type` (atomic by
// default, set, or map with `x-kubernetes-list-map-keys`), `x-kubernetes-map-type`, maps from
// `additionalProperties`, and preserve-unknown-fields subtrees of the deduced type.
import type { JSONSchemaProps } from "kubernetes-types/apiextensions/v1.d.ts";
import {
  DEDUCED,
  type FieldType,
  type MapType,
  OBJECT_META,
  objectType,
  SCALAR,
} from "../storage/field_types.ts";
import type { StructuralSchema } from "./schema.ts";

const cache = new WeakMap<object, MapType>();

/** The field type of the custom resources a version's `openAPIV3Schema` describes. */
export function schemaFieldType(schema: JSONSchemaProps): MapType {
  let type = cache.get(schema);
  if (!type) {
    const converted = convert(schema as StructuralSchema);
    const fields = converted.kind === "map" ? { ...converted.fields } : {};
    delete fields.metadata;
    type = objectType(fields);
    cache.set(schema, type);
  }
  return type;
}

function convert(schema: StructuralSchema): FieldType {
  if (schema["x-kubernetes-int-or-string"]) return SCALAR;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  if (schema.type === "array") {
    const items = Array.isArray(schema.items) ? schema.items[0] : schema.items;
    const itemType = items ? convert(items) : DEDUCED;
    const listType = schema["x-kubernetes-list-type"];
    if (listType === "set") return { kind: "list", list: "set", items: itemType };
    if (listType === "map") {
      return {
        kind: "list",
        list: "map",
        items: itemType,
        keys: schema["x-kubernetes-list-map-keys"] ?? [],
      };
    }
    return { kind: "list", list: "atomic", items: itemType };
  }
  if (schema.type === "object" || schema.properties || schema.additionalProperties) {
    const additional = schema.additionalProperties;
    const map: MapType = { kind: "map" };
    if (schema.properties) {
      map.fields = {};
      for (const [name, property] of Object.entries(schema.properties)) {
        map.fields[name] = convert(property);
      }
    }
    if (typeof additional === "object") map.elements = convert(additional);
    else if (additional === true || preserve) map.elements = DEDUCED;
    if (schema["x-kubernetes-embedded-resource"]) {
      map.fields = { apiVersion: SCALAR, kind: SCALAR, metadata: OBJECT_META, ...map.fields };
    }
    if (schema["x-kubernetes-map-type"] === "atomic") map.atomic = true;
    else if (!map.fields && !map.elements) return DEDUCED;
    return map;
  }
  if (!schema.type) return DEDUCED;
  return SCALAR;
}
