// The organization tree: one listener for every node, including those loaded later. The
// button shows or hides its children; HTMX fetches them on the first click only.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-expand]") : null;
    if (!button) { return; }
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.textContent = open ? "▾" : "▸";
    var kids = document.getElementById(button.getAttribute("aria-controls"));
    if (kids) { kids.classList.toggle("d-none", !open); }
  });
})();
