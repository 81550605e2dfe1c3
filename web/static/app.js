// dumptriage: the little the pages need from JavaScript. Every page works
// without it; this adds upload progress, live status, copy link, table
// sorting and expand/collapse all.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function bytes(n) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(n >= 100 ? 0 : 1)) + " " + u[i];
  }

  // Copy link.
  function copy(text, btn) {
    function done() {
      var old = btn.textContent;
      btn.textContent = "Copied";
      btn.classList.add("copied");
      setTimeout(function () { btn.textContent = old; btn.classList.remove("copied"); }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(); });
    } else {
      fallback();
    }
    function fallback() {
      var t = el("textarea");
      t.value = text;
      t.style.position = "fixed";
      t.style.opacity = "0";
      document.body.appendChild(t);
      t.select();
      try { document.execCommand("copy"); } catch (e) { /* the URL stays selectable in its box */ }
      document.body.removeChild(t);
      done();
    }
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-copy]");
    if (b) { copy(b.getAttribute("data-copy"), b); return; }
    var x = ev.target.closest("[data-expand],[data-collapse]");
    if (x) {
      var open = x.hasAttribute("data-expand");
      $all("details.thread").forEach(function (d) { d.open = open; });
      return;
    }
    var th = ev.target.closest("table.sortable th[data-sort]");
    if (th) sortBy(th);
  });

  // Sortable tables: numbers by data-v or text, hex as numbers, text by locale.
  function key(td, kind) {
    var v = td ? (td.getAttribute("data-v") || td.textContent).trim() : "";
    if (kind === "num") return parseFloat(v.replace(/,/g, "")) || 0;
    if (kind === "hex") return v.replace(/`/g, "").replace(/^0x/, "").padStart(16, "0");
    return v.toLowerCase();
  }
  function sortBy(th) {
    var table = th.closest("table"), tbody = table.tBodies[0];
    var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
    var kind = th.getAttribute("data-sort");
    var asc = !th.classList.contains("asc");
    $all("th", th.parentNode).forEach(function (h) { h.classList.remove("asc", "desc"); h.removeAttribute("aria-sort"); });
    th.classList.add(asc ? "asc" : "desc");
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(tbody.rows);
    var keyed = rows.map(function (r) { return [key(r.cells[idx], kind), r]; });
    keyed.sort(function (a, b) { return (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) * (asc ? 1 : -1); });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k[1]); });
    tbody.appendChild(frag);
  }

  // Sortable headers get a button each, so the keyboard can sort too.
  $all("table.sortable th[data-sort]").forEach(function (th) {
    if (th.querySelector("button")) return;
    var b = el("button", { type: "button", "class": "sort" });
    while (th.firstChild) b.appendChild(th.firstChild);
    th.appendChild(b);
  });

  // A table too wide for its box scrolls inside a box of its own, and a
  // box that scrolls (.table-scroll, .table-box, .scroll-x, .scroll, pre) takes focus
  // so the keyboard can scroll it; checked again when the window is
  // resized.
  function label(box) {
    var sec = box.closest("section, details, .card"), h = sec && sec.querySelector("h2, summary, h3");
    var t = (h || $("h1") || document.body).textContent.replace(/\s+/g, " ").trim();
    return (t ? t + ": " : "") + (box.tagName === "PRE" ? "text" : "table") + ", scrolls sideways";
  }
  function fitWide() {
    $all("main table").forEach(function (t) {
      var p = t.parentElement;
      if (/auto|scroll/.test(getComputedStyle(p).overflowX) || p.closest(".scroll") || p.closest("table")) return;
      if (t.scrollWidth <= p.clientWidth + 1 && t.getBoundingClientRect().right <= document.documentElement.clientWidth) return;
      var box = el("div", { "class": "table-scroll" });
      p.insertBefore(box, t);
      box.appendChild(t);
    });
    $all("main .table-scroll, main .table-box, main .scroll-x, main .scroll, main pre").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", label(box));
      } else if (!scrolls && box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  fitWide();
  var resizing;
  window.addEventListener("resize", function () { clearTimeout(resizing); resizing = setTimeout(fitWide, 150); });
  // A details element opened shows tables that were not laid out before.
  document.addEventListener("toggle", function (ev) { if (ev.target.open) fitWide(); }, true);

  // Live status of a report page still being analysed.
  var head = $(".report-head[data-status]");
  if (head) {
    var st = head.getAttribute("data-status");
    if ((st === "queued" || st === "analyzing") && head.hasAttribute("data-shared")) {
      // A share link has no status API: reload until the analysis ends.
      setTimeout(function () { location.reload(); }, 3000);
    } else if (st === "queued" || st === "analyzing") {
      var id = head.getAttribute("data-dump-id");
      var badge = $("#live-status");
      var tick = function () {
        fetchStatus(id, function (j) {
          if (!j) { setTimeout(tick, 3000); return; }
          if (j.status === "done" || j.status === "failed") { location.reload(); return; }
          if (badge) { badge.textContent = j.status; badge.className = "badge status-" + j.status; }
          setTimeout(tick, 1000);
        });
      };
      setTimeout(tick, 1000);
    }
  }

  function fetchStatus(id, cb) {
    var x = new XMLHttpRequest();
    x.open("GET", "/dumps/" + encodeURIComponent(id) + "/status");
    x.onload = function () {
      try { cb(x.status === 200 ? JSON.parse(x.responseText) : null); } catch (e) { cb(null); }
    };
    x.onerror = function () { cb(null); };
    x.send();
  }

  // Symbols: dropping files on the zone submits the page's form (a build
  // folder's zip is one file).
  var symForm = $("#symbol-form");
  if (symForm) {
    var symInput = $("#symbol-input"), symZone = $("#symbol-dropzone");
    symInput.addEventListener("change", function () { if (symInput.files.length) symForm.submit(); });
    ["dragenter", "dragover"].forEach(function (t) {
      symZone.addEventListener(t, function (ev) { ev.preventDefault(); symZone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      symZone.addEventListener(t, function (ev) { ev.preventDefault(); symZone.classList.remove("over"); });
    });
    symZone.addEventListener("drop", function (ev) {
      if (!ev.dataTransfer.files.length) return;
      symInput.files = ev.dataTransfer.files;
      symForm.submit();
    });
  }

  // Upload: each file goes to POST /api/dumps as the raw body, so the
  // browser streams it from disk and the server never buffers it; XHR (not
  // fetch) reports upload progress.
  var form = $("#upload-form");
  if (!form) return;
  var input = $("#file-input"), zone = $("#dropzone"), table = $("#uploads"), tbody = table.tBodies[0];
  var queue = [], running = 0, MAX = 2;

  form.addEventListener("submit", function (ev) { ev.preventDefault(); add(input.files); });
  input.addEventListener("change", function () { add(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach(function (t) {
    zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (ev) { add(ev.dataTransfer.files); });

  function add(files) {
    if (!files || !files.length) return;
    table.hidden = false;
    for (var i = 0; i < files.length; i++) {
      var f = files[i];
      var tr = el("tr", { "data-testid": "upload-row" });
      tr.appendChild(el("td", { "class": "mono" }, f.name));
      tr.appendChild(el("td", { "class": "num" }, bytes(f.size)));
      var pc = el("td");
      var bar = el("div", { "class": "bar", "data-testid": "upload-progress" });
      var fill = el("div");
      bar.appendChild(fill);
      var pct = el("span", { "class": "small muted", "data-testid": "upload-percent" }, "waiting");
      pc.appendChild(pct);
      pc.appendChild(bar);
      tr.appendChild(pc);
      var status = el("td", { "data-testid": "upload-status" });
      var badge = el("span", { "class": "badge status-queued" }, "waiting");
      status.appendChild(badge);
      var note = el("span", { "class": "small muted" });
      status.appendChild(note);
      tr.appendChild(status);
      var link = el("td");
      tr.appendChild(link);
      tbody.appendChild(tr);
      queue.push({ file: f, fill: fill, bar: bar, pct: pct, badge: badge, note: note, link: link });
    }
    pump();
  }

  function pump() {
    while (running < MAX && queue.length) { running++; send(queue.shift()); }
  }

  function setBadge(u, status, text) {
    u.badge.className = "badge status-" + status;
    u.badge.textContent = text || status;
  }

  function send(u) {
    var x = new XMLHttpRequest();
    x.open("POST", "/api/dumps?name=" + encodeURIComponent(u.file.name));
    x.setRequestHeader("Content-Type", "application/octet-stream");
    var csrf = document.querySelector('meta[name="csrf-token"]');
    if (csrf) x.setRequestHeader("X-CSRF-Token", csrf.getAttribute("content"));
    setBadge(u, "analyzing", "uploading");
    u.pct.textContent = "sending";
    var started = Date.now();
    x.upload.onprogress = function (ev) {
      if (!ev.lengthComputable) return;
      var p = ev.loaded / ev.total * 100;
      u.fill.style.width = p.toFixed(1) + "%";
      var secs = (Date.now() - started) / 1000;
      u.pct.textContent = p.toFixed(0) + "% · " + bytes(ev.loaded) + (secs > 1 ? " · " + bytes(ev.loaded / secs) + "/s" : "");
    };
    x.onload = function () {
      running--; pump();
      var j = null;
      try { j = JSON.parse(x.responseText); } catch (e) { /* not JSON */ }
      if (x.status !== 201 || !j) {
        u.bar.classList.add("failed");
        u.fill.style.width = "100%";
        u.pct.textContent = "not stored";
        setBadge(u, "failed", "rejected");
        u.note.textContent = " " + ((j && j.error) || ("HTTP " + x.status));
        return;
      }
      u.fill.style.width = "100%";
      u.bar.classList.add("done");
      u.pct.textContent = "uploaded · " + bytes(u.file.size);
      var a = el("a", { href: j.url, "data-testid": "upload-report-link" }, j.duplicate ? "Open the existing report" : "Open report");
      u.link.appendChild(a);
      if (j.duplicate) u.note.textContent = " already uploaded: same bytes as an earlier dump";
      follow(u, j.id, j.status);
    };
    x.onerror = function () {
      running--; pump();
      u.bar.classList.add("failed");
      u.pct.textContent = "not stored";
      setBadge(u, "failed", "upload failed");
      u.note.textContent = " the connection broke";
    };
    x.send(u.file);
  }

  // Live status until the analysis ends.
  function follow(u, id, status) {
    setBadge(u, status);
    if (status === "done" || status === "failed") {
      if (status === "failed") fetchStatus(id, function (j) { if (j && j.error) u.note.textContent = " " + j.error; });
      return;
    }
    setTimeout(function () {
      fetchStatus(id, function (j) { follow(u, id, j ? j.status : status); });
    }, 700);
  }
})();

// Forms that ask before they act (delete).
document.addEventListener("submit", function (ev) {
  var msg = ev.target && ev.target.getAttribute && ev.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) ev.preventDefault();
});
