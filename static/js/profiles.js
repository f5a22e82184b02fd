// Draws every [data-chart="rfm"] element: a 5×5 heatmap of members per recency (x) and
// frequency (y) score, from the JSON the page left in a <script type="application/json">
// (Django's json_script): no inline scripts, CSP-friendly. Cells look like {"r": 1, "f": 5, "n": 12}.
// The vendored ECharts build has no heatmap series, so cells are square scatter symbols
// coloured by count.

const LOW = [238, 243, 250]; // #eef3fa
const HIGH = [31, 111, 235]; // #1f6feb

function shade(n, max) {
  const t = max ? Math.sqrt(n / max) : 0; // sqrt: small cells stay visible next to a big one
  const rgb = LOW.map((low, i) => Math.round(low + (HIGH[i] - low) * t));
  return `rgb(${rgb.join(",")})`;
}

function drawRfm(el) {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts) return;
  const cells = JSON.parse(source.textContent);
  const max = Math.max(0, ...cells.map((c) => c.n));
  const number = new Intl.NumberFormat(document.documentElement.lang || undefined);
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  const labelR = el.dataset.labelR || "R";
  const labelF = el.dataset.labelF || "F";
  const labelMembers = el.dataset.labelMembers || "Members";
  const axis = (name) => ({
    type: "category",
    data: ["1", "2", "3", "4", "5"],
    name,
    nameLocation: "middle",
    nameGap: 28,
    splitLine: { show: false },
    axisTick: { show: false },
  });

  function option() {
    const size = Math.max(12, Math.min(el.clientWidth - 80, el.clientHeight - 70) / 5 - 4);
    return {
      grid: { left: 44, right: 8, top: 8, bottom: 44 },
      tooltip: {
        formatter: (p) => `R${p.value[0]} · F${p.value[1]}<br>${labelMembers}: ${number.format(p.value[2])}`,
      },
      xAxis: axis(labelR),
      yAxis: axis(labelF),
      series: [
        {
          type: "scatter",
          symbol: "rect",
          symbolSize: size,
          data: cells.map((c) => ({
            value: [String(c.r), String(c.f), c.n],
            itemStyle: { color: shade(c.n, max) },
          })),
          label: {
            show: true,
            formatter: (p) => number.format(p.value[2]),
            color: "#1b1f24",
          },
          emphasis: { itemStyle: { borderColor: "#1b1f24", borderWidth: 1 } },
        },
      ],
    };
  }

  chart.setOption(option());
  new ResizeObserver(() => {
    chart.setOption(option());
    chart.resize();
  }).observe(el);
}

function drawAll() {
  document.querySelectorAll('[data-chart="rfm"]').forEach(drawRfm);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", drawAll);
} else {
  drawAll();
}
