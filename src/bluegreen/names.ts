// Kubernetes' name rules (src/commands/validate.ts checks the command line with them before any request is made): names end up in URLs (a namespace of
// ".." would be resolved away as a dot segment) and in label selectors (an app "x,app!=y" would
// select other things). The rules and messages follow k8s.io/apimachinery (pkg/api/validate/content,
// pkg/util/validation and pkg/labels/selector.go); the messages leave out the regular expressions.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc')";
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";
const LABEL_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName' or 'my.name' or '123-abc')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue' or 'my_value' or '12345')";

// Go measures in bytes; so do we (any non-ASCII character fails the patterns anyway).
const bytes = (s: string) => Buffer.byteLength(s, "utf8");
const maxLen = (n: number) => `must be no more than ${n} bytes`;

/** Why `value` is not a DNS-1123 label (a namespace name), as IsDNS1123Label says it; [] when it is one. */
export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (bytes(value) > 63) errs.push(maxLen(63));
  if (!DNS1123_LABEL.test(value)) errs.push(DNS1123_SUBDOMAIN.test(value) ? "must not contain dots" : DNS1123_LABEL_MSG);
  return errs;
}

/** Why `value` is not a DNS-1123 subdomain, as IsDNS1123Subdomain says it; [] when it is one. */
export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (bytes(value) > 253) errs.push(maxLen(253));
  if (!DNS1123_SUBDOMAIN.test(value)) errs.push(DNS1123_SUBDOMAIN_MSG);
  return errs;
}

