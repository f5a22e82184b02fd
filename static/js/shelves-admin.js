// Cloud-shelf staff pages: copy a screen's kiosk URL; switch the live preview between now
// (what the screen shows at this moment) and the daytime, night-time and Double-11 slots (the
// iframe loads the kiosk page in preview mode).

function setUpCopy() {
  const button = document.querySelector("[data-copy-kiosk]");
  const input = document.querySelector("[data-kiosk-url]");
  if (!button || !input) return;
  const label = button.textContent;
  button.addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      document.execCommand("copy"); // older tablets without the async clipboard
    }
    button.textContent = button.dataset.copied || label;
    setTimeout(() => { button.textContent = label; }, 2000);
  });
}

function setUpPreview() {
  const card = document.querySelector("[data-preview]");
  if (!card) return;
  const frame = card.querySelector("[data-preview-frame]");
  const tabs = Array.from(card.querySelectorAll("[data-slot]"));
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) other.setAttribute("aria-selected", String(other === tab));
      // no slot ("Now"): what the screen shows at this moment
      const slot = tab.dataset.slot;
      frame.src = card.dataset.previewBase + (slot ? "&slot=" + encodeURIComponent(slot) : "");
    });
  }
}

setUpCopy();
setUpPreview();
