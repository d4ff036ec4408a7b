// CustomResourceDefinition handling: validation, the established status, and the resources a CRD serves.
import type {
  CustomResourceDefinition,
  CustomResourceDefinitionNames,
  CustomResourceDefinitionVersion,
} from "kubernetes-types/apiextensions/v1.d.ts";
import { ALL_VERBS, type ResourceInfo } from "../storage/resources.ts";
import type { StatusCause } from "../http/status.ts";
import type { PrinterColumn } from "../tables/table.ts";
import type { KubeObject } from "../types.ts";
import { invalidValue, validateName } from "../storage/validation.ts";

/** The finalizer kube puts on CRDs so their objects are deleted before the CRD goes. */
export const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

function required(field: string): StatusCause {
  return { reason: "FieldValueRequired", field, message: "Required value" };
}

/** Problems with a CRD's spec, worded like kube-apiserver (empty = valid). */
export function validateCrd(object: KubeObject): StatusCause[] {
  const crd = object as unknown as CustomResourceDefinition;
  const spec = crd.spec;
  const causes: StatusCause[] = [];
  if (!spec || typeof spec !== "object") return [required("spec")];
  if (!spec.group) causes.push(required("spec.group"));
  else causes.push(...validateName(spec.group, "subdomain", { field: "spec.group" }));
  const names = spec.names ?? {} as CustomResourceDefinitionNames;
  if (!names.plural) causes.push(required("spec.names.plural"));
  else causes.push(...validateName(names.plural, "label", { field: "spec.names.plural" }));
  if (!names.kind) causes.push(required("spec.names.kind"));
  if (spec.scope !== "Namespaced" && spec.scope !== "Cluster") {
    causes.push({
      reason: "FieldValueNotSupported",
      field: "spec.scope",
      message: `Unsupported value: ${
        JSON.stringify(spec.scope ?? "")
      }: supported values: "Cluster", "Namespaced"`,
    });
  }
  if (spec.group && names.plural && crd.metadata?.name !== `${names.plural}.${spec.group}`) {
    causes.push(
      invalidValue(
        "metadata.name",
        crd.metadata?.name ?? "",
        'must be spec.names.plural+"."+spec.group',
      ),
    );
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) causes.push(required("spec.versions"));
  const storage = versions.filter((v) => v.storage).length;
  if (versions.length > 0 && storage !== 1) {
    causes.push(
      invalidValue(
        "spec.versions",
        versions,
        "must have exactly one version marked as storage version",
      ),
    );
  }
  versions.forEach((version, i) => {
    if (!version.name) causes.push(required(`spec.versions[${i}].name`));
    if (!version.schema?.openAPIV3Schema) {
      causes.push({
        reason: "FieldValueRequired",
        field: `spec.versions[${i}].schema.openAPIV3Schema`,
        message: "Required value: schemas are required",
      });
    }
  });
  return causes;
}

/** The names kube accepts for a CRD (defaults filled in). */
export function acceptedNames(
  crd: CustomResourceDefinition,
): CustomResourceDefinitionNames & { singular: string; listKind: string } {
  const names = crd.spec.names;
  return {
    ...names,
    singular: names.singular || names.kind.toLowerCase(),
    listKind: names.listKind || `${names.kind}List`,
  };
}

/** The status of a CRD that is served: NamesAccepted and Established true. */
export function establishedStatus(
  crd: CustomResourceDefinition,
  now: string,
): Record<string, unknown> {
  const old = (crd.status?.conditions ?? []) as { type: string; lastTransitionTime?: string }[];
  const since = (type: string) => old.find((c) => c.type === type)?.lastTransitionTime ?? now;
  const storage = crd.spec.versions.find((v) => v.storage)?.name;
  const stored = new Set(crd.status?.storedVersions ?? []);
  if (storage) stored.add(storage);
  return {
    conditions: [
      {
        type: "NamesAccepted",
        status: "True",
        lastTransitionTime: since("NamesAccepted"),
        reason: "NoConflicts",
        message: "no conflicts found",
      },
      {
        type: "Established",
        status: "True",
        lastTransitionTime: since("Established"),
        reason: "InitialNamesAccepted",
        message: "the initial names have been accepted",
      },
    ],
    acceptedNames: acceptedNames(crd),
    storedVersions: [...stored],
  };
}

/** The status of a CRD whose objects are being deleted. */
export function terminatingStatus(
  crd: CustomResourceDefinition,
  now: string,
): Record<string, unknown> {
  const status = establishedStatus(crd, now);
  const conditions = status.conditions as Record<string, unknown>[];
  const had = crd.status?.conditions?.find((c) => c.type === "Terminating");
  conditions.push({
    type: "Terminating",
    status: "True",
    lastTransitionTime: had?.lastTransitionTime ?? now,
    reason: "InstanceDeletionInProgress",
    message: "CustomResource deletion is in progress",
  });
  return status;
}

/** The resources (one per served version) a CRD defines. */
export function crdResources(crd: CustomResourceDefinition): ResourceInfo[] {
  const names = acceptedNames(crd);
  return crd.spec.versions
    .filter((version: CustomResourceDefinitionVersion) => version.served)
    .map((version) => ({
      group: crd.spec.group,
      version: version.name,
      resource: names.plural,
      singular: names.singular,
      kind: names.kind,
      listKind: names.listKind,
      namespaced: crd.spec.scope === "Namespaced",
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      verbs: ALL_VERBS,
      statusSubresource: Boolean(version.subresources?.status),
      generation: true,
      nameRule: "subdomain" as const,
      schema: version.schema?.openAPIV3Schema,
      printerColumns: (version.additionalPrinterColumns ?? []) as PrinterColumn[],
      crd: crd.metadata?.name,
    }));
}
