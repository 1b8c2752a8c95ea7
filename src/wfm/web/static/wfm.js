// The WFM pages' one enhancement: a select whose choices depend on another field
// (the mass update's value on its kind) shows only the choices of the kind chosen.
// Without JavaScript every choice is shown and the server checks the pair.
for (const select of document.querySelectorAll("select[data-depends-on]")) {
  const source = select.form.elements.namedItem(select.dataset.dependsOn);
  if (!(source instanceof HTMLSelectElement)) continue;
  const filter = () => {
    const kind = source.selectedOptions[0]?.textContent ?? "";
    for (const group of select.querySelectorAll("optgroup")) {
      const shown = group.label === kind;
      group.hidden = !shown;
      group.disabled = !shown;
    }
    if (select.selectedOptions[0]?.parentElement?.disabled) select.value = "";
  };
  source.addEventListener("change", filter);
  filter();
}
