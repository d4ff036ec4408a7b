// The dev API server's label and field selectors, with apimachinery's semantics and messages.
import assert from "node:assert/strict";
import {
  type LabelRequirement,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from "../../../dev_apiserver/storage/selectors.ts";
import {
  labelValueErrors,
  qualifiedNameErrors,
} from "../../../dev_apiserver/storage/validation.ts";

Deno.test("parseLabelSelector reads every operator and sorts by key", () => {
  const cases: [string, LabelRequirement[]][] = [
    ["", []],
    ["  ", []],
    ["a", [{ key: "a", operator: "exists", values: [] }]],
    ["!a", [{ key: "a", operator: "!", values: [] }]],
    ["! a", [{ key: "a", operator: "!", values: [] }]],
    ["a=b", [{ key: "a", operator: "=", values: ["b"] }]],
    ["a==b", [{ key: "a", operator: "==", values: ["b"] }]],
    ["a!=b", [{ key: "a", operator: "!=", values: ["b"] }]],
    ["a=", [{ key: "a", operator: "=", values: [""] }]],
    ["a = b", [{ key: "a", operator: "=", values: ["b"] }]],
    ["a in (c,b,c)", [{ key: "a", operator: "in", values: ["b", "c"] }]],
    ["a notin (b)", [{ key: "a", operator: "notin", values: ["b"] }]],
    ["a in ()", [{ key: "a", operator: "in", values: [""] }]],
    ["a in (,b)", [{ key: "a", operator: "in", values: ["", "b"] }]],
    ["a in (b,)", [{ key: "a", operator: "in", values: ["", "b"] }]],
    ["x in (in, notin)", [{ key: "x", operator: "in", values: ["in", "notin"] }]],
    ["example.com/tier=web", [{ key: "example.com/tier", operator: "=", values: ["web"] }]],
    [
      "z=1,a,!m",
      [
        { key: "a", operator: "exists", values: [] },
        { key: "m", operator: "!", values: [] },
        { key: "z", operator: "=", values: ["1"] },
      ],
    ],
  ];
  for (const [text, requirements] of cases) {
    assert.deepEqual(parseLabelSelector(text), { requirements }, text);
  }
});

Deno.test("parseLabelSelector rejects bad input with kube's messages", () => {
  const nameRule =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end " +
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used " +
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  const valueRule =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or " +
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or " +
    "'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?" +
    "[A-Za-z0-9])?')";
  const cases: [string, string][] = [
    ["a=b c", "found 'c', expected: ',' or 'end of string'"],
    ["a,", "found '', expected: identifier after ','"],
    [",a", "found ',', expected: !, identifier, or 'end of string'"],
    ["a in b", "unable to parse requirement: found 'b' expected: '('"],
    ["a in (b", "unable to parse requirement: found '', expected: ',' or ')'"],
    ["a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"],
    ["a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ["a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ["a=(b)", "unable to parse requirement: found '(', expected: identifier"],
    ["!", "unable to parse requirement: found '', expected: identifier"],
    ["-a=b", `unable to parse requirement: <nil>: Invalid value: "-a": ${nameRule}`],
    [
      "/a",
      'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty',
    ],
    [`a=${"x".repeat(64)}`, `values[0][a]: Invalid value: "${"x".repeat(64)}"`],
    ["a=b_", `unable to parse requirement: values[0][a]: Invalid value: "b_": ${valueRule}`],
    ["a in (ok,-b,c-)", 'unable to parse requirement: [values[0][a]: Invalid value: "-b"'],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseLabelSelector(text),
      (error: unknown) => {
        assert.ok(error instanceof SelectorError, text);
        assert.ok(error.message.includes(message), `${text}: ${error.message}`);
        return true;
      },
    );
  }
  assert.throws(() => parseLabelSelector("a>1"), SelectorError);
});

Deno.test("label key and value validation words errors like apimachinery", () => {
  assert.deepEqual(qualifiedNameErrors("example.com/app"), []);
  assert.deepEqual(qualifiedNameErrors("a".repeat(63)), []);
  assert.deepEqual(qualifiedNameErrors("a".repeat(64)), [
    "name part must be no more than 63 characters",
  ]);
  assert.match(qualifiedNameErrors("Example.com/app")[0], /^prefix part a lowercase RFC 1123/);
  assert.match(qualifiedNameErrors("a/b/c")[0], /^a qualified name must consist/);
  assert.deepEqual(labelValueErrors(""), []);
  assert.deepEqual(labelValueErrors("My_value.1"), []);
  assert.equal(labelValueErrors("a".repeat(64))[0], "must be no more than 63 characters");
});

Deno.test("matchesLabels follows kube's semantics for missing keys", () => {
  const labels = { app: "web", tier: "", "example.com/team": "a" };
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ["", undefined, true],
    ["app", labels, true],
    ["app", undefined, false],
    ["!app", labels, false],
    ["!nope", labels, true],
    ["!nope", undefined, true],
    ["app=web", labels, true],
    ["app==web", labels, true],
    ["app=db", labels, false],
    ["app!=db", labels, true],
    ["app!=web", labels, false],
    ["nope!=x", labels, true],
    ["tier=", labels, true],
    ["nope=", labels, false],
    ["app in (db,web)", labels, true],
    ["app in (db)", labels, false],
    ["nope in (db)", labels, false],
    ["app notin (web)", labels, false],
    ["nope notin (web)", labels, true],
    ["app=web,example.com/team=a", labels, true],
    ["app=web,example.com/team=b", labels, false],
  ];
  for (const [text, set, expected] of cases) {
    assert.equal(matchesLabels(parseLabelSelector(text), set), expected, text);
  }
});

