// The plan catalogue: built-in defaults, validation messages naming plan and field, quantities,
// CIDRs, host templates, loading from a file.
import assert from "node:assert/strict";
import {
  builtinCatalogue,
  CatalogueError,
  changedPlans,
  compareQuantities,
  constraintKinds,
  egressHostProblem,
  hostTemplateProblem,
  parseCatalogue,
  parseCidr,
  parseQuantity,
  quantityKey,
  renderHost,
} from "../../../lib/plans/mod.ts";
import { loadPlans } from "../../../lib/operator/plan_source.ts";

Deno.test("the built-in catalogue has free, basic and pro, stricter to looser", () => {
  const catalogue = builtinCatalogue();
  assert.deepEqual([...catalogue.plans.keys()], ["free", "basic", "pro"]);
  const free = catalogue.plans.get("free")!;
  assert.equal(free.podSecurity, "restricted");
  assert.equal(free.network.https, false);
  assert.equal(free.constraints[0].kind, "K8sAllowedRepos");
  assert.deepEqual(free.constraints[0].parameters, { repos: free.allowedRegistries });
  assert.equal(catalogue.plans.get("pro")!.constraints.length, 0, "pro: any registry");
  assert.deepEqual(constraintKinds(catalogue), ["K8sAllowedRepos"]);
  for (const plan of catalogue.plans.values()) {
    assert.deepEqual(plan.mesh, { mtls: "STRICT", egressHosts: [] }, plan.name);
  }
  const pods = (plan: string) => Number(catalogue.plans.get(plan)!.resourceQuota!.pods);
  assert.ok(pods("free") < pods("basic") && pods("basic") < pods("pro"));
});

Deno.test("invalid catalogues are refused with every problem naming plan and field", () => {
  const yaml = `
plans:
  free:
    podSecurity: strict
    resourceQuota: { pods: lots, requests.cpu: "-1", "bad name!": "1" }
    limitRange:
      container: { defaultRequest: { cpu: "2" }, max: { cpu: "1" }, defualt: {} }
    network: { isolation: "yes", clusterCIDRs: [10.0.0.1/8, nonsense] }
    constraints: [{ kind: lowercase }, { kind: K8sAllowedRepos }]
    allowedRegistries: [ghcr.io/]
    resourceQuotas: {}
  "bad plan!": {}
extra: 1
`;
  assert.throws(() => parseCatalogue(yaml, "file plans.yaml"), (error: unknown) => {
    assert.ok(error instanceof CatalogueError);
    assert.match(error.message, /^invalid plan catalogue from file plans\.yaml/);
    const expected = [
      /^extra: unknown top-level field/,
      /^plan "free": podSecurity: must be one of privileged, baseline, restricted, got "strict"/,
      /^plan "free": resourceQuota\.pods: must be a quantity/,
      /^plan "free": resourceQuota\.requests\.cpu: must not be negative/,
      /^plan "free": resourceQuota\.bad name!: not a valid resource name/,
      /^plan "free": limitRange\.container\.defualt: unknown field/,
      /^plan "free": limitRange\.container\.defaultRequest\.cpu: 2 is above/,
      /^plan "free": network\.isolation: must be true or false/,
      /^plan "free": network\.clusterCIDRs\[0\]: "10\.0\.0\.1\/8" has host bits set/,
      /^plan "free": network\.clusterCIDRs\[1\]: "nonsense" is not a CIDR block/,
      /^plan "free": constraints\[0\]\.kind: must be a constraint kind/,
      /^plan "free": constraints: K8sAllowedRepos is made from allowedRegistries/,
      /^plan "free": resourceQuotas: unknown field/,
      /^plan "bad plan!": name: must be a valid label value/,
    ];
    for (const pattern of expected) {
      assert.ok(
        error.problems.some((problem) => pattern.test(problem)),
        `${pattern}\n${error.message}`,
      );
    }
    return true;
  });
  assert.throws(() => parseCatalogue("plans: [", "x"), /not valid YAML/);
  assert.throws(() => parseCatalogue("plans: {}", "x"), /must map at least one plan/);
});

Deno.test("quantities compare exactly however they are written", () => {
  assert.equal(quantityKey("1"), quantityKey("1000m"));
  assert.equal(quantityKey("1Gi"), quantityKey("1024Mi"));
  assert.equal(quantityKey("0.5"), quantityKey("500m"));
  assert.equal(quantityKey("2e3"), quantityKey("2k"));
  assert.notEqual(quantityKey("1G"), quantityKey("1Gi"));
  assert.equal(compareQuantities(parseQuantity("100m")!, parseQuantity("0.1")!), 0);
  assert.ok(compareQuantities(parseQuantity("999Mi")!, parseQuantity("1Gi")!) < 0);
  for (const bad of ["", "1.2.3", "1 Gi", "Gi", "1gi", "1e"]) {
    assert.equal(parseQuantity(bad), undefined, bad);
  }
});

