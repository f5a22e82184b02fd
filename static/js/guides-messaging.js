// Broadcast page: draws the figures bar chart from the JSON the figures partial leaves in a
// <script type="application/json"> (no inline scripts: CSP), and redraws after each poll.
// The broadcast form shows only the fields of the chosen audience.

function drawChart() {
  const el = document.querySelector("[data-broadcast-chart]");
  const source = document.getElementById(el ? el.dataset.source : "");
  if (!el || !source || !window.echarts) return;
  const rows = JSON.parse(source.textContent);
  const chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: rows.map((r) => r.label), axisLabel: { interval: 0, rotate: 20 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", data: rows.map((r) => r.value), itemStyle: { color: "#1f6feb" } }],
  });
}

function toggleAudience(form) {
  const audience = form.querySelector("[name=audience]");
  if (!audience) return;
  form.querySelectorAll("[data-audience-for]").forEach((field) => {
    field.hidden = !field.dataset.audienceFor.split(" ").includes(audience.value);
  });
}

function start() {
  drawChart();
  document.body.addEventListener("htmx:afterSwap", drawChart);
  window.addEventListener("resize", () => {
    const el = document.querySelector("[data-broadcast-chart]");
    const chart = el && window.echarts && window.echarts.getInstanceByDom(el);
    if (chart) chart.resize();
  });
  const form = document.querySelector("[data-broadcast-form]");
  if (form) {
    toggleAudience(form);
    form.addEventListener("change", () => toggleAudience(form));
  }
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => window.addEventListener("load", start));
} else {
  window.addEventListener("load", start);
}
