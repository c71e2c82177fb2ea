// Metric analysis: the placeholders a query may use, and how Prometheus' answer to an instant query is judged.
import { describe, expect, it } from "vitest";
import { expandQuery, judge, parsePrometheusService, unknownPlaceholders } from "../../src/bluegreen/analysis.js";

const vector = (...values: [Record<string, string>, string][]) => ({ status: "success", data: { resultType: "vector", result: values.map(([metric, v]) => ({ metric, value: [1700000000, v] })) } });

describe("analysis queries", () => {
  it("fills in {{new}}, {{old}}, {{app}} and {{namespace}}, and names any other placeholder", () => {
    const q = 'sum(rate(traefik_service_requests_total{service=~"{{namespace}}-{{ new }}-.*",code=~"5.."}[30s])) / sum(rate(traefik_service_requests_total{service=~"{{namespace}}-{{new}}-.*"}[30s])) < 0.01';
    expect(expandQuery(q, { new: "web-green", old: "web-blue", app: "web", namespace: "shop" })).toBe(
      'sum(rate(traefik_service_requests_total{service=~"shop-web-green-.*",code=~"5.."}[30s])) / sum(rate(traefik_service_requests_total{service=~"shop-web-green-.*"}[30s])) < 0.01',
    );
    expect(unknownPlaceholders(q)).toEqual([]);
    expect(unknownPlaceholders("up{job='{{job}}'} and {{old}}")).toEqual(["job"]);
  });

  it("holds only for a non-empty vector with every value non-zero, or a non-zero scalar", () => {
    expect(judge(vector([{ service: "a" }, "1"], [{ service: "b" }, "0.5"]))).toEqual({ kind: "pass", value: '1 for {service="a"}; 0.5 for {service="b"}' });
    expect(judge(vector())).toEqual({ kind: "fail", why: "it returned no series" });
    expect(judge(vector([{ service: "a" }, "1"], [{}, "0"]))).toEqual({ kind: "fail", why: "it returned 0" });
    expect(judge(vector([{ code: "503" }, "NaN"]))).toEqual({ kind: "fail", why: 'it returned NaN for {code="503"}' });
    expect(judge({ status: "success", data: { resultType: "scalar", result: [1, "2"] } })).toEqual({ kind: "pass", value: "2" });
    expect(judge({ status: "success", data: { resultType: "scalar", result: [1, "0"] } })).toMatchObject({ kind: "fail" });
    expect(judge({ status: "success", data: { resultType: "matrix", result: [] } })).toEqual({ kind: "error", why: "it returned a matrix, not an instant vector or a scalar" });
    expect(judge({ status: "error", errorType: "bad_data", error: 'parse error: unexpected "}"' })).toEqual({ kind: "error", why: 'Prometheus answered bad_data: parse error: unexpected "}"' });
  });

  it("reads --prometheus-service as NAMESPACE/NAME:PORT", () => {
    expect(parsePrometheusService("monitoring/prometheus:9090")).toEqual({ kind: "service", namespace: "monitoring", name: "prometheus", port: "9090" });
    expect(parsePrometheusService("monitoring/prometheus:web")).toMatchObject({ port: "web" });
    expect(parsePrometheusService("prometheus:9090")).toBe("write NAMESPACE/NAME:PORT, for example monitoring/prometheus:9090");
  });
});
