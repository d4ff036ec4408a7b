// The dev API server's CEL subset for x-kubernetes-validations rules.
import assert from "node:assert/strict";
import { CelEvalError, CelUnsupportedError, compileCel } from "../../../dev_apiserver/crd/cel.ts";

Deno.test("compileCel evaluates the supported subset", () => {
  const self = {
    name: "web",
    replicas: 3,
    tags: ["a", "b"],
    labels: { tier: "front" },
    nested: { on: true },
  };
  const cases: [string, unknown][] = [
    ["self.replicas > 2 && self.replicas <= 3", true],
    ["self.replicas + 1 == 4", true],
    ["self.replicas * 2 - 1", 5],
    ["7 / 2", 3],
    ["7 % 4", 3],
    ["-self.replicas", -3],
    ["self.name == 'web' ? 'yes' : 'no'", "yes"],
    ['self.name + "-x"', "web-x"],
    ["self.tags + ['c']", ["a", "b", "c"]],
    ["'a' in self.tags", true],
    ["'tier' in self.labels", true],
    ["has(self.nested) && !has(self.missing)", true],
    ["size(self.tags) == 2 && self.name.size() == 3", true],
    ["self.name.startsWith('we') && self.name.endsWith('eb') && self.name.contains('e')", true],
    ["self.name.matches('^[a-z]+$')", true],
    ["self.tags.all(t, t.size() == 1)", true],
    ["self.tags.exists(t, t == 'b')", true],
    ["self.tags.exists_one(t, t == 'z')", false],
    ["self.tags.map(t, t + t)", ["aa", "bb"]],
    ["self.tags.filter(t, t != 'a')", ["b"]],
    ["self.labels.all(k, k == 'tier')", true],
    ["self.labels['tier']", "front"],
    ["self.tags[1]", "b"],
    ["self.nested.on || self.missing", true],
    ["self.missing && false", false],
    ["{'a': 1}.a == 1", true],
    ["r'\\d' == '\\\\d'", true],
    ["'A-b'.lowerAscii()", "a-b"],
    ["int('42') + 1", 43],
    ["string(5)", "5"],
    ["null == null", true],
  ];
  for (const [expression, expected] of cases) {
    assert.deepEqual(compileCel(expression).evaluate({ self }), expected, expression);
  }
});

Deno.test("compileCel tracks oldSelf and reports runtime errors like cel-go", () => {
  const rule = compileCel("self == oldSelf");
  assert.equal(rule.usesOldSelf, true);
  assert.equal(compileCel("self.x == 1").usesOldSelf, false);
  assert.equal(rule.evaluate({ self: { a: [1] }, oldSelf: { a: [1] } }), true);
  assert.equal(rule.evaluate({ self: "a", oldSelf: "b" }), false);
  const failures: [string, string][] = [
    ["self.missing == 1", "no such key: missing"],
    ["self.a + 'x'", "no such overload: _+_(int, string)"],
    ["1 / 0", "division by zero"],
    ["self.list[3]", "index out of bounds: 3"],
    ["other", "undeclared reference to 'other'"],
    ["self.a && true", "no such overload: _&&_(int)"],
  ];
  for (const [expression, message] of failures) {
    assert.throws(
      () => compileCel(expression).evaluate({ self: { a: 1, list: [] } }),
      new CelEvalError(message),
      expression,
    );
  }
});

Deno.test("compileCel rejects what it cannot evaluate", () => {
  for (
    const expression of [
      "self.x.quantity()",
      "duration('1s') > duration('0s')",
      "self.x ==",
      "self.x === 1",
      "has(self)",
      "self.all(1, true)",
      "'unterminated",
    ]
  ) {
    assert.throws(() => compileCel(expression), CelUnsupportedError, expression);
  }
});

Deno.test("join (cel-go's strings extension) concatenates a list of strings", () => {
  const self = { tags: ["a", "b", "c"], mixed: ["a", 1], labels: { x: "1", y: "2" } };
  assert.equal(compileCel("self.tags.join()").evaluate({ self }), "abc");
  assert.equal(compileCel("self.tags.join(', ')").evaluate({ self }), "a, b, c");
  assert.equal(compileCel("[].join('-')").evaluate({ self }), "");
  assert.equal(
    compileCel("self.labels.map(k, k + '=' + self.labels[k]).join(',')").evaluate({ self }),
    "x=1,y=2",
  );
  for (
    const [expression, message] of [
      ["self.mixed.join()", "no such overload: join(list)"],
      ["'abc'.join()", "no such overload: join(string)"],
      ["self.tags.join(1)", "no such overload: join(list, int)"],
      ["self.tags.join(',', ',')", "no such overload: join(list, string, string)"],
    ]
  ) {
    assert.throws(() => compileCel(expression).evaluate({ self }), new CelEvalError(message));
  }
});
