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
    // A place inside a collapsed rule card: open the card first.
    var details = findings[current].closest("details");
    if (details && !details.open) details.open = true;
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

  // Live sections (the pipeline's progress while releases are in flight,
  // the queue's table) refresh themselves from their fragment's URL: the
  // server renders the fragment, escaped, with the same id. A section the
  // user is interacting with (focus inside) waits for the next round.
  function refresh(id, every) {
    var section = document.getElementById(id);
    if (!section || !section.dataset.live) return;
    if (section.contains(document.activeElement) && document.activeElement !== document.body) {
      setTimeout(function () { refresh(id, every); }, every);
      return;
    }
    fetch(section.dataset.refresh, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { setTimeout(function () { refresh(id, every * 2); }, every * 2); return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById(id);
        var now = document.getElementById(id);
        if (fresh && now) now.replaceWith(document.importNode(fresh, true));
        setTimeout(function () { refresh(id, every); }, every);
      })
      .catch(function () { setTimeout(function () { refresh(id, every); }, 10000); });
  }
  ["progress", "queue-table"].forEach(function (id) {
    var section = document.getElementById(id);
    if (!section) return;
    var every = parseInt(section.dataset.interval || "3000", 10);
    setTimeout(function () { refresh(id, every); }, every);
  });

  // The file viewer keeps the targeted line in the middle of the screen.
  if (location.hash && /^#L\d+$/.test(location.hash)) {
    var line = document.getElementById(location.hash.slice(1));
    if (line) line.scrollIntoView({ block: "center" });
  }
  // The file viewer's tree: the filter box narrows the rows on the page as
  // one types (paths compared as text, never inserted as HTML); Enter still
  // submits the form, which filters the whole archive on the server.
  var treeFilter = document.getElementById("tree-filter");
  var tree = document.getElementById("file-tree");
  if (treeFilter && tree) {
    var details = Array.prototype.slice.call(tree.querySelectorAll("details"));
    details.forEach(function (d) { d.dataset.initiallyOpen = d.open ? "1" : ""; });
    var items = Array.prototype.slice.call(tree.querySelectorAll("li"));
    var empty = document.getElementById("tree-empty");
    treeFilter.addEventListener("input", function () {
      var text = treeFilter.value.trim().toLowerCase();
      var shown = 0;
      // Deepest first, so that a folder knows whether anything inside it shows.
      for (var i = items.length - 1; i >= 0; i--) {
        var li = items[i];
        var path = (li.dataset.path || "").toLowerCase();
        var match;
        if (!text) match = true;
        else if (li.classList.contains("dir") && !li.classList.contains("folded")) match = !!li.querySelector("li:not([hidden])");
        else match = path.indexOf(text) !== -1;
        li.hidden = !match;
        if (match && li.classList.contains("file")) shown++;
      }
      details.forEach(function (d) { d.open = text ? !d.parentNode.hidden : d.dataset.initiallyOpen === "1"; });
      if (empty) empty.hidden = !text || shown > 0 || !!tree.querySelector("li.folded:not([hidden])");
    });
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
