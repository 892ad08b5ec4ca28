// Candid console: progressive enhancement only. Every form works without
// this file; it adds the live queue count, the live answer preview and
// confirmations. It is served as a file so the CSP needs no 'unsafe-inline'.
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function all(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }
  function setText(key, value) {
    all('[data-live="' + key + '"]').forEach(function (el) { el.textContent = String(value); });
  }

  // Live queue counts over Server-Sent Events.
  if (csrf && window.EventSource && document.querySelector("[data-live]")) {
    var first = null;
    var lastUrgent = 0;
    var es = new EventSource("/console/events");
    es.addEventListener("stats", function (ev) {
      var s;
      try { s = JSON.parse(ev.data); } catch (e) { return; }
      setText("open", s.open);
      setText("claimed", s.claimed);
      setText("urgent", s.urgent);
      setText("concern", s.concern || 0);
      setText("oldest", s.oldest_age);
      setText("undelivered", s.undelivered);
      all('[data-live="open"].badge').forEach(function (el) { el.setAttribute("aria-label", s.open + " open"); });
      all('[data-live="urgent-badge"]').forEach(function (el) {
        el.textContent = s.urgent + " urgent";
        el.hidden = !s.urgent;
      });
      all('[data-live="urgent-box"]').forEach(function (el) { el.classList.toggle("is-urgent", s.urgent > 0); });
      all('[data-live="concern-box"]').forEach(function (el) { el.classList.toggle("is-concern", s.concern > 0); });
      all('[data-live="undelivered-box"]').forEach(function (el) { el.classList.toggle("is-warn", s.undelivered > 0); });
      // The tab says how many urgent tickets wait, so a moderator on another
      // tab sees one arrive; a rise is announced assertively (no question
      // text, only the count).
      var t = document.querySelector("title[data-base]");
      if (t) { document.title = (s.urgent ? "(" + s.urgent + " urgent) " : "") + t.getAttribute("data-base"); }
      if (first !== null && s.urgent > lastUrgent) {
        all('[data-live="urgent-alert"]').forEach(function (el) {
          el.textContent = "New urgent question: " + s.urgent + " urgent waiting.";
        });
      }
      lastUrgent = s.urgent;
      var key = s.open + "/" + s.claimed + "/" + s.urgent + "/" + (s.concern || 0) + "/" + s.undelivered;
      if (first === null) { first = key; return; }
      if (key !== first) {
        all('[data-live="changed"]').forEach(function (el) {
          if (el.firstChild) { return; }
          el.appendChild(document.createTextNode("The queue has changed. "));
          var a = document.createElement("a");
          a.href = window.location.pathname;
          a.textContent = "Reload the list";
          el.appendChild(a);
        });
      }
    });
    es.onerror = function () {
      // The browser reconnects by itself; stop only if the session ended.
      if (es.readyState === EventSource.CLOSED) { es.close(); }
    };
  }

  // Live preview of exactly what the asker will see.
  all("textarea[data-preview]").forEach(function (ta) {
    var out = document.getElementById(ta.getAttribute("data-preview"));
    var booking = document.getElementById("answer-booking");
    if (!out || !window.fetch) { return; }
    var timer = null, seq = 0;
    function placeholder(text) {
      out.textContent = "";
      var span = document.createElement("span");
      span.className = "muted";
      span.textContent = text;
      out.appendChild(span);
    }
    function update() {
      var text = ta.value;
      var wantBooking = booking ? booking.checked : false;
      if (!text.trim() && !wantBooking) { placeholder("Type an answer, or press Preview."); return; }
      var mine = ++seq;
      fetch("/api/v1/preview", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ text: text, booking: wantBooking })
      }).then(function (res) {
        return res.json().then(function (body) { return { ok: res.ok, body: body }; });
      }).then(function (r) {
        if (mine !== seq) { return; }
        if (r.ok) { out.innerHTML = r.body.html; } // html comes from our own escaping renderer (internal/markup)
        else { placeholder("Preview unavailable: " + (r.body.error ? r.body.error.message : "error")); }
      }).catch(function () {
        if (mine === seq) { placeholder("Preview unavailable: check your connection."); }
      });
    }
    function schedule() { clearTimeout(timer); timer = setTimeout(update, 350); }
    ta.addEventListener("input", schedule);
    if (booking) { booking.addEventListener("change", update); }
  });

  // "Copy the draft into my answer": the draft is never sent as is; the
  // moderator edits it in the answer box and sends it themselves.
  all("[data-copy-draft]").forEach(function (btn) {
    var src = document.getElementById(btn.getAttribute("data-copy-draft"));
    var ta = document.getElementById("answer-text");
    if (!src || !ta) { return; }
    btn.hidden = false;
    btn.addEventListener("click", function () {
      ta.value = src.textContent;
      ta.focus();
      ta.dispatchEvent(new Event("input"));
    });
  });

  // Answering from the keyboard: after Claim the answer box has the focus,
  // and Ctrl+Enter (Cmd+Enter on a Mac) sends it.
  var answer = document.getElementById("answer-text");
  if (answer) {
    if (/[?&]done=claimed\b/.test(window.location.search)) { answer.focus(); }
    answer.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && answer.form) {
        ev.preventDefault();
        if (answer.form.requestSubmit) { answer.form.requestSubmit(document.getElementById("send-answer")); } else { answer.form.submit(); }
      }
    });
  }

  // Confirm destructive actions.
  all("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
    });
  });
})();
