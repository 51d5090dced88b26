// Behaviour every page shares, bound by data-attributes. The Content-Security-Policy runs
// scripts from the platform's own files only (no onclick="…", no inline <script>) and takes
// styles from its own style sheets only (no style="…"); what a page used to write inline is
// asked for here instead:
//   data-autosubmit   a select that submits its form when changed (a year, a filter);
//   data-confirm="…"  a button that asks before it submits (the text is shown, never run);
//   data-print        a button that prints the page;
//   data-height="n"   a chart box n pixels high (the page computes n from its rows);
//   data-percent="n"  a progress bar n % wide;
//   data-indent="n"   a line indented n em from the right (a bulletin's signature).
// Sizes are set through the element's style object, which the policy allows, unlike a style
// attribute in the markup. Content swapped in by HTMX gets the same treatment.
(function () {
  "use strict";

  function number(el, name) {
    var v = parseFloat(el.getAttribute(name));
    return isNaN(v) ? null : v;
  }

  function size(root) {
    if (!root || !root.querySelectorAll) { return; }
    var all = function (sel) {
      var found = Array.prototype.slice.call(root.querySelectorAll(sel));
      if (root.matches && root.matches(sel)) { found.unshift(root); }
      return found;
    };
    all("[data-height]").forEach(function (el) {
      var v = number(el, "data-height");
      if (v !== null) { el.style.height = v + "px"; }
    });
    all("[data-percent]").forEach(function (el) {
      var v = number(el, "data-percent");
      if (v !== null) { el.style.width = Math.max(0, Math.min(100, v)) + "%"; }
    });
    all("[data-indent]").forEach(function (el) {
      var v = number(el, "data-indent");
      if (v !== null) { el.style.paddingRight = v + "em"; }
    });
  }

  size(document);
  document.addEventListener("htmx:load", function (e) { size(e.target); });

  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) { el.form.submit(); }
  });

  document.addEventListener("click", function (e) {
    var el = e.target.closest ? e.target.closest("[data-confirm], [data-print]") : null;
    if (!el) { return; }
    if (el.hasAttribute("data-print")) {
      e.preventDefault();
      window.print();
    } else if (!window.confirm(el.getAttribute("data-confirm"))) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  });
})();
