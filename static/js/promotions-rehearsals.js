// The rehearsal start form: only the chosen campaign's participating stores are offered;
// "All stores of the campaign" ticks them. The map campaign → store ids comes from json_script.

function start() {
  const form = document.querySelector(".rehearsal-start");
  const source = document.getElementById("rehearsal-campaign-stores");
  if (!form || !source) return;
  const byCampaign = JSON.parse(source.textContent);
  const select = form.querySelector('select[name="campaign"]');
  const boxes = [...form.querySelectorAll("[data-store-id]")];
  const apply = () => {
    const ids = new Set((byCampaign[select.value] || []).map(String));
    boxes.forEach((box) => {
      const inside = ids.has(box.dataset.storeId);
      box.hidden = !inside;
      if (!inside) box.querySelector("input").checked = false;
    });
  };
  select?.addEventListener("change", apply);
  form.querySelector("[data-select-all]")?.addEventListener("click", () => {
    boxes.filter((box) => !box.hidden).forEach((box) => (box.querySelector("input").checked = true));
  });
  apply();
}

start();