Deno.test("CIDRs must be canonical; host templates render DNS names", () => {
  assert.deepEqual(parseCidr("fc00::/7"), { family: 6, text: "fc00::/7" });
  assert.deepEqual(parseCidr("10.0.0.0/8"), { family: 4, text: "10.0.0.0/8" });
  assert.match(parseCidr("10.0.0.0/33") as string, /prefix must be 0 to 32/);
  const values = { username: "Alice_B", userId: "user-1", tenant: "t" };
  assert.equal(renderHost("*.{username}.apps.example.com", values), "*.alice-b.apps.example.com");
  assert.equal(renderHost("{userId}.example.com", values), "user-1.example.com");
  assert.equal(renderHost("*.{username}.x", { ...values, username: "a..b" }), undefined);
  assert.match(hostTemplateProblem("*.{user}.example.com")!, /unknown placeholder \{user\}/);
  assert.match(hostTemplateProblem("bad host!")!, /does not give a valid host/);
  assert.equal(hostTemplateProblem("*.{username}.apps.example.com"), undefined);
});

Deno.test("changed plans and loading from a file", async () => {
  const before = parseCatalogue("plans: { a: {}, b: {podSecurity: baseline} }", "x");
  const after = parseCatalogue("plans: { a: {}, b: {podSecurity: restricted}, c: {} }", "x");
  assert.deepEqual(changedPlans(before, after), ["b", "c"]);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/plans.yaml`, "plans: { only: {} }");
    const loaded = await loadPlans({ kind: "file", path: `${dir}/plans.yaml` });
    assert.deepEqual([...loaded.catalogue.plans.keys()], ["only"]);
    await assert.rejects(
      loadPlans({ kind: "file", path: `${dir}/missing.yaml` }),
      /cannot read it/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mesh: STRICT by default, PERMISSIVE on request, egress hosts in Istio's format", () => {
  const catalogue = parseCatalogue(
    `
plans:
  plain: {}
  open:
    mesh:
      mtls: PERMISSIVE
      egressHosts: [shared/*, ./api.example.com, "*/*.svc.example.com", shared/*]
`,
    "test",
  );
  assert.deepEqual(catalogue.plans.get("plain")!.mesh, { mtls: "STRICT", egressHosts: [] });
  assert.deepEqual(catalogue.plans.get("open")!.mesh, {
    mtls: "PERMISSIVE",
    egressHosts: ["shared/*", "./api.example.com", "*/*.svc.example.com"],
  });
  const yaml = `
plans:
  a: { mesh: { mtls: DISABLE, egress: [] } }
  b: { mesh: { mtls: strict, egressHosts: [shared] } }
  c: { mesh: [STRICT] }
  d: { mesh: { egressHosts: "shared/*" } }
  e: { mesh: { egressHosts: ["~/*", "~other/*", "Shared/*", "shared/Api.example.com", "shared/a.*"] } }
`;
  assert.throws(() => parseCatalogue(yaml, "test"), (error: unknown) => {
    assert.ok(error instanceof CatalogueError);
    const expected = [
      /^plan "a": mesh\.egress: unknown field \(known: mtls, egressHosts\)/,
      /^plan "a": mesh\.mtls: must be one of STRICT, PERMISSIVE, got "DISABLE"/,
      /^plan "b": mesh\.mtls: must be one of STRICT, PERMISSIVE, got "strict"/,
      /^plan "b": mesh\.egressHosts\[0\]: "shared" is not namespace\/dnsName/,
      /^plan "c": mesh: must be a mapping of mtls, egressHosts/,
      /^plan "d": mesh\.egressHosts: must be a list of non-empty strings/,
      /^plan "e": mesh\.egressHosts\[0\]: "~\/\*": Istio's ~ forms/,
      /^plan "e": mesh\.egressHosts\[1\]: "~other\/\*": Istio's ~ forms/,
      /^plan "e": mesh\.egressHosts\[2\]: "Shared\/\*": "Shared" is neither a namespace name/,
      /^plan "e": mesh\.egressHosts\[3\]: "shared\/Api\.example\.com": "Api\.example\.com" is neither/,
      /^plan "e": mesh\.egressHosts\[4\]: "shared\/a\.\*": "a\.\*" is neither/,
    ];
    assert.equal(error.problems.length, expected.length, error.problems.join("\n"));
    expected.forEach((pattern, index) => assert.match(error.problems[index], pattern));
    return true;
  });
  for (const host of ["./*", "*/*", "istio-system/*", "shared/*.example.com", "x/a.b.c"]) {
    assert.equal(egressHostProblem(host), undefined, host);
  }
  for (const host of ["", "/", "shared/", "/api.example.com", `shared/${"a".repeat(64)}.com`]) {
    assert.notEqual(egressHostProblem(host), undefined, host);
  }
});
