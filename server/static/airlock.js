// Airlock dashboard: light progressive enhancement, served from /static
// under a CSP that forbids inline script. Every page works without it.
// Never inserts text from the page as HTML, except the progress fragment,
// which the server rendered and escaped.
(function () {
  "use strict";

  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  // Findings: j/k move, Enter follows the link to the code.
  var findings = Array.prototype.slice.call(document.querySelectorAll(".finding"));
  var current = -1;
  function select(i) {
    if (!findings.length) return;
    current = Math.max(0, Math.min(findings.length - 1, i));
    findings.forEach(function (f, n) { f.classList.toggle("current", n === current); });
    findings[current].focus();
    findings[current].scrollIntoView({ block: "center" });
  }

  var dialog = document.getElementById("approve-dialog");
  function openApprove() {
    if (!dialog || typeof dialog.showModal !== "function") {
      var form = document.getElementById("decide");
      if (form) form.scrollIntoView();
      return;
    }
    dialog.showModal();
    var comment = document.getElementById("approve-comment");
    if (comment) comment.focus();
  }
  if (dialog) {
    dialog.querySelectorAll(".close-dialog").forEach(function (b) {
      b.addEventListener("click", function () { dialog.close(); });
    });
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    if (e.key === "j") { select(current + 1); e.preventDefault(); }
    else if (e.key === "k") { select(current - 1); e.preventDefault(); }
    else if (e.key === "Enter" && current >= 0) {
      var link = findings[current].querySelector("a.finding-link");
      if (link) { window.location.href = link.href; e.preventDefault(); }
    }
    else if (e.key === "a" && dialog) { openApprove(); e.preventDefault(); }
  });

  // The pipeline's progress refreshes itself while releases are in flight.
  function refresh() {
    var section = document.getElementById("progress");
    if (!section || !section.dataset.live) return;
    fetch(section.dataset.refresh, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("progress");
        if (fresh) section.replaceWith(document.importNode(fresh, true));
        setTimeout(refresh, 3000);
      })
      .catch(function () { setTimeout(refresh, 10000); });
  }
  setTimeout(refresh, 3000);

  // The file viewer keeps the targeted line in the middle of the screen.
  if (location.hash && /^#L\d+$/.test(location.hash)) {
    var line = document.getElementById(location.hash.slice(1));
    if (line) line.scrollIntoView({ block: "center" });
  }
  // Imports: a picked file fills the form's text area and file name.
  var picker = document.getElementById("import-file");
  if (picker && window.FileReader) {
    picker.addEventListener("change", function () {
      var file = picker.files && picker.files[0];
      if (!file) return;
      var reader = new FileReader();
      reader.onload = function () {
        document.getElementById("import-content").value = reader.result;
        var name = document.getElementById("import-source");
        if (name && !name.value) name.value = file.name;
      };
      reader.readAsText(file);
    });
  }
  // The header's inbox link shows the unread count (text only).
  var inboxCount = document.getElementById("inbox-count");
  if (inboxCount && window.fetch) {
    fetch("/inbox/count", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (t) {
        var n = parseInt(t, 10);
        if (n > 0) { inboxCount.textContent = String(n); inboxCount.hidden = false; }
      })
      .catch(function () {});
  }
})();
