// The partner console: draws [data-chart="console-requests"] (requests per hour, stacked
// 2xx / 4xx / 5xx) from the JSON the page left in a <script type="application/json">
// (json_script; CSP allows no inline scripts), again after every htmx swap of a section.
// Data: {"hours": ["11-26 09:00", ...], "ok": [..], "client_errors": [..], "server_errors": [..]}

const COLORS = { ok: "#1e6b35", client: "#b7791f", server: "#a4161a" };

function drawRequests(el) {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts) return;
  const data = JSON.parse(source.textContent);
  const existing = window.echarts.getInstanceByDom(el);
  if (existing) existing.dispose();
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  const bar = (name, values, color) => ({
    name,
    type: "bar",
    stack: "answers",
    barMaxWidth: 10,
    itemStyle: { color },
    data: values,
  });
  chart.setOption({
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, left: 0 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: data.hours, axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f5" } } },
    series: [
      bar(el.dataset.labelOk || "2xx", data.ok, COLORS.ok),
      bar(el.dataset.labelClient || "4xx", data.client_errors, COLORS.client),
      bar(el.dataset.labelServer || "5xx", data.server_errors, COLORS.server),
    ],
  });
  new ResizeObserver(() => chart.resize()).observe(el);
}

function init(root) {
  root.querySelectorAll('[data-chart="console-requests"]').forEach(drawRequests);
}

// Secrets and links: one tap selects the whole value, ready to copy.
document.addEventListener("focusin", (event) => {
  if (event.target.matches && event.target.matches("input[data-select-on-focus]")) event.target.select();
});
document.addEventListener("htmx:afterSettle", () => init(document));

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => init(document));
} else {
  init(document);
}
