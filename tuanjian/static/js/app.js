/* tuanjian: the only script of our own. Plain ES5-compatible code, no build step.
   Every page works without it: it only lets the tree collapse without a reload. */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var t = e.target;
    while (t && t !== document && !(t.classList && t.classList.contains("toggle"))) { t = t.parentNode; }
    if (!t || t === document || !t.getAttribute("aria-controls")) { return; }
    var kids = document.getElementById(t.getAttribute("aria-controls"));
    if (kids && kids.getAttribute("data-loaded") === "1") {
      // Already loaded: just fold or unfold, no request.
      e.preventDefault();
      e.stopPropagation();
      var open = t.getAttribute("aria-expanded") === "true";
      kids.classList.toggle("hidden", open);
      t.setAttribute("aria-expanded", open ? "false" : "true");
    }
  }, true);
  // Long uploads: say that the server is working and prevent a second click (the page works without this).
  document.addEventListener("submit", function (e) {
    var form = e.target, text = form.getAttribute && form.getAttribute("data-busy-text");
    if (!text) { return; }
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.textContent = text; }
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail && e.detail.target;
    if (target && target.classList && target.classList.contains("tree") && target.id) {
      target.setAttribute("data-loaded", "1");
      var toggle = document.querySelector('[aria-controls="' + target.id + '"]');
      if (toggle) { toggle.setAttribute("aria-expanded", "true"); }
    }
  });
})();
