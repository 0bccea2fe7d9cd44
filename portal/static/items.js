// "Add a row" for the data-items table of the entry form. Without JavaScript the form still
// offers three blank rows on every load, so this is a convenience, not a requirement.
(function () {
  var button = document.getElementById("add-item");
  var body = document.querySelector("#items-table tbody");
  if (!button || !body) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var rows = body.querySelectorAll("tr:not(:has(td[colspan]))");
    var last = rows[rows.length - 1];
    var next = rows.length + 1;
    var copy = last.cloneNode(true);
    copy.classList.remove("has-error");
    copy.querySelectorAll("input, select").forEach(function (field) {
      field.name = field.name.replace(/^items-\d+-/, "items-" + next + "-");
      var label = field.getAttribute("aria-label");
      if (label) field.setAttribute("aria-label", label.replace(/\d+$/, next));
      if (field.type === "checkbox") field.checked = false;
      else if (field.tagName === "INPUT") field.value = "";
      else field.selectedIndex = field.name.endsWith("data_type") ? 0 : 0;
    });
    body.appendChild(copy);
    copy.querySelector("input").focus();
  });
})();
