// The agent desk (calls app): the key that starts an order from the screen
// pop, hiding a pop, the elapsed time of the agent's state, and closing
// the not-ready menu after a choice. Bound by data attributes: the content
// security policy allows only scripts served from here.
(function () {
  "use strict";
  if (window.hotlineDesk) { return; }  // the widget and the desk page may both load it
  window.hotlineDesk = true;

  var hidden = {};  // call id → hidden by the agent (until the next call)

  // F2 starts an order from the pop: the intake pre-filled with the first
  // matched customer and linked to the call's contact (C2c).
  document.addEventListener("keydown", function (e) {
    if (e.key !== "F2" || e.ctrlKey || e.metaKey || e.altKey || e.shiftKey) { return; }
    var start = document.querySelector("#desk-pop [data-desk-start]");
    if (!start) { return; }
    e.preventDefault();
    window.location.assign(start.href);
  });

  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-desk-dismiss]");
    if (!btn) { return; }
    var pop = btn.closest("#desk-pop");
    if (pop) { hidden[pop.getAttribute("data-call")] = true; pop.hidden = true; }
  });

  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function tick() {
    var now = Date.now() / 1000;
    Array.prototype.forEach.call(document.querySelectorAll("[data-since]"), function (el) {
      var s = Math.max(0, Math.floor(now - parseFloat(el.getAttribute("data-since"))));
      var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
      el.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
    });
  }

  // A pop the agent hid stays hidden across the region's refreshes.
  function settle() {
    var pop = document.getElementById("desk-pop");
    if (pop && hidden[pop.getAttribute("data-call")]) { pop.hidden = true; }
    tick();
  }
  document.addEventListener("htmx:afterSettle", settle);
  document.addEventListener("DOMContentLoaded", settle);
  window.setInterval(tick, 1000);
})();
