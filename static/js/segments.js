// Segment builder: keep Enter in a value box from submitting the whole form half-way
// through typing (the live count follows the input already). No other behaviour: the
// builder is htmx; this module only smooths the keyboard on tablets.
const form = document.getElementById("segment-form");
if (form) {
  form.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.key === "Enter" && target instanceof HTMLInputElement && target.type === "number") {
      event.preventDefault();
    }
  });
}
