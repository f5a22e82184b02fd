// Draws every [data-chart="sales"] element from the JSON that the page left in a
// <script type="application/json"> (Django's json_script): no inline scripts, CSP-friendly.
// Rows look like {"day": "2025-11-01", "orders": 12, "gmv": "2388.00"}.

const COLORS = { gmv: "#1f6feb", orders: "#c8102e" };

function drawSales(el) {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts) return;
  const rows = JSON.parse(source.textContent);
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  const gmvLabel = el.dataset.labelGmv || "GMV";
  const ordersLabel = el.dataset.labelOrders || "Orders";
  const money = new Intl.NumberFormat(document.documentElement.lang || undefined, {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  chart.setOption({
    color: [COLORS.gmv, COLORS.orders],
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, left: 0, itemGap: 16 },
    tooltip: {
      trigger: "axis",
      valueFormatter: (value) => (typeof value === "number" && !Number.isInteger(value) ? money.format(value) : value),
    },
    xAxis: {
      type: "category",
      data: rows.map((row) => row.day.slice(5)),
      axisTick: { alignWithLabel: true },
    },
    yAxis: [
      { type: "value", splitLine: { lineStyle: { color: "#eef1f5" } } },
      { type: "value", minInterval: 1, splitLine: { show: false } },
    ],
    series: [
      {
        name: gmvLabel,
        type: "line",
        smooth: 0.3,
        smoothMonotone: "x", // no overshoot below zero between quiet days
        showSymbol: false,
        areaStyle: { opacity: 0.12 },
        data: rows.map((row) => Number(row.gmv)),
      },
      {
        name: ordersLabel,
        type: "bar",
        yAxisIndex: 1,
        barMaxWidth: 14,
        itemStyle: { opacity: 0.55, borderRadius: [3, 3, 0, 0] },
        data: rows.map((row) => row.orders),
      },
    ],
  });
  new ResizeObserver(() => chart.resize()).observe(el);
}

function drawAll() {
  document.querySelectorAll('[data-chart="sales"]').forEach(drawSales);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", drawAll);
} else {
  drawAll();
}
