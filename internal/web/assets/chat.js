// Enhances the chat page: sends without a page reload and shows answers that
// arrive later (from a therapist). Without JavaScript the forms still work.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("compose");
  var box = document.getElementById("question");
  var status = document.getElementById("status");
  if (!log || !form || !window.fetch) return;
  var seen = {};
  Array.prototype.forEach.call(log.querySelectorAll("li[data-id]"), function (li) { seen[li.getAttribute("data-id")] = true; });

  function who(from) { return from === "asker" ? "You" : from === "therapist" ? "Therapist" : "Candid"; }

  function render(m) {
    var intro = log.querySelector(".intro");
    if (intro) intro.remove();
    var li = document.createElement("li");
    li.className = "msg from-" + (m.from || "candid") + " kind-" + (m.kind || "");
    if (m.id) li.setAttribute("data-id", m.id);
    var w = document.createElement("span"); w.className = "who"; w.textContent = who(m.from); li.appendChild(w);
    var body = document.createElement("div"); body.className = "body";
    // The server renders the Markdown subset to safe HTML (escaped text, http(s) links only).
    body.innerHTML = m.html || "";
    if (!m.html) body.textContent = m.text;
    li.appendChild(body);
    if (m.buttons && m.buttons.length) {
      var bs = document.createElement("div"); bs.className = "buttons";
      m.buttons.forEach(function (b) {
        var btn = document.createElement("button"); btn.type = "button"; btn.textContent = b.label;
        btn.setAttribute("data-action", b.action);
        btn.addEventListener("click", function () { send("/api/v1/chat/actions", { action: b.action }, b.label); });
        bs.appendChild(btn);
      });
      li.appendChild(bs);
    }
    log.appendChild(li);
    if (m.kind === "crisis") {
      // Help for a danger is announced at once and takes the focus, so a
      // screen reader reads it and the numbers are in view.
      body.setAttribute("role", "alert");
      li.setAttribute("tabindex", "-1");
      li.scrollIntoView({ block: "start" });
      li.focus({ preventScroll: true });
    } else {
      li.scrollIntoView({ block: "nearest" });
    }
    return li;
  }

  // A message that was not accepted is never lost: its bubble says so and
  // offers to send it again, and typed text goes back into the box.
  function notSent(bubble, msg, retry) {
    status.textContent = msg;
    if (!bubble) return;
    bubble.classList.add("not-sent");
    var note = document.createElement("div"); note.className = "not-sent-note";
    note.appendChild(document.createTextNode("Not sent. "));
    var again = document.createElement("button"); again.type = "button"; again.textContent = "Retry";
    again.addEventListener("click", function () { bubble.remove(); retry(); });
    note.appendChild(again);
    bubble.appendChild(note);
  }

  function send(url, payload, echo, restore) {
    status.textContent = "Sending…";
    var bubble = echo ? render({ from: "asker", text: echo, html: "" }) : null;
    var retry = function () { send(url, payload, echo, restore); };
    var fail = function (msg) {
      notSent(bubble, msg, retry);
      if (restore && !box.value) box.value = restore;
    };
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (!res.ok) { fail((res.body.error && res.body.error.message) || "Something went wrong, and your message was not sent."); return; }
        status.textContent = "";
        if (payload.action === "forget") { log.innerHTML = ""; seen = {}; }
        res.body.replies.forEach(render);
        poll();
      })
      .catch(function () { fail("Could not reach the service, and your message was not sent. Check your connection and press Retry."); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = box.value.trim();
    if (!text) { status.textContent = "Type a question first."; box.focus(); return; }
    box.value = "";
    send("/api/v1/chat/messages", { text: text }, text, text);
  });

  // Forget me asks first: it deletes the whole conversation and any
  // question waiting for a therapist, and cannot be undone.
  var forgetText = "Delete this whole conversation, and any question still waiting for a therapist? This cannot be undone.";
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("button");
    if (!btn) return;
    var f = btn.form;
    var isForget = (f && f.querySelector('input[name="action"][value="forget"]')) || btn.getAttribute("data-action") === "forget";
    if (isForget && !window.confirm(forgetText)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);

  // Quick exit: leave for a neutral page at once (Esc twice, or the button),
  // replacing this page in the history so Back does not return to it.
  var exit = document.getElementById("quick-exit");
  function leave(e) {
    if (e) e.preventDefault();
    log.innerHTML = "";
    box.value = "";
    window.location.replace(exit ? exit.href : "https://www.bbc.co.uk/weather");
  }
  if (exit) exit.addEventListener("click", leave);
  var lastEsc = 0;
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var now = Date.now();
    if (now - lastEsc < 800) leave();
    lastEsc = now;
  });
  box.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.submit(); }
  });

  // Answers from therapists arrive later: poll the history and add what is new.
  var timer;
  function poll() {
    clearTimeout(timer);
    fetch("/api/v1/chat/messages", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        (j.messages || []).forEach(function (m) {
          if (seen[m.id]) return;
          seen[m.id] = true;
          if (m.from === "therapist") render(m);
        });
      })
      .catch(function () {})
      .then(function () { timer = setTimeout(poll, 5000); });
  }
  poll();
})();
