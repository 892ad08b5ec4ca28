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
        btn.addEventListener("click", function () { send("/api/v1/chat/actions", { action: b.action }, b.label); });
        bs.appendChild(btn);
      });
      li.appendChild(bs);
    }
    log.appendChild(li);
    li.scrollIntoView({ block: "nearest" });
  }

  function send(url, payload, echo) {
    status.textContent = "Sending…";
    if (echo) render({ from: "asker", text: echo, html: "" });
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (!res.ok) { status.textContent = (res.body.error && res.body.error.message) || "Something went wrong."; return; }
        status.textContent = "";
        res.body.replies.forEach(render);
        if (payload.action === "forget") { log.innerHTML = ""; seen = {}; }
        poll();
      })
      .catch(function () { status.textContent = "Could not reach the service. Check your connection and try again."; });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = box.value.trim();
    if (!text) { status.textContent = "Type a question first."; box.focus(); return; }
    box.value = "";
    send("/api/v1/chat/messages", { text: text }, text);
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
