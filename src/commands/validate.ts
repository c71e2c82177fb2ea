// The checks of the command line, by Kubernetes' name rules (src/bluegreen/names.ts): names end up in URLs
// and label selectors, so they are checked before any request. Each throws a UsageError (exit 2).
import { dns1123LabelErrors, labelKeyErrors, labelValueErrors, parseSelector, SelectorSyntaxError } from "../bluegreen/names.js";
import { UsageError } from "../errors.js";

// APP and --to must not be empty (checked first), so the detail leaves the empty string out.
const nonEmptyValueErrors = (v: string) => labelValueErrors(v).map((e) => e.replace("must be an empty string or consist", "must consist"));

/** -n/--namespace: a DNS-1123 label. */
export function checkNamespace(ns: string): void {
  if (ns === "") throw new UsageError("-n/--namespace must not be empty.", "Leave the flag out to use the namespace of your kubeconfig context.");
  const errs = dns1123LabelErrors(ns);
  if (errs.length) {
    throw new UsageError(`invalid namespace "${ns}": ${errs.join("; ")}.`, "A namespace is a DNS-1123 label such as my-namespace; list them with kubectl get namespaces.");
  }
}

/** APP: a non-empty label value (it becomes `<app label>=APP` in a label selector). */
export function checkAppName(app: string): void {
  if (app === "") throw new UsageError("APP must not be empty.", "Name the app, or select it with -l SELECTOR.");
  const errs = nonEmptyValueErrors(app);
  if (errs.length) {
    throw new UsageError(
      `invalid app name "${app}": an app name is a label value: ${errs.join("; ")}.`,
      "Name the app by the value of its app label (such as myapp); select anything else with -l SELECTOR.",
    );
  }
}

/** --to: a non-empty label value (a slot value). */
export function checkSlotValue(flag: string, slot: string): void {
  if (slot === "") throw new UsageError(`--${flag} must not be empty.`, "Name a slot value such as v2 or green; kubectl bluegreen status APP lists them.");
  const errs = nonEmptyValueErrors(slot);
  if (errs.length) {
    throw new UsageError(
      `invalid slot value "${slot}" for --${flag}: ${errs.join("; ")}.`,
      "Name a slot value such as v2 or green; kubectl bluegreen status APP lists them.",
    );
  }
}

/** --app-label, --slot-label: a label key. */
export function checkLabelKey(flag: string, key: string): void {
  if (key === "") throw new UsageError(`--${flag} must not be empty.`, "Name a label key such as version or app.kubernetes.io/name, or leave the flag out.");
  const errs = labelKeyErrors(key);
  if (errs.length) {
    throw new UsageError(
      `invalid label key "${key}" for --${flag}: ${errs.join("; ")}.`,
      "A label key is a name such as version, optionally after a DNS subdomain and '/', as in app.kubernetes.io/name.",
    );
  }
}

/** -l/--selector: a non-empty label selector in Kubernetes syntax. */
export function checkSelector(selector: string): void {
  const hint = "Use Kubernetes label selector syntax, for example -l 'app=myapp,tier in (web,api),!canary'.";
  if (selector.trim() === "") throw new UsageError("-l/--selector must not be empty.", hint);
  try {
    parseSelector(selector);
  } catch (e) {
    if (!(e instanceof SelectorSyntaxError)) throw e;
    throw new UsageError(`invalid label selector "${selector}" for -l/--selector: ${e.message}.`, hint);
  }
}

/** A flag that names something (--context, --kubeconfig): present means not empty. */
export function checkNotEmpty(flag: string, value: string): void {
  if (value === "") throw new UsageError(`--${flag} must not be empty.`, `Leave --${flag} out to use the default.`);
}
