// The operator's flags: parsing, defaults, validation messages and --help.
import assert from "node:assert/strict";
import { HELP, OptionsError, parseOperatorOptions } from "../../../lib/operator/options.ts";
import { formatDuration, parseDuration } from "../../../lib/operator/duration.ts";

Deno.test("durations parse like Go's and format back", () => {
  assert.equal(parseDuration("10m", "--x"), 600_000);
  assert.equal(parseDuration("1h30m", "--x"), 5_400_000);
  assert.equal(parseDuration("250ms", "--x"), 250);
  assert.equal(parseDuration("1.5s", "--x"), 1500);
  assert.equal(parseDuration("0", "--x"), 0);
  for (const bad of ["", "10", "m", "10x", "-1s", "1m junk"]) {
    assert.throws(() => parseDuration(bad, "--resync-period"), /--resync-period: invalid duration/);
  }
  assert.equal(formatDuration(600_000), "10m");
  assert.equal(formatDuration(15_000), "15s");
  assert.equal(formatDuration(2_500), "2500ms");
});

Deno.test("operator flags have sane defaults", () => {
  const options = parseOperatorOptions([]);
  assert.equal(options.concurrency, 4);
  assert.equal(options.resyncPeriodMs, 600_000);
  assert.equal(options.logLevel, "info");
  assert.equal(options.logFormat, undefined);
  assert.equal(options.help, false);
});

