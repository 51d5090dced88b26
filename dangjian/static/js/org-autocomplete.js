// The organization autocomplete (orgs/fields.py OrgAutocomplete): a text box that asks
// /orgs/lookup/ for matches as the user types (code, name, pinyin or initials), a list to pick
// from with the mouse, a finger or the keys (↑ ↓ Enter Esc), and a hidden input that carries
// the chosen org's code or id. Picking fires a "change" on the hidden input, so a filter form
// that refreshes on change (HTMX) refreshes then and only then; typing in the box does not.
// Listeners sit on the document, so boxes swapped in by HTMX work without setting up.
(function () {
  "use strict";
  var DELAY = 200;
  var seq = 0;

  function parts(el) {
    var root = el && el.closest ? el.closest("[data-org-ac]") : null;
    if (!root) { return null; }
    return {
      root: root,
      input: root.querySelector("[data-org-ac-input]"),
      value: root.querySelector("[data-org-ac-value]"),
      list: root.querySelector("[role=listbox]")
    };
  }

  function options(p) {
    return Array.prototype.slice.call(p.list.querySelectorAll("[role=option]"));
  }

  function isOpen(p) {
    return !p.list.hidden;
  }

  function close(p) {
    p.list.hidden = true;
    p.input.setAttribute("aria-expanded", "false");
    p.input.removeAttribute("aria-activedescendant");
  }

  function activate(p, index) {
    var all = options(p);
    all.forEach(function (o, i) {
      o.setAttribute("aria-selected", i === index ? "true" : "false");
      o.classList.toggle("active", i === index);
    });
    if (index >= 0 && all[index]) {
      p.input.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    } else {
      p.input.removeAttribute("aria-activedescendant");
    }
  }

  function activeIndex(p) {
    return options(p).findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
  }

  // The server's fragment holds only text its template escaped. It is parsed with DOMParser
  // (a parsed document runs no script) and its nodes moved into the list; the escaping, not
  // the parsing, is what keeps data from becoming markup.
  function show(p, html) {
    var doc = new DOMParser().parseFromString("<ul>" + html + "</ul>", "text/html");
    p.list.replaceChildren.apply(p.list, Array.from(doc.body.firstChild.childNodes));
    options(p).forEach(function (o, i) { o.id = p.list.id + "-" + i; });
    p.list.hidden = false;
    p.input.setAttribute("aria-expanded", "true");
    activate(p, options(p).length ? 0 : -1);
  }

  function search(p) {
    var text = p.input.value.trim();
    var mine = ++seq;
    p.root.dataset.seq = String(mine);
    if (p.root._abort) { p.root._abort.abort(); }
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    p.root._abort = ctrl;
    p.root.setAttribute("aria-busy", "true");
    fetch(p.root.dataset.url + "&q=" + encodeURIComponent(text), {
      credentials: "same-origin",
      headers: { "Accept": "text/html" },
      signal: ctrl ? ctrl.signal : undefined
    }).then(function (r) {
      // A session that expired answers with the login page (after a redirect): never show it.
      if (r.redirected) { throw new Error("login"); }
      if (!r.ok) { throw new Error("status"); }
      return r.text();
    }).then(function (html) {
      if (p.root.dataset.seq !== String(mine)) { return; }
      p.root.removeAttribute("aria-busy");
      if (document.activeElement !== p.input) { return; }
      show(p, html);
    }).catch(function (err) {
      if (err && err.name === "AbortError") { return; }
      if (p.root.dataset.seq !== String(mine)) { return; }
      p.root.removeAttribute("aria-busy");
      var note = document.createElement("li");
      note.className = "list-group-item small text-danger org-ac-note";
      note.setAttribute("role", "presentation");
      note.textContent = err && err.message === "login" ? "登录已过期，请刷新页面后重新登录"
        : "查找失败，请检查网络后重试";
      p.list.replaceChildren(note);
      p.list.hidden = false;
    });
  }

  function pick(p, option) {
    var before = p.value.value;
    p.value.value = option.dataset.value;
    p.input.value = option.dataset.label;
    p.input.dataset.chosen = option.dataset.label;
    close(p);
    if (p.value.value !== before) {
      p.value.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  function clear(p) {
    var before = p.value.value;
    p.value.value = "";
    p.input.dataset.chosen = "";
    close(p);
    if (before) {
      p.value.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  document.addEventListener("input", function (e) {
    var p = e.target.matches && e.target.matches("[data-org-ac-input]") ? parts(e.target) : null;
    if (!p) { return; }
    clearTimeout(p.root._timer);
    if (!p.input.value.trim()) {
      seq++;
      clear(p);
      return;
    }
    p.root._timer = setTimeout(function () { search(p); }, DELAY);
  });

  document.addEventListener("keydown", function (e) {
    var p = e.target.matches && e.target.matches("[data-org-ac-input]") ? parts(e.target) : null;
    if (!p) { return; }
    var all = options(p), i = activeIndex(p);
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!isOpen(p)) {
        if (p.input.value.trim()) { search(p); }
        return;
      }
      if (all.length) {
        activate(p, e.key === "ArrowDown" ? Math.min(i + 1, all.length - 1) : Math.max(i - 1, 0));
      }
    } else if (e.key === "Enter") {
      if (isOpen(p) && i >= 0) {
        e.preventDefault();
        pick(p, all[i]);
      } else if (p.input.value.trim() && p.input.value !== p.input.dataset.chosen) {
        // Typed but not picked: look it up instead of submitting the old choice.
        e.preventDefault();
        clearTimeout(p.root._timer);
        search(p);
      }
    } else if (e.key === "Escape" && isOpen(p)) {
      e.preventDefault();
      close(p);
      p.input.value = p.input.dataset.chosen || "";
    }
  });

  // Keep the focus in the box while an option is pressed, then take the option.
  document.addEventListener("mousedown", function (e) {
    if (e.target.closest && e.target.closest("[data-org-ac] [role=option]")) { e.preventDefault(); }
  });
  document.addEventListener("click", function (e) {
    var option = e.target.closest ? e.target.closest("[data-org-ac] [role=option]") : null;
    var p = option ? parts(option) : null;
    if (p) { pick(p, option); }
  });

  document.addEventListener("focusin", function (e) {
    if (e.target.matches && e.target.matches("[data-org-ac-input]")) { e.target.select(); }
  });

  // Leaving the box without picking puts the chosen org's name back.
  document.addEventListener("focusout", function (e) {
    var p = e.target.matches && e.target.matches("[data-org-ac-input]") ? parts(e.target) : null;
    if (!p) { return; }
    setTimeout(function () {
      if (p.root.contains(document.activeElement)) { return; }
      clearTimeout(p.root._timer);
      seq++;
      close(p);
      if (p.input.value.trim() && p.input.value !== p.input.dataset.chosen) {
        p.input.value = p.input.dataset.chosen || "";
      }
    }, 0);
  });

  // The text box itself is no value of the form: its own "change" must not reach the form.
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-org-ac-input]")) { e.stopPropagation(); }
  }, true);
})();
