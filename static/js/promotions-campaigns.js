// Campaign pages: place the timeline's bars from their data attributes (no inline styles:
// CSP), count down to each next change, and make "All stores" tick every store.

function placeTimelines() {
  document.querySelectorAll("[data-campaign-timeline] [data-left]").forEach((el) => {
    el.style.left = `${el.dataset.left}%`;
    if (el.dataset.width) el.style.width = `${el.dataset.width}%`;
  });
}

function countdownText(ms, el) {
  if (ms <= 0) return el.dataset.labelNow || "now";
  const minutes = Math.floor(ms / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const pad = (n) => String(n).padStart(2, "0");
  const time = `${pad(hours)}:${pad(mins)}:${pad(Math.floor((ms % 60000) / 1000))}`;
  return days > 0 ? `${days}${el.dataset.labelDays || "d"} ${time}` : time;
}

function tickCountdowns() {
  const now = Date.now();
  document.querySelectorAll("[data-countdown]").forEach((el) => {
    const at = Date.parse(el.dataset.countdown);
    if (!Number.isNaN(at)) el.textContent = countdownText(at - now, el);
  });
}

function wireAllStores() {
  const all = document.querySelector("[data-all-stores]");
  if (!all) return;
  const fieldset = all.closest("fieldset");
  const boxes = () => document.querySelectorAll("[data-store-choice]");
  const sync = () => {
    fieldset?.classList.toggle("is-all", all.checked);
    if (all.checked) boxes().forEach((box) => { box.checked = true; });
  };
  all.addEventListener("change", sync);
  boxes().forEach((box) =>
    box.addEventListener("change", () => {
      if (!box.checked) {
        all.checked = false;
        fieldset?.classList.remove("is-all");
      }
    }),
  );
  sync();
}

placeTimelines();
wireAllStores();
if (document.querySelector("[data-countdown]")) {
  tickCountdowns();
  setInterval(tickCountdowns, 1000);
}