Deno.test("operator flags are parsed and validated with messages naming the flag", () => {
  const options = parseOperatorOptions([
    "--kubeconfig",
    "/tmp/k",
    "--context=prod",
    "--concurrency",
    "8",
    "--resync-period",
    "5m",
    "--log-level",
    "debug",
    "--log-format",
    "json",
  ]);
  assert.equal(options.kubeconfig, "/tmp/k");
  assert.equal(options.context, "prod");
  assert.equal(options.concurrency, 8);
  assert.equal(options.resyncPeriodMs, 300_000);
  assert.equal(options.logLevel, "debug");
  assert.equal(options.logFormat, "json");
  assert.equal(parseOperatorOptions(["-h"]).help, true);
  const cases: [string[], RegExp][] = [
    [["--concurrency", "0"], /--concurrency: must be a whole number/],
    [["--concurrency", "two"], /--concurrency/],
    [["--resync-period", "soon"], /--resync-period: invalid duration "soon"/],
    [["--resync-period", "10ms"], /--resync-period: must be at least 1s/],
    [["--log-level", "loud"], /--log-level: unknown value "loud"/],
    [["--log-format", "xml"], /--log-format: unknown value "xml"/],
    [["--no-such-flag"], /no-such-flag/],
    [["positional"], /positional/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseOperatorOptions(args), (error: unknown) => {
      assert.ok(error instanceof OptionsError, `${args}: ${error}`);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("help names every flag", () => {
  for (
    const flag of [
      "--kubeconfig",
      "--context",
      "--concurrency",
      "--resync-period",
      "--log-level",
      "--log-format",
      "--plans",
      "--plans-configmap",
      "--ingress-namespace",
      "--gateway-hosts",
      "--mesh-egress-namespaces",
      "--discovery-interval",
      "--leader-elect",
      "--leader-elect-lease-duration",
      "--leader-elect-renew-deadline",
      "--leader-elect-retry-period",
      "--leader-elect-resource-namespace",
      "--leader-elect-resource-name",
      "--health-probe-bind-address",
      "--metrics-bind-address",
      "--help",
    ]
  ) {
    assert.match(HELP, new RegExp(`(?<![\\w-])${flag}(?![\\w-])`), flag);
  }
});

Deno.test("plan, ingress, gateway host and discovery flags", () => {
  const defaults = parseOperatorOptions([]);
  assert.deepEqual(defaults.plans, { kind: "builtin" });
  assert.equal(defaults.ingressNamespace, "istio-system");
  assert.deepEqual(defaults.gatewayHosts, ["*.{username}.apps.example.com"]);
  assert.equal(defaults.discoveryIntervalMs, 60_000);
  const options = parseOperatorOptions([
    "--plans-configmap=kleff-system/plans",
    "--ingress-namespace=gateways",
    "--gateway-hosts",
    "*.{username}.example.com, {userId}.example.org",
    "--discovery-interval=30s",
  ]);
  assert.deepEqual(options.plans, { kind: "configMap", namespace: "kleff-system", name: "plans" });
  assert.equal(options.ingressNamespace, "gateways");
  assert.deepEqual(options.gatewayHosts, ["*.{username}.example.com", "{userId}.example.org"]);
  assert.equal(options.discoveryIntervalMs, 30_000);
  assert.deepEqual(parseOperatorOptions(["--plans", "p.yaml"]).plans, {
    kind: "file",
    path: "p.yaml",
  });
  const cases: [string[], RegExp][] = [
    [["--plans", "a", "--plans-configmap", "b/c"], /one or the other/],
    [["--plans-configmap", "no-slash"], /NAMESPACE\/NAME/],
    [["--ingress-namespace", "Bad_NS"], /--ingress-namespace/],
    [["--ingress-namespace", "n".repeat(64)], /--ingress-namespace/],
    [["--plans-configmap", `${"n".repeat(64)}/plans`], /NAMESPACE\/NAME/],
    [
      ["--leader-elect", "--leader-elect-resource-namespace", "n".repeat(64)],
      /--leader-elect-resource-namespace/,
    ],
    [["--leader-elect", "--leader-elect-resource-name", "n".repeat(254)], /resource-name/],
    [["--gateway-hosts", "*.{user}.x.com"], /unknown placeholder \{user\}/],
    [["--discovery-interval", "10ms"], /at least 1s/],
  ];
  for (const [args, message] of cases) assert.throws(() => parseOperatorOptions(args), message);
  assert.equal(
    parseOperatorOptions(["--leader-elect", "--leader-elect-resource-namespace", "n".repeat(63)])
      .leaderElection
      ?.namespace,
    "n".repeat(63),
    "63 characters is the longest namespace name",
  );
  for (
    const flag of [
      "--plans",
      "--plans-configmap",
      "--ingress-namespace",
      "--gateway-hosts",
      "--mesh-egress-namespaces",
      "--discovery-interval",
    ]
  ) {
    assert.ok(HELP.includes(flag), flag);
  }
});

Deno.test("metrics flags: secure by default, Go-style booleans, certificate files", () => {
  const defaults = parseOperatorOptions([]);
  assert.deepEqual(defaults.metricsAddress, { hostname: "0.0.0.0", port: 8443 });
  assert.equal(defaults.metricsSecure, true);
  assert.equal(defaults.metricsCertificate, undefined);
  for (
    const [args, secure] of [
      [["--metrics-secure"], true],
      [["--metrics-secure=true"], true],
      [["--metrics-secure=false"], false],
      [["--metrics-secure=0"], false],
      [["--metrics-secure=F"], false],
    ] as const
  ) {
    assert.equal(parseOperatorOptions([...args]).metricsSecure, secure, args.join(" "));
  }
  assert.deepEqual(parseOperatorOptions(["--metrics-cert-path", "/certs"]).metricsCertificate, {
    dir: "/certs",
    certName: "tls.crt",
    keyName: "tls.key",
  });
  assert.deepEqual(
    parseOperatorOptions([
      "--metrics-cert-path=/certs",
      "--metrics-cert-name=serving.pem",
      "--metrics-cert-key=serving-key.pem",
    ]).metricsCertificate,
    { dir: "/certs", certName: "serving.pem", keyName: "serving-key.pem" },
  );
  const cases: [string[], RegExp][] = [
    [["--metrics-secure=maybe"], /--metrics-secure: must be true or false, got "maybe"/],
    [["--metrics-secure", "false"], /false/],
    [["--metrics-cert-name", "x.pem"], /--metrics-cert-name: needs --metrics-cert-path/],
    [["--metrics-cert-key", "x.pem"], /--metrics-cert-key: needs --metrics-cert-path/],
    [
      ["--metrics-secure=false", "--metrics-cert-path", "/certs"],
      /--metrics-cert-path: plain HTTP \(--metrics-secure=false\) uses no certificate/,
    ],
    [["--metrics-cert-path", "/c", "--metrics-cert-name", "a/b"], /must be a file name/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseOperatorOptions(args), (error: unknown) => {
      assert.ok(error instanceof OptionsError, args.join(" "));
      assert.match(error.message, message);
      return true;
    });
  }
  assert.match(HELP, /--metrics-secure\[=false\]/);
  assert.match(HELP, /--metrics-cert-path DIR/);
});

Deno.test("--reserved-namespaces replaces the default list; entries are names or prefixes", () => {
  assert.deepEqual(parseOperatorOptions([]).reservedNamespaces, [
    "kleff-system",
    "istio-system",
    "istio-ingress",
    "gatekeeper-system",
    "cert-manager",
  ]);
  assert.deepEqual(
    parseOperatorOptions(["--reserved-namespaces", "monitoring, istio-*,,linkerd"])
      .reservedNamespaces,
    ["monitoring", "istio-*", "linkerd"],
  );
  assert.deepEqual(parseOperatorOptions(["--reserved-namespaces", ""]).reservedNamespaces, []);
  for (const bad of ["*", "Bad_Name", "a*b", "-x*"]) {
    assert.throws(
      () => parseOperatorOptions([`--reserved-namespaces=${bad}`]),
      (error: Error) =>
        error instanceof OptionsError && error.message.includes("--reserved-namespaces") &&
        error.message.includes(`"${bad}"`),
      bad,
    );
  }
  assert.match(HELP, /--reserved-namespaces LIST/);
});

Deno.test("--mesh-egress-namespaces: namespace names, none by default", () => {
  assert.deepEqual(parseOperatorOptions([]).meshEgressNamespaces, []);
  assert.deepEqual(
    parseOperatorOptions(["--mesh-egress-namespaces", "monitoring, logging,,monitoring"])
      .meshEgressNamespaces,
    ["monitoring", "logging"],
  );
  for (const bad of ["*", "Bad_Name", "team-*", "a/b"]) {
    assert.throws(
      () => parseOperatorOptions([`--mesh-egress-namespaces=${bad}`]),
      (error: Error) =>
        error instanceof OptionsError && error.message.includes("--mesh-egress-namespaces") &&
        error.message.includes(`"${bad}"`),
      bad,
    );
  }
});
