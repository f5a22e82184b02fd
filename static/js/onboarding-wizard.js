// HQ's onboarding list: a bar chart of stores per step they are stuck on, drawn from the
// JSON the page left in <script type="application/json"> (no inline scripts; CSP-friendly).
// Rows look like {"step": "Devices connected", "key": "devices", "stores": 3}.

function drawStuck(el) {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts) return;
  const rows = JSON.parse(source.textContent);
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    color: ["#c8102e"],
    grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis" },
    xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f5" } } },
    yAxis: { type: "category", inverse: true, data: rows.map((row) => row.step) },
    series: [
      {
        name: el.dataset.label || "Stores",
        type: "bar",
        barMaxWidth: 18,
        itemStyle: { borderRadius: [0, 3, 3, 0] },
        label: { show: true, position: "right" },
        data: rows.map((row) => row.stores),
      },
    ],
  });
  new ResizeObserver(() => chart.resize()).observe(el);
}

function drawAll() {
  document.querySelectorAll('[data-chart="onboarding-stuck"]').forEach(drawStuck);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", drawAll);
} else {
  drawAll();
}
