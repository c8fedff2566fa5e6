// Small enhancements; every page works without them.
(function () {
  "use strict";
  // Move focus to the error summary so screen-reader and keyboard users hear what to fix.
  function focusSummary(root) {
    var s = (root || document).querySelector("[data-focus]");
    if (s) { s.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { focusSummary(document); });
  document.addEventListener("htmx:afterSwap", function (e) { focusSummary(e.target); });

  // In the console, "/" jumps to the inbox search (unless already typing somewhere).
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
    var q = document.querySelector(".console #q");
    if (q) { e.preventDefault(); q.focus(); }
  });

  // Upload progress: a form marked data-progress shows a <progress> while htmx sends it.
  document.addEventListener("htmx:xhr:progress", function (e) {
    var form = e.target.closest && e.target.closest("form[data-progress]");
    if (!form || !e.detail.lengthComputable) { return; }
    var bar = form.querySelector("progress");
    if (bar) {
      bar.hidden = false;
      bar.max = e.detail.total;
      bar.value = e.detail.loaded;
      bar.textContent = Math.round(100 * e.detail.loaded / e.detail.total) + "%";
    }
  });
})();
