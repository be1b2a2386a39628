/* tuanjian's own script: plain ES5, no build; every page works without it. */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var t = e.target;
    while (t && t !== document && !(t.classList && t.classList.contains("toggle"))) { t = t.parentNode; }
    if (!t || t === document || !t.getAttribute("aria-controls")) { return; }
    var kids = document.getElementById(t.getAttribute("aria-controls"));
    if (kids && kids.getAttribute("data-loaded") === "1") {
      e.preventDefault();
      e.stopPropagation();
      var open = t.getAttribute("aria-expanded") === "true";
      kids.classList.toggle("hidden", open);
      t.setAttribute("aria-expanded", open ? "false" : "true");
    }
  }, true);
  // long uploads: no second click
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
  // issue 26.2: focus the first wrong field unless one is in use
  var seen, d = document;
  function focusError() {
    var s = d.getElementById("error-summary"), f;
    if (!s || s === seen) { return; }
    seen = s;
    f = d.querySelector("main [aria-invalid=true]") || s.querySelector("a");
    setTimeout(function () { if (f && !/INPUT|SELECT|TEXTAREA/.test(d.activeElement.tagName)) f.focus(); });
  }
  focusError();
  d.addEventListener("htmx:afterSettle", focusError);
  // idle warning (issue 16.1)
  var body = document.body, idle = 0, ping = null, warnT, outT, box;
  function say(text, button) {
    if (!box || !box.parentNode) {
      box = document.createElement("div");
      box.className = "idle-warning";
      box.setAttribute("role", "alert");
      box.appendChild(document.createElement("p"));
      box.appendChild(document.createElement("button"));
      box.lastChild.type = "button";
      box.lastChild.textContent = "继续";
      box.lastChild.addEventListener("click", keepAlive);
      body.appendChild(box);
    }
    box.firstChild.textContent = text;
    box.lastChild.style.display = button ? "" : "none";
    if (button) { box.lastChild.focus(); }
  }
  function out() {
    say("您已 " + Math.round(idle / 60) + " 分钟未操作，已自动退出。提交时请在同一页面重新登录，已填写的内容会自动填回。", false);
  }
  function schedule() {
    var main = document.getElementById("main");
    idle = +(main && main.getAttribute("data-idle-seconds") || 0);
    ping = main && main.getAttribute("data-ping");
    clearTimeout(warnT);
    clearTimeout(outT);
    if (box && box.parentNode) { box.parentNode.removeChild(box); }
    if (idle <= 120 || !ping) { return; }
    warnT = setTimeout(function () { say("您已较长时间未操作，2 分钟后将自动退出。要继续使用，请点“继续”。", true); },
                       (idle - 120) * 1000);
    outT = setTimeout(out, idle * 1000);
  }
  function keepAlive() {
    var x = new XMLHttpRequest(), h = document.querySelector("[hx-headers]");
    x.open("POST", ping, true);
    try { x.setRequestHeader("X-CSRFToken", JSON.parse(h.getAttribute("hx-headers"))["X-CSRFToken"]); } catch (e) {}
    x.onload = function () { if (x.status === 204) { schedule(); } else { clearTimeout(outT); out(); } };
    x.onerror = function () { say("无法连接服务器，请检查网络后再点“继续”。", true); };
    x.send();
  }
  schedule();
  document.addEventListener("htmx:afterRequest", schedule);
  document.addEventListener("htmx:afterSettle", schedule);
})();
