import { describe, expect, it } from "vitest";
import {
  checkAppName,
  checkLabelKey,
  checkNamespace,
  checkNotEmpty,
  checkSelector,
  checkSlotValue,
} from "../../src/commands/validate.js";
import { dns1123LabelErrors, dns1123SubdomainErrors, labelKeyErrors, labelValueErrors, parseSelector, SelectorSyntaxError } from "../../src/bluegreen/names.js";
import { UsageError } from "../../src/errors.js";

const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc')";

describe("DNS-1123 labels (namespaces)", () => {
  it("accepts labels", () => {
    for (const ns of ["default", "kube-system", "a", "0", "123-abc", "a".repeat(63)]) expect(dns1123LabelErrors(ns), ns).toEqual([]);
  });

  it("rejects dot segments, slashes, capitals and more, with apimachinery's words", () => {
    expect(dns1123LabelErrors("..")).toEqual([LABEL_MSG]);
    expect(dns1123LabelErrors(".")).toEqual([LABEL_MSG]);
    expect(dns1123LabelErrors("../kube-system")).toEqual([LABEL_MSG]);
    expect(dns1123LabelErrors("a.b")).toEqual(["must not contain dots"]);
    expect(dns1123LabelErrors("a".repeat(64))).toEqual(["must be no more than 63 bytes"]);
    for (const ns of ["", "Foo", "-a", "a-", "a_b", "a b", "a/b", "%2e%2e", "ä", "a\n"]) expect(dns1123LabelErrors(ns), ns).toEqual([LABEL_MSG]);
  });

  it("subdomains", () => {
    expect(dns1123SubdomainErrors("example.com")).toEqual([]);
    expect(dns1123SubdomainErrors("a..b")).toHaveLength(1);
    const long = Array.from({ length: 5 }, () => "a".repeat(60)).join(".");
    expect(dns1123SubdomainErrors(long)).toEqual(["must be no more than 253 bytes"]);
    expect(dns1123SubdomainErrors(long.slice(0, 253))).toEqual([]);
  });
});

describe("label keys and values", () => {
  it("accepts keys with and without a prefix", () => {
    for (const k of ["app", "version", "app.kubernetes.io/name", "example.com/My_Key.v2", "a", `${"a".repeat(253)}/b`.slice(-100)]) {
      expect(labelKeyErrors(k), k).toEqual([]);
    }
    expect(labelKeyErrors("x".repeat(63))).toEqual([]);
  });

  it("rejects bad keys part by part", () => {
    expect(labelKeyErrors("")).toEqual([
      "name part must be non-empty",
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName' or 'my.name' or '123-abc')",
    ]);
    expect(labelKeyErrors("/version")[0]).toBe("prefix part must be non-empty");
    expect(labelKeyErrors("Example.com/app")[0]).toMatch(/^prefix part a lowercase RFC 1123 subdomain must consist of/);
    expect(labelKeyErrors("example.com/")[0]).toBe("name part must be non-empty");
    expect(labelKeyErrors("a/b/c")[0]).toMatch(/^a valid label key must consist of .* with an optional DNS subdomain prefix and '\/'/);
    expect(labelKeyErrors("x".repeat(64))[0]).toBe("name part must be no more than 63 bytes");
    for (const k of ["version=v2", "app name", "-app", "app-", "app,x", "app!", "ä"]) expect(labelKeyErrors(k).length, k).toBeGreaterThan(0);
  });

  it("values: up to 63 alphanumerics, '-', '_', '.', alphanumeric at both ends; empty is a value", () => {
    for (const v of ["", "v1", "MyValue", "my_value", "12345", "a..b", "a-b_c.d", "x".repeat(63)]) expect(labelValueErrors(v), v).toEqual([]);
    expect(labelValueErrors("x".repeat(64))).toEqual(["must be no more than 63 bytes"]);
    for (const v of ["x,app!=y", "my app", "-myapp", "myapp-", ".", "..", "a/b", "a=b", "(a)", "a\u001b", "ä"]) {
      expect(labelValueErrors(v), v).toEqual([
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue' or 'my_value' or '12345')",
      ]);
    }
  });
});