Deno.test("parseFieldSelector splits terms, operators and escapes like kube", () => {
  assert.deepEqual(parseFieldSelector(""), { requirements: [] });
  assert.deepEqual(parseFieldSelector("metadata.name=a,metadata.namespace!=b"), {
    requirements: [
      { field: "metadata.name", operator: "=", value: "a" },
      { field: "metadata.namespace", operator: "!=", value: "b" },
    ],
  });
  assert.deepEqual(parseFieldSelector("a==b"), {
    requirements: [{ field: "a", operator: "==", value: "b" }],
  });
  assert.deepEqual(parseFieldSelector(String.raw`a=x\,y\=z\\`), {
    requirements: [{ field: "a", operator: "=", value: "x,y=z\\" }],
  });
  assert.deepEqual(parseFieldSelector("a=,,b="), {
    requirements: [
      { field: "a", operator: "=", value: "" },
      { field: "b", operator: "=", value: "" },
    ],
  });
  const bad: [string, string][] = [
    ["a", "invalid selector: 'a'; can't understand 'a'"],
    ["a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"],
    ["a=b=c", "invalid field selector: unescaped character in value: 61"],
    [String.raw`a=b\x`, String.raw`invalid field selector: invalid escape sequence: \x`],
    ["a=b\\", "invalid field selector: invalid escape sequence: \\"],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseFieldSelector(text), new SelectorError(message), text);
  }
});

Deno.test("matchesFields treats a missing field as the empty string", () => {
  const fields = { "metadata.name": "a", "metadata.namespace": "ns" };
  const cases: [string, boolean][] = [
    ["metadata.name=a", true],
    ["metadata.name==a", true],
    ["metadata.name=b", false],
    ["metadata.name!=b", true],
    ["metadata.name=a,metadata.namespace=ns", true],
    ["metadata.name=a,metadata.namespace=other", false],
    ["spec.x=", true],
    ["spec.x!=", false],
  ];
  for (const [text, expected] of cases) {
    assert.equal(matchesFields(parseFieldSelector(text), fields), expected, text);
  }
});
