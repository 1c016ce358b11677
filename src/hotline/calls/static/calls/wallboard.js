// The calls wallboard: htmx swaps the live part in every second (the page
// says how: hx-get, hx-trigger). Here only what the server cannot do: the
// clock ticks between fetches (server time, in the center's time zone, not
// the TV's), a banner says when the figures stopped coming, and a button
// asks for the full screen. The content security policy allows only
// scripts served from here.
(function () {
  "use strict";
  var body = document.body;
  if (!body || !body.classList.contains("wallboard")) { return; }
  var clock = document.getElementById("wb-clock");
  var date = document.getElementById("wb-date");
  var since = document.querySelector("[data-stale-since]");
  var STALE_MS = 5000;
  var offset = 0;
  var lastOk = Date.now();
  var lastClock = clock ? clock.textContent : "";
  var format = null;
  try {
    format = new Intl.DateTimeFormat("en-GB", {
      timeZone: body.getAttribute("data-time-zone") || undefined,
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
    });
  } catch (e) { format = null; }

  function read() {
    var grid = document.querySelector(".wb-grid[data-now]");
    if (!grid) { return; }
    offset = parseInt(grid.getAttribute("data-now"), 10) - Date.now();
    lastClock = grid.getAttribute("data-clock") || lastClock;
    if (date && grid.getAttribute("data-date")) { date.textContent = grid.getAttribute("data-date"); }
  }

  function tick() {
    if (format && clock) { clock.textContent = format.format(new Date(Date.now() + offset)); }
    var stale = Date.now() - lastOk > STALE_MS;
    if (stale && !body.classList.contains("stale") && since) { since.textContent = lastClock; }
    body.classList.toggle("stale", stale);
  }

  body.addEventListener("htmx:afterSwap", function (e) {
    if (e.target && e.target.id === "wb-live") { lastOk = Date.now(); read(); tick(); }
  });

  var full = document.querySelector("[data-fullscreen]");
  if (full) {
    if (!document.documentElement.requestFullscreen) { full.hidden = true; }
    full.addEventListener("click", function () {
      if (document.fullscreenElement) { document.exitFullscreen(); } else { document.documentElement.requestFullscreen(); }
    });
  }
  read();
  setInterval(tick, 250);
})();