/** Why `value` is not a label key ([prefix/]name), as IsLabelKey says it; [] when it is one. */
export function labelKeyErrors(value: string): string[] {
  const parts = value.split("/");
  if (parts.length > 2) {
    return [`a valid label key ${LABEL_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  const errs: string[] = [];
  const [prefix, name] = parts.length === 2 ? [parts[0] ?? "", parts[1] ?? ""] : [undefined, value];
  if (prefix !== undefined) {
    if (prefix === "") errs.push("prefix part must be non-empty");
    else errs.push(...dns1123SubdomainErrors(prefix).map((e) => `prefix part ${e}`));
  }
  if (name === "") errs.push("name part must be non-empty");
  else if (bytes(name) > 63) errs.push(`name part ${maxLen(63)}`);
  if (!LABEL_NAME.test(name)) errs.push(`name part ${LABEL_NAME_MSG}`);
  return errs;
}

/** Why `value` is not a label value (the empty string is one), as IsValidLabelValue says it; [] when it is one. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (bytes(value) > 63) errs.push(maxLen(63));
  if (!LABEL_VALUE.test(value)) errs.push(LABEL_VALUE_MSG);
  return errs;
}

/** One requirement of a label selector. */
interface Requirement {
  key: string;
  operator: "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | ">" | "<";
  values: string[];
}

/** A label selector that Kubernetes would not parse; the message says where, as labels.Parse does. */
export class SelectorSyntaxError extends Error {}

type Token = { kind: "id" | "op" | "end"; text: string };
const SPECIAL = "=!(),<>";
const WHITESPACE = " \t\r\n";

// The lexer of labels.Parse: identifiers run up to a special symbol or whitespace; "!=" and "==" are
// the only two-character symbols. (Go's lexer also stops at a NUL byte; here it stays in the
// identifier, which then fails validation.)
function lex(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  // One character at i ("" past the end, which includes() finds in every string: guarded by i < s.length).
  const at = (k: number) => s.charAt(k);
  for (;;) {
    while (i < s.length && WHITESPACE.includes(at(i))) i++;
    if (i >= s.length) break;
    if (SPECIAL.includes(at(i))) {
      const two = s.slice(i, i + 2);
      const text = two === "!=" || two === "==" ? two : at(i);
      tokens.push({ kind: "op", text });
      i += text.length;
      continue;
    }
    let j = i;
    while (j < s.length && !SPECIAL.includes(at(j)) && !WHITESPACE.includes(at(j))) j++;
    tokens.push({ kind: "id", text: s.slice(i, j) });
    i = j;
  }
  tokens.push({ kind: "end", text: "" });
  return tokens;
}

/**
 * Parses a label selector in Kubernetes syntax (`a=b`, `a==b`, `a!=b`, `a in (b,c)`, `a notin (b)`,
 * `a`, `!a`, `a>1`, `a<1`, comma-separated), validating keys and values as the API server does.
 * Throws SelectorSyntaxError. The empty string parses to no requirements (it selects everything).
 */
export function parseSelector(selector: string): Requirement[] {
  const tokens = lex(selector);
  let pos = 0;
  // The token list always ends with "end", and nothing reads past it.
  const END: Token = { kind: "end", text: "" };
  const peek = () => tokens[pos] ?? END;
  const next = () => tokens[pos++] ?? END;
  // Outside the operator position, "in" and "notin" are plain identifiers.
  const isId = (t: Token) => t.kind === "id";
  const fail = (msg: string): never => {
    throw new SelectorSyntaxError(msg);
  };

  const key = (k: string) => {
    const errs = labelKeyErrors(k);
    if (errs.length) fail(`invalid label key "${k}": ${errs.join("; ")}`);
    return k;
  };
  const value = (k: string, v: string) => {
    const errs = labelValueErrors(v);
    if (errs.length) fail(`invalid label value "${v}" for key "${k}": ${errs.join("; ")}`);
    return v;
  };

  const valueList = (): string[] => {
    const open = next();
    if (!(open.kind === "op" && open.text === "(")) fail(`found '${open.text}' expected: '('`);
    const first = peek();
    if (first.kind === "op" && first.text === ")") {
      next();
      return [""];
    }
    if (!isId(first) && !(first.kind === "op" && first.text === ",")) fail(`found '${first.text}', expected: ',', ')' or identifier`);
    const vals = new Set<string>();
    for (;;) {
      const t = next();
      if (isId(t)) {
        vals.add(t.text);
        const after = peek();
        if (after.kind === "op" && after.text === ",") continue;
        if (after.kind === "op" && after.text === ")") break;
        fail(`found '${after.text}', expected: ',' or ')'`);
      } else if (t.kind === "op" && t.text === ",") {
        // "(,", ",," and ",)" stand for empty values, as in labels.Parse.
        if (vals.size === 0) vals.add("");
        const after = peek();
        if (after.kind === "op" && after.text === ")") {
          vals.add("");
          break;
        }
        if (after.kind === "op" && after.text === ",") vals.add("");
      } else {
        fail(`found '${t.text}', expected: ',', or identifier`);
      }
    }
    const close = next();
    if (!(close.kind === "op" && close.text === ")")) fail(`found '${close.text}', expected: ')'`);
    return [...vals];
  };

  const requirement = (): Requirement => {
    let t = next();
    let negated = false;
    if (t.kind === "op" && t.text === "!") {
      negated = true;
      t = next();
    }
    if (!isId(t)) fail(`found '${t.text}', expected: identifier`);
    const k = key(t.text);
    const ahead = peek();
    if (negated || ahead.kind === "end" || (ahead.kind === "op" && ahead.text === ",")) {
      return { key: k, operator: negated ? "!" : "exists", values: [] };
    }
    const op = next();
    if (op.kind === "id" && (op.text === "in" || op.text === "notin")) {
      return { key: k, operator: op.text, values: valueList().map((v) => value(k, v)) };
    }
    if (op.kind === "op" && ["=", "==", "!=", ">", "<"].includes(op.text)) {
      const v = peek();
      let val = "";
      if (!(v.kind === "end" || (v.kind === "op" && v.text === ","))) {
        next();
        if (!isId(v)) fail(`found '${v.text}', expected: identifier`);
        val = v.text;
      }
      if ((op.text === ">" || op.text === "<") && !/^[+-]?\d+$/.test(val)) {
        fail(`for 'gt', 'lt' operators, the value must be an integer, not "${val}"`);
      }
      return { key: k, operator: op.text as Requirement["operator"], values: [value(k, val)] };
    }
    return fail(`found '${op.text}', expected: in, notin, =, ==, !=, gt, lt`);
  };

  const out: Requirement[] = [];
  for (;;) {
    const t = peek();
    if (t.kind === "end") return out;
    if (!isId(t) && !(t.kind === "op" && t.text === "!")) fail(`found '${t.text}', expected: !, identifier, or 'end of string'`);
    out.push(requirement());
    const sep = next();
    if (sep.kind === "end") return out;
    if (!(sep.kind === "op" && sep.text === ",")) fail(`found '${sep.text}', expected: ',' or 'end of string'`);
    const after = peek();
    if (!isId(after) && !(after.kind === "op" && after.text === "!")) fail(`found '${after.text}', expected: identifier after ','`);
  }
}
