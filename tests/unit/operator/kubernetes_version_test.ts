// The supported Kubernetes versions: /version parsing, the minimum, what each release lacks,
// and the flag that allows an older server.
import assert from "node:assert/strict";
import {
  assessKubernetesVersion,
  KUBERNETES_FEATURES,
  KubernetesVersionError,
  MINIMUM_KUBERNETES_VERSION,
  parseKubernetesVersion,
  UnsupportedKubernetesError,
} from "../../../lib/operator/kubernetes_version.ts";
import { HELP, parseOperatorOptions } from "../../../lib/operator/options.ts";

const version = (minor: number, major = 1) => ({
  major,
  minor,
  gitVersion: `v${major}.${minor}.0`,
});
const names = (features: { name: string }[]) => features.map((feature) => feature.name);

Deno.test("/version is read as kube-apiserver and providers write it", () => {
  assert.deepEqual(
    parseKubernetesVersion({ major: "1", minor: "20", gitVersion: "v1.20.2" }),
    { major: 1, minor: 20, gitVersion: "v1.20.2" },
  );
  assert.deepEqual(
    parseKubernetesVersion({ major: "1", minor: "27+", gitVersion: "v1.27.3-eks-a5565ad" }),
    { major: 1, minor: 27, gitVersion: "v1.27.3-eks-a5565ad" },
  );
  assert.deepEqual(
    parseKubernetesVersion({ major: "", minor: "", gitVersion: "v1.31.1-gke.100" }),
    { major: 1, minor: 31, gitVersion: "v1.31.1-gke.100" },
  );
  assert.deepEqual(parseKubernetesVersion({ major: "1", minor: "30" }), {
    major: 1,
    minor: 30,
    gitVersion: "v1.30",
  });
  for (const bad of [undefined, {}, { gitVersion: "latest" }, { major: "one", minor: "x" }]) {
    assert.throws(() => parseKubernetesVersion(bad), KubernetesVersionError);
  }
});

Deno.test("the minimum is the oldest release with every required feature", () => {
  const minimum = { ...MINIMUM_KUBERNETES_VERSION, gitVersion: "v1.30.0" };
  const required = KUBERNETES_FEATURES.filter((feature) => feature.required);
  assert.deepEqual(required.filter((feature) => !feature.available(minimum)), []);
  const previous = version(MINIMUM_KUBERNETES_VERSION.minor - 1);
  assert.ok(required.some((feature) => !feature.available(previous)), "the minimum is tight");
  assert.equal(assessKubernetesVersion(minimum).supported, true);
  assert.equal(assessKubernetesVersion(previous).supported, false);
  assert.equal(assessKubernetesVersion(version(0, 2)).supported, true);
});

Deno.test("each release gets what it has and is told what it lacks", () => {
  const v120 = assessKubernetesVersion(version(20));
  assert.equal(v120.supported, false);
  assert.deepEqual(names(v120.available), []);
  assert.equal(v120.missing.length, KUBERNETES_FEATURES.length);
  const v125 = assessKubernetesVersion(version(25));
  assert.deepEqual(names(v125.missing), [
    "ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1)",
    "streaming lists (WatchList, on by default in 1.32 and from 1.34)",
  ]);
  const v130 = assessKubernetesVersion(version(30));
  assert.deepEqual(names(v130.missing), [
    "streaming lists (WatchList, on by default in 1.32 and from 1.34)",
  ]);
  assert.deepEqual(assessKubernetesVersion(version(32)).missing, []);
  assert.equal(assessKubernetesVersion(version(33)).missing.length, 1, "WatchList off in 1.33");
  assert.equal(assessKubernetesVersion(version(33)).supported, true);
  assert.deepEqual(assessKubernetesVersion(version(34)).missing, []);
});

Deno.test("the refusal names the version, the minimum, what is lacking and the way out", () => {
  const lacking = assessKubernetesVersion(version(20)).missing.filter((f) => f.required);
  const error = new UnsupportedKubernetesError(version(20), lacking);
  assert.match(error.message, /Kubernetes v1\.20\.0 is older than the minimum supported v1\.30/);
  assert.match(error.message, /Pod Security admission/);
  assert.match(error.message, /--allow-unsupported-kubernetes/);
});

Deno.test("--allow-unsupported-kubernetes is off by default and documented", () => {
  assert.equal(parseOperatorOptions([]).allowUnsupportedKubernetes, false);
  assert.equal(
    parseOperatorOptions(["--allow-unsupported-kubernetes"]).allowUnsupportedKubernetes,
    true,
  );
  assert.match(HELP, /--allow-unsupported-kubernetes\n\s+run on a Kubernetes older than 1\.30/);
});