describe("label selectors", () => {
  it("parses every operator of Kubernetes' syntax", () => {
    expect(parseSelector("app=myapp, tier == web,track!=canary ,x in (a, b),y notin (c),z,!w,n>1,m<10")).toEqual([
      { key: "app", operator: "=", values: ["myapp"] },
      { key: "tier", operator: "==", values: ["web"] },
      { key: "track", operator: "!=", values: ["canary"] },
      { key: "x", operator: "in", values: ["a", "b"] },
      { key: "y", operator: "notin", values: ["c"] },
      { key: "z", operator: "exists", values: [] },
      { key: "w", operator: "!", values: [] },
      { key: "n", operator: ">", values: ["1"] },
      { key: "m", operator: "<", values: ["10"] },
    ]);
    expect(parseSelector("app.kubernetes.io/name=shop")).toEqual([{ key: "app.kubernetes.io/name", operator: "=", values: ["shop"] }]);
    // As in labels.Parse: "in" and "notin" are values where a value is expected, and empty values exist.
    expect(parseSelector("in in (in,notin)")).toEqual([{ key: "in", operator: "in", values: ["in", "notin"] }]);
    expect(parseSelector("a=,b in (),c in (x,,y)")).toEqual([
      { key: "a", operator: "=", values: [""] },
      { key: "b", operator: "in", values: [""] },
      { key: "c", operator: "in", values: ["x", "", "y"] },
    ]);
    expect(parseSelector("")).toEqual([]);
  });

  it("rejects garbage with labels.Parse's reasons", () => {
    const cases: [string, string][] = [
      ["app=myapp,,version=v1", "found ',', expected: identifier after ','"],
      ["app=myapp,", "found '', expected: identifier after ','"],
      [",app", "found ',', expected: !, identifier, or 'end of string'"],
      ["app in (myapp", "found '', expected: ',' or ')'"],
      ["app in myapp", "found 'myapp' expected: '('"],
      ["app notin (a b)", "found 'b', expected: ',' or ')'"],
      ["=myapp", "found '=', expected: !, identifier, or 'end of string'"],
      ["app=my app", "found 'app', expected: ',' or 'end of string'"],
      ["app=a=b", "found '=', expected: ',' or 'end of string'"],
      ["!app=x", "found '=', expected: ',' or 'end of string'"],
      ["!", "found '', expected: identifier"],
      ["app myapp", "found 'myapp', expected: in, notin, =, ==, !=, gt, lt"],
      ["app=(x)", "found '(', expected: identifier"],
      ["a>b", `for 'gt', 'lt' operators, the value must be an integer, not "b"`],
      ["a<", `for 'gt', 'lt' operators, the value must be an integer, not ""`],
    ];
    for (const [sel, why] of cases) expect(() => parseSelector(sel), sel).toThrow(new SelectorSyntaxError(why));
    expect(() => parseSelector("a/b/c=d")).toThrow(/^invalid label key "a\/b\/c": a valid label key/);
    expect(() => parseSelector("Bad.Prefix/x")).toThrow(/^invalid label key "Bad.Prefix\/x": prefix part/);
    expect(() => parseSelector("app=-x")).toThrow(/^invalid label value "-x" for key "app": a valid label must be/);
    expect(() => parseSelector(`app in (ok,${"x".repeat(64)})`)).toThrow(/for key "app": must be no more than 63 bytes/);
    expect(() => parseSelector("app=my\u0000app")).toThrow(SelectorSyntaxError);
    expect(() => parseSelector("app=myapp\u001b[31m")).toThrow(SelectorSyntaxError);
  });
});

describe("command-line checks", () => {
  const usage = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      const u = e as UsageError;
      expect(u.exitCode).toBe(2);
      expect(u.message).toMatch(/^[^\n]+\.$/);
      expect(u.hint).toMatch(/^[^\n]+\.$/);
      return u;
    }
    throw new Error("no UsageError");
  };

  it("namespace", () => {
    expect(() => checkNamespace("blue-green")).not.toThrow();
    expect(usage(() => checkNamespace("..")).message).toBe(`invalid namespace "..": ${LABEL_MSG}.`);
    expect(usage(() => checkNamespace("a.b")).message).toBe('invalid namespace "a.b": must not contain dots.');
    expect(usage(() => checkNamespace("")).message).toBe("-n/--namespace must not be empty.");
  });

  it("app, --to, label keys, selector, names", () => {
    expect(() => checkAppName("myapp")).not.toThrow();
    expect(usage(() => checkAppName("x,app!=y")).message).toMatch(/^invalid app name "x,app!=y": an app name is a label value: a valid label must consist of /);
    expect(usage(() => checkAppName("")).message).toBe("APP must not be empty.");
    expect(usage(() => checkAppName("a".repeat(70))).message).toBe(`invalid app name "${"a".repeat(70)}": an app name is a label value: must be no more than 63 bytes.`);
    expect(usage(() => checkAppName(`-${"a".repeat(70)}`)).message).toMatch(/: must be no more than 63 bytes; a valid label must consist of /);
    expect(() => checkSlotValue("to", "green")).not.toThrow();
    expect(usage(() => checkSlotValue("to", "v2,x")).message).toMatch(/^invalid slot value "v2,x" for --to: /);
    expect(usage(() => checkSlotValue("to", "")).message).toBe("--to must not be empty.");
    expect(() => checkLabelKey("app-label", "app.kubernetes.io/name")).not.toThrow();
    expect(usage(() => checkLabelKey("slot-label", "version=v2")).message).toMatch(/^invalid label key "version=v2" for --slot-label: name part must consist/);
    expect(usage(() => checkLabelKey("app-label", "")).message).toBe("--app-label must not be empty.");
    expect(() => checkSelector("app=myapp,tier in (web)")).not.toThrow();
    expect(usage(() => checkSelector("app=myapp,,x")).message).toBe(
      `invalid label selector "app=myapp,,x" for -l/--selector: found ',', expected: identifier after ','.`,
    );
    expect(usage(() => checkSelector(" ")).message).toBe("-l/--selector must not be empty.");
    expect(() => checkNotEmpty("context", "prod")).not.toThrow();
    expect(usage(() => checkNotEmpty("context", "")).message).toBe("--context must not be empty.");
  });
});
