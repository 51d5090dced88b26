// The attendance list of the record form (activities/forms.py): when the form is sent, every
// row ([data-member]: its checked status and its reason) goes as one JSON list in the hidden
// [data-attendance-field], and the rows' own inputs are disabled so they are not sent too. An
// org of 3,000 members would otherwise send 6,000 fields, past the server's limit of 1,000.
// Bound by data attributes only: no inline script, no on* attribute.
(function () {
  "use strict";

  function rowsOf(form) {
    return Array.prototype.slice.call(form.querySelectorAll("tr[data-member]"));
  }

  function collect(form) {
    return rowsOf(form).map(function (row) {
      var checked = row.querySelector("input[type=radio]:checked");
      var reason = row.querySelector("input[type=text]");
      return [Number(row.getAttribute("data-member")), checked ? checked.value : "present",
              reason ? reason.value : ""];
    });
  }

  function setRowInputs(form, disabled) {
    rowsOf(form).forEach(function (row) {
      row.querySelectorAll("input").forEach(function (input) { input.disabled = disabled; });
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-attendance-form]")) { return; }
    var field = form.querySelector("[data-attendance-field]");
    if (!field) { return; }
    field.value = JSON.stringify(collect(form));
    setRowInputs(form, true);
  });

  // Coming back to the page (the browser's back button keeps it as it was): the rows work again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-attendance-form]").forEach(function (form) {
      setRowInputs(form, false);
      var field = form.querySelector("[data-attendance-field]");
      if (field) { field.value = ""; }
    });
  });
})();
