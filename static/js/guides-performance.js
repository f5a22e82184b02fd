// Guide performance and share-link pages: the conversion funnel, a link's clicks per day,
// and the copy-link button. Data comes from json_script blocks (CSP: no inline scripts).
// The funnel is drawn with bars (the vendored ECharts build has no funnel series): each
// step is a bar centred by a transparent offset, widest first.

function data(el) {
  const source = document.getElementById(el.dataset.source);
  return source ? JSON.parse(source.textContent) : null;
}

const SHADES = ["#c8102e", "#d9485f", "#e57b8c", "#efa9b4"];

function drawFunnel(el) {
  const steps = data(el);
  if (!steps || !window.echarts) return;
  const max = Math.max(1, ...steps.map((s) => Number(s.value)));
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  const labels = steps.map((s) => s.label);
  chart.setOption({
    animation: false,
    color: ["transparent", "#c8102e"],
    grid: { left: 8, right: 8, top: 8, bottom: 8, containLabel: true },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "none" },
      formatter: (params) => {
        const p = params.find((x) => x.seriesIndex === 1);
        const step = steps[p.dataIndex];
        return `${step.label}: ${step.display}`;
      },
    },
    xAxis: { type: "value", show: false, max },
    yAxis: { type: "category", inverse: true, data: labels, axisTick: { show: false }, axisLine: { show: false } },
    series: [
      { type: "bar", stack: "f", silent: true, itemStyle: { color: "transparent" }, data: steps.map((s) => (max - Number(s.value)) / 2) },
      {
        type: "bar",
        stack: "f",
        barCategoryGap: "18%",
        label: { show: true, position: "inside", color: "#fff", formatter: (p) => steps[p.dataIndex].display },
        itemStyle: { color: "#c8102e", borderRadius: 4 },
        data: steps.map((s, i) => ({ value: Number(s.value), itemStyle: { color: SHADES[i % SHADES.length] } })),
      },
    ],
  });
  new ResizeObserver(() => chart.resize()).observe(el);
}

function drawClicks(el) {
  const rows = data(el);
  if (!rows || !window.echarts) return;
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    color: ["#1f6feb"],
    grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: rows.map((r) => r.day.slice(5)) },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: el.dataset.label || "Clicks", type: "bar", barMaxWidth: 14, data: rows.map((r) => r.clicks) }],
  });
  new ResizeObserver(() => chart.resize()).observe(el);
}

function wireCopy(button) {
  button.addEventListener("click", async () => {
    const input = document.getElementById(button.dataset.copy);
    if (!input) return;
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      input.select();
      document.execCommand("copy");
    }
    const before = button.textContent;
    button.textContent = button.dataset.copied || before;
    setTimeout(() => (button.textContent = before), 1500);
  });
}

function start() {
  document.querySelectorAll('[data-chart="funnel"]').forEach(drawFunnel);
  document.querySelectorAll('[data-chart="clicks"]').forEach(drawClicks);
  document.querySelectorAll("[data-copy]").forEach(wireCopy);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
