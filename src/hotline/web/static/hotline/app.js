// Keyboard helpers for the pages. The content security policy allows only
// scripts served from here, so behaviour is bound by data attributes.
(function () {
  "use strict";

  function focusables(form) {
    return Array.prototype.filter.call(
      form.querySelectorAll("input, select, textarea, button"),
      function (el) { return !el.disabled && el.type !== "hidden" && el.offsetParent !== null; }
    );
  }

  // Take a search result. The request is issued from the search box, not the
  // result button: a late search response may replace the list, and htmx
  // drops responses whose source element has left the page.
  function choose(result, box) {
    var url = result.getAttribute("hx-get");
    if (!url || !window.htmx) { result.click(); return; }
    window.htmx.ajax("GET", url, {
      source: box,
      target: result.getAttribute("hx-target"),
      swap: result.getAttribute("hx-swap") || "innerHTML",
      values: { q: box.value }
    });
  }

  document.addEventListener("keydown", function (e) {
    var target = e.target;
    var form = target.closest ? target.closest("form") : null;

    // Ctrl+Enter (Cmd+Enter) saves from any field of the form (text, select,
    // checkbox, radio), and from a field outside any form (the intake's
    // customer search) when the page has one such form.
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      var saving = form && form.hasAttribute("data-ctrl-enter") ? form : null;
      if (!form) {
        var only = document.querySelectorAll("form[data-ctrl-enter]");
        if (only.length === 1) { saving = only[0]; }
      }
      if (saving) {
        e.preventDefault();
        saving.requestSubmit();
        return;
      }
    }

    // Plain Enter in a single-line field moves on instead of saving half an order.
    if (form && form.hasAttribute("data-enter-next") && e.key === "Enter" && !e.ctrlKey && !e.metaKey &&
        target.tagName === "INPUT" && target.type !== "checkbox" && target.type !== "radio" && target.type !== "submit") {
      e.preventDefault();
      var list = focusables(form);
      var next = list[list.indexOf(target) + 1];
      if (next) { next.focus(); }
      return;
    }

    // Search box with a result list: arrows walk the results, Enter takes the first.
    var resultsSel = target.getAttribute && target.getAttribute("data-results");
    if (resultsSel) {
      var results = document.querySelectorAll(resultsSel + " .result");
      if ((e.key === "ArrowDown" || e.key === "Enter") && results.length) {
        e.preventDefault();
        if (e.key === "Enter") { choose(results[0], target); } else { results[0].focus(); }
      }
      return;
    }
    // A search form with a result list (data-search-form="#list"): ↓ from a
    // text field goes to the first result; ↑ ↓ walk the results' links
    // (data-result), ↑ on the first goes back to the field; Enter opens one.
    var searchSel = form && form.getAttribute("data-search-form");
    if (searchSel && e.key === "ArrowDown" && target.tagName === "INPUT" && /^(search|text|tel)$/.test(target.type)) {
      var first = document.querySelector(searchSel + " [data-result]");
      if (first) { e.preventDefault(); form.setAttribute("data-last-field", target.id || ""); first.focus(); }
      return;
    }
    if (target.hasAttribute && target.hasAttribute("data-result") && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      var list = target.closest("[data-result-list]");
      var links = list ? Array.prototype.slice.call(list.querySelectorAll("[data-result]")) : [];
      var at = links.indexOf(target) + (e.key === "ArrowDown" ? 1 : -1);
      e.preventDefault();
      if (at >= 0 && at < links.length) { links[at].focus(); }
      else if (at < 0) {
        var back = document.querySelector("[data-search-form]");
        var field = back && (document.getElementById(back.getAttribute("data-last-field") || "") ||
                             back.querySelector("input[type=search], input[type=text]"));
        if (field) { field.focus(); }
      }
      return;
    }
    if (target.classList && target.classList.contains("result") && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      var sibling = e.key === "ArrowDown" ? target.nextElementSibling : target.previousElementSibling;
      while (sibling && !sibling.classList.contains("result")) {
        sibling = e.key === "ArrowDown" ? sibling.nextElementSibling : sibling.previousElementSibling;
      }
      if (sibling) { sibling.focus(); }
      else if (e.key === "ArrowUp") {
        var box = document.querySelector("[data-results]");
        if (box) { box.focus(); }
      }
    }
  });

  // The intake check proposes a fault scope (e.g. an outage covers the
  // place: record as an inquiry); one click takes it.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-set-scope]");
    if (!btn) { return; }
    var radio = document.querySelector('input[name="fault_scope"][value="' + btn.getAttribute("data-set-scope") + '"]');
    if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); radio.focus(); }
  });

    // Alt+M keeps or drops the proposed merge (D3.4e: the agent decides with one key).
  document.addEventListener("keydown", function (e) {
    if (!(e.altKey && (e.key === "m" || e.key === "M"))) { return; }
    var box = document.getElementById("f-merge_into");
    if (box) { e.preventDefault(); box.checked = !box.checked; box.focus(); }
  });

    // Filters that apply as soon as they change.
  document.addEventListener("change", function (e) {
    if (e.target.hasAttribute && e.target.hasAttribute("data-autosubmit") && e.target.form) {
      e.target.form.requestSubmit();
    }
  });

  // Do not let a poll wipe what someone is typing into a polled region.
  function busy(elt) {
    var active = document.activeElement;
    var typing = active && elt.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
    var filled = Array.prototype.some.call(elt.querySelectorAll("input[type=text], textarea"), function (f) { return f.value; });
    // An opened row of actions (the board's) stays open until used or closed.
    return typing || filled || !!elt.querySelector("details[open]");
  }
  function isPoll(e) {
    var elt = e.detail.elt, config = e.detail.requestConfig;
    return elt && elt.hasAttribute && elt.hasAttribute("data-poll-guard") && config && config.verb === "get";
  }
  // Once the page is being left, no new poll starts: one begun then would be
  // cut off by the navigation (a failed request in the browser's log).
  var leaving = false;
  window.addEventListener("beforeunload", function () { leaving = true; });
  window.addEventListener("pageshow", function () { leaving = false; });
  document.addEventListener("htmx:beforeRequest", function (e) {
    if (isPoll(e) && (leaving || busy(e.detail.elt))) { e.preventDefault(); }
  });
  // A poll already on its way when the user began is dropped on arrival.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (isPoll(e) && busy(e.detail.elt)) { e.detail.shouldSwap = false; }
  });

  // A poll after the session ended lands on the login page: go there whole.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail.xhr;
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf("/login/") !== -1) {
      e.detail.shouldSwap = false;
      window.location.reload();
    }
  });

  // After a customer is chosen, carry on with the business type.
  document.addEventListener("htmx:afterSettle", function (e) {
    var el = e.detail.elt;
    var sel = el && el.getAttribute && el.getAttribute("data-then-focus");
    if (!sel && el && el.querySelector) {
      var inner = el.querySelector("[data-then-focus]");
      sel = inner && inner.getAttribute("data-then-focus");
    }
    var next = sel && document.querySelector(sel);
    if (next) { next.focus(); }
  });
})();
