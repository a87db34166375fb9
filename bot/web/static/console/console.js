/* Staff console: the live queue (/console/) and a conversation (/console/c/<id>).
 * Everything from shoppers, agents or the bot is put into the page with textContent, never as
 * HTML. State changes are POSTs carrying the session's CSRF token in X-CSRF-Token. Live updates
 * come from server-sent event streams (EventSource reconnects by itself). */
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) return;
  var csrf = root.dataset.csrf;
  var staffId = parseInt(root.dataset.staffId, 10);

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (r.status === 401) { window.location = "/staff/login?next=" + encodeURIComponent(location.pathname); }
        if (!r.ok) throw new Error(data.error || ("The server said " + r.status));
        return data;
      });
    });
  }
  function minutes(seconds) {
    if (seconds < 60) return "under 1 min";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
  }
  function when(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
  function liveStatus(source) {
    var status = document.getElementById("live-status");
    source.onopen = function () { status.textContent = "Live"; status.dataset.state = "live"; };
    source.onerror = function () { status.textContent = "Reconnecting\u2026"; status.dataset.state = "down"; };
    source.addEventListener("trouble", function (e) {
      status.textContent = JSON.parse(e.data).error; status.dataset.state = "trouble";
    });
  }

  var CHANNELS = { socketio: "website chat", rest: "REST API", chat: "chat" };

  // ---------------------------------------------------------------- queue page
  if (root.classList.contains("console-queue")) {
    var rows = document.getElementById("queue-rows");
    var filters = document.getElementById("filters");
    var stream = null;
    var received = 0;

    function renderQueue(data) {
      received = Date.now();
      clear(rows);
      if (!data.items.length) {
        var empty = el("tr", "empty");
        var td = el("td", null, "Nobody is waiting.");
        td.colSpan = 8;
        empty.appendChild(td);
        rows.appendChild(empty);
      }
      data.items.forEach(function (item) {
        var tr = el("tr");
        tr.dataset.id = item.id;
        tr.dataset.status = item.status;
        if (item.claimed_by === staffId) tr.classList.add("mine");
        var wait = el("td", "wait", minutes(item.waiting_seconds));
        wait.dataset.seconds = item.waiting_seconds;
        tr.appendChild(wait);
        tr.appendChild(el("td", null, item.shopper));
        tr.appendChild(el("td", "reason-" + item.reason, item.reason_label));
        tr.appendChild(el("td", "last", item.last_message));
        tr.appendChild(el("td", null, CHANNELS[item.channel] || item.channel));
        tr.appendChild(el("td", item.propensity_band ? "band band-" + item.propensity_band : null,
          item.propensity_band || ""));
        tr.appendChild(el("td", "status", item.status +
          (item.claimed_by_name ? " (" + item.claimed_by_name + ")" : "") + (item.paused ? " \u00b7 live" : "")));
        var open = el("td");
        var a = el("a", null, item.status === "open" ? "Open" : "View");
        a.href = "/console/c/" + encodeURIComponent(item.conversation_id);
        open.appendChild(a);
        tr.appendChild(open);
        rows.appendChild(tr);
      });
      document.getElementById("counts").textContent = data.total + " shown by this filter \u00b7 " +
        (data.counts.open || 0) + " open, " + (data.counts.claimed || 0) + " claimed";
      document.getElementById("available").textContent = data.available.length ?
        "Accepting chats now: " + data.available.join(", ") :
        "Nobody is accepting chats: shoppers are told when the team is back.";
    }

    function query() {
      var params = new URLSearchParams(new FormData(filters));
      return params.toString();
    }
    function connect() {
      if (stream) stream.close();
      var q = query();
      history.replaceState(null, "", "/console/" + (q ? "?" + q : ""));
      stream = new EventSource("/console/api/queue/stream?" + q);
      liveStatus(stream);
      stream.addEventListener("queue", function (e) { renderQueue(JSON.parse(e.data)); });
    }
    filters.addEventListener("change", connect);
    filters.addEventListener("submit", function (e) { e.preventDefault(); connect(); });
    document.getElementById("accepting").addEventListener("change", function (e) {
      post("/console/api/presence", { accepting: e.target.checked }).catch(function (err) {
        e.target.checked = !e.target.checked;
        alert(err.message);
      });
    });
    setInterval(function () {  // waiting times tick between updates
      if (!received) return;
      var extra = Math.floor((Date.now() - received) / 1000);
      rows.querySelectorAll("tr[data-status=open] td.wait, tr[data-status=claimed] td.wait").forEach(function (td) {
        td.textContent = minutes(parseInt(td.dataset.seconds, 10) + extra);
      });
    }, 15000);
    connect();
    return;
  }

  // ---------------------------------------------------------------- conversation page
  var conversation = root.dataset.conversation;
  var base = "/console/api/c/" + encodeURIComponent(conversation);
  var list = document.getElementById("transcript");
  var notice = document.getElementById("notice");
  var reply = document.getElementById("reply");
  var send = document.getElementById("send");
  var canned = document.getElementById("canned");
  var maxChars = parseInt(root.dataset.maxChars, 10) || 2000;
  var lastEvent = 0;
  var escalation = null;
  var intentOptions = document.getElementById("intents");

  function say(text, kind) {
    notice.hidden = !text;
    notice.textContent = text || "";
    notice.dataset.kind = kind || "error";
  }

  function chip(text, cls) { return el("span", "chip " + (cls || ""), text); }

  function reviewTools(m) {
    var box = el("div", "review");
    var ok = el("button", "small", "Understood");
    ok.type = "button";
    ok.title = "The bot understood this message";
    var wrong = el("select", "small");
    wrong.setAttribute("aria-label", "Correct intent");
    wrong.appendChild(new Option("Wrong intent \u2192", ""));
    if (intentOptions) {
      Array.prototype.forEach.call(intentOptions.content.querySelectorAll("option"), function (o) {
        wrong.appendChild(new Option(o.value, o.value));
      });
    }
    var need = el("button", "small", "Product need\u2026");
    need.type = "button";
    var done = el("span", "review-done");
    function submit(body) {
      body.conversation_id = conversation;
      body.event_id = m.event_id;
      post("/console/review/corrections", body).then(function () {
        done.textContent = "Saved for review";
        box.classList.add("reviewed");
      }).catch(function (err) { done.textContent = err.message; });
    }
    ok.addEventListener("click", function () { submit({ kind: "correct" }); });
    wrong.addEventListener("change", function () {
      if (wrong.value) submit({ kind: "intent", corrected_intent: wrong.value });
    });
    need.addEventListener("click", function () {
      if (box.querySelector("form")) return;
      var form = el("form", "need-form");
      var first = (m.needs && m.needs[0]) || {};
      ["product", "category", "colour", "size", "brand", "price_max"].forEach(function (field) {
        var label = el("label", null, field.replace("_", " ") + " ");
        var input = el("input");
        input.name = field;
        var v = first[field];
        input.value = Array.isArray(v) ? v.join(", ") : (v === null || v === undefined ? "" : v);
        label.appendChild(input);
        form.appendChild(label);
      });
      var go = el("button", "small", "Save need");
      go.type = "submit";
      form.appendChild(go);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var fields = {};
        new FormData(form).forEach(function (v, k) { if (String(v).trim()) fields[k] = String(v).trim(); });
        if (fields.price_max) fields.price_max = parseFloat(fields.price_max);
        ["colour", "size"].forEach(function (k) {
          if (fields[k] && fields[k].indexOf(",") >= 0) fields[k] = fields[k].split(/\s*,\s*/);
        });
        submit({ kind: "need", need: fields });
        form.remove();
      });
      box.appendChild(form);
    });
    box.append(ok, wrong, need, done);
    return box;
  }

  function renderMessage(m) {
    if (m.event_id <= lastEvent && list.querySelector('[data-event="' + m.event_id + '"]')) return;
    lastEvent = Math.max(lastEvent, m.event_id);
    var li = el("li", "msg msg-" + m.sender);
    li.dataset.event = m.event_id;
    if (m.low_confidence) li.classList.add("low");
    if (m.fallback) li.classList.add("fallback");
    var head = el("div", "meta");
    var who = { shopper: "Shopper", bot: "Bot", agent: m.agent_name || "Agent", system: "" }[m.sender];
    if (who) head.appendChild(el("strong", null, who));
    head.appendChild(el("time", null, when(m.at)));
    if (m.sender === "bot" && m.action) head.appendChild(chip(m.action, "action"));
    if (m.sender === "shopper" && m.intent) {
      head.appendChild(chip(m.intent.name + " " + m.intent.confidence.toFixed(2), "intent"));
      if (m.runner_up) head.appendChild(chip("runner-up " + m.runner_up.name + " " + m.runner_up.confidence.toFixed(2), "runner"));
    }
    if (m.fallback) head.appendChild(chip("fallback", "warn"));
    else if (m.low_confidence) head.appendChild(chip("low confidence", "warn"));
    li.appendChild(head);
    li.appendChild(el("p", "text", m.text));
    if (m.sender === "shopper") {
      var shown = {};
      (m.entities || []).forEach(function (e) {
        var label = e.entity + ": " + e.value;
        if (shown[label]) return;  // two extractors often find the same value
        shown[label] = true;
        li.appendChild(chip(label, "entity"));
      });
      (m.needs || []).forEach(function (n) {
        var bits = [n.product, n.category].concat(n.attributes || [], n.colour || [], n.size || []);
        li.appendChild(chip("need: " + bits.filter(Boolean).join(", "), "need"));
      });
      li.appendChild(reviewTools(m));
    }
    var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(li);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function renderState(state) {
    escalation = state.escalation;
    var ref = document.getElementById("esc-ref");
    var text = document.getElementById("esc-state");
    var mine = escalation && escalation.claimed_by === staffId;
    ref.textContent = escalation ? escalation.reference : "";
    if (!escalation) text.textContent = "No escalation";
    else {
      text.textContent = escalation.status + (escalation.claimed_by_name ? " by " + escalation.claimed_by_name : "") +
        (escalation.paused ? " \u00b7 bot paused, you are live" : " \u00b7 the bot is answering") +
        (escalation.outcome ? " \u00b7 outcome: " + escalation.outcome.replace("_", " ") : "");
    }
    var status = escalation ? escalation.status : "";
    var show = {
      "btn-takeover": status === "open" || (mine && status === "claimed" && !escalation.paused),
      "btn-handback": mine && status === "claimed" && escalation.paused,
      "btn-release": mine && status === "claimed",
      "btn-resolve": mine && status === "claimed",
      "btn-reopen": status === "resolved"
    };
    Object.keys(show).forEach(function (id) { document.getElementById(id).hidden = !show[id]; });
    document.querySelector("label.outcome").hidden = !show["btn-resolve"];
    var live = mine && status === "claimed" && escalation.paused;
    reply.disabled = send.disabled = !live;
    reply.placeholder = live ? "Type a reply (Enter sends, Shift+Enter for a new line)" :
      (status === "claimed" && !mine ? "Another agent has this conversation" : "Take over to reply");
    var pending = state.pending;
    if (pending && pending.count) {
      say(pending.count + " message(s) waiting for the chat server; they will be delivered as soon as it answers.", "warn");
    } else if (notice.dataset.kind === "warn") {
      say("");
    }
  }

  function renderPanel(data) {
    var p = data.panel;
    var shopper = document.getElementById("shopper");
    clear(shopper);
    shopper.appendChild(el("p", null, p.shopper + (p.email ? " \u00b7 " + p.email : "")));
    var prop = document.getElementById("propensity");
    clear(prop);
    if (p.propensity_band) {
      prop.appendChild(el("p", "band band-" + p.propensity_band, p.propensity_band +
        (p.propensity_score !== null ? " (" + Math.round(p.propensity_score * 100) + "%)" : "")));
      var reasons = el("ol", "reasons");
      p.propensity_reasons.forEach(function (r) { reasons.appendChild(el("li", null, r)); });
      prop.appendChild(reasons);
    } else {
      prop.appendChild(el("p", "muted", p.customer_id ? "No score" : "Guest: no score"));
    }
    function fill(id, items, line, none) {
      var ul = document.getElementById(id);
      clear(ul);
      if (!items.length) ul.appendChild(el("li", "muted", none));
      items.forEach(function (i) { ul.appendChild(el("li", null, line(i))); });
    }
    fill("orders", p.orders, function (o) { return o.number + " \u00b7 " + o.status + " \u00b7 " + o.total; },
      p.customer_id ? "No orders" : "Guest: orders are not shown");
    fill("needs", p.needs, function (n) {
      return [n.product, n.category, n.details].filter(Boolean).join(" \u00b7 ") + " (" + n.status + ")";
    }, "None captured");
    fill("earlier", p.earlier, function (e) {
      return e.reference + " \u00b7 " + e.reason_label + " \u00b7 " + e.status + (e.outcome ? " (" + e.outcome + ")" : "");
    }, "None");
    renderTags(data.tags);
    var notes = document.getElementById("notes");
    clear(notes);
    data.notes.forEach(addNote);
    clear(canned);
    canned.appendChild(new Option("Canned reply\u2026", ""));
    (data.canned || []).forEach(function (c) {
      var o = new Option(c.title, c.text);
      canned.appendChild(o);
    });
  }

  function renderTags(tags) {
    var ul = document.getElementById("tags");
    clear(ul);
    tags.forEach(function (t) {
      var li = el("li", "tag", t + " ");
      var x = el("button", "tag-x", "\u00d7");
      x.type = "button";
      x.setAttribute("aria-label", "Remove tag " + t);
      x.addEventListener("click", function () {
        post(base + "/tags/delete", { tag: t }).then(function (d) { renderTags(d.tags); })
          .catch(function (err) { say(err.message); });
      });
      li.appendChild(x);
      ul.appendChild(li);
    });
  }
  function addNote(n) {
    var li = el("li");
    li.appendChild(el("strong", null, n.author + " "));
    li.appendChild(el("time", null, when(n.created_at)));
    li.appendChild(el("p", null, n.text));
    document.getElementById("notes").appendChild(li);
  }

  function act(action, body) {
    if (!escalation) return Promise.resolve();
    say("");
    return post("/console/api/escalations/" + escalation.id + "/" + action, body)
      .then(function (d) {
        renderState({ escalation: d.escalation, pending: d.warning ? { count: 1 } : null });
        if (d.warning) say(d.warning, "warn");
        return d;
      })
      .catch(function (err) { say(err.message); throw err; });
  }
  document.getElementById("btn-takeover").addEventListener("click", function () { act("takeover"); });
  document.getElementById("btn-handback").addEventListener("click", function () { act("handback"); });
  document.getElementById("btn-release").addEventListener("click", function () { act("release"); });
  document.getElementById("btn-reopen").addEventListener("click", function () { act("reopen"); });
  document.getElementById("btn-resolve").addEventListener("click", function () {
    act("resolve", { outcome: document.getElementById("outcome").value });
  });

  var chars = document.getElementById("chars");
  function count() { chars.textContent = reply.value.length + " / " + maxChars; }
  reply.addEventListener("input", count);
  canned.addEventListener("change", function () {
    if (canned.value) { reply.value = canned.value; count(); reply.focus(); }
    canned.selectedIndex = 0;
  });
  function sendReply() {
    var text = reply.value.trim();
    if (!text || send.disabled) return;
    send.disabled = true;
    act("message", { text: text }).then(function () { reply.value = ""; count(); })
      .catch(function () { /* the notice says why; the text stays */ })
      .then(function () { send.disabled = reply.disabled; reply.focus(); });
  }
  document.getElementById("composer").addEventListener("submit", function (e) { e.preventDefault(); sendReply(); });
  reply.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendReply(); }
  });
  document.getElementById("tag-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var input = document.getElementById("tag-input");
    post(base + "/tags", { tag: input.value }).then(function (d) { renderTags(d.tags); input.value = ""; })
      .catch(function (err) { say(err.message); });
  });
  document.getElementById("note-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var input = document.getElementById("note-input");
    post(base + "/notes", { text: input.value }).then(function (d) { addNote(d.note); input.value = ""; })
      .catch(function (err) { say(err.message); });
  });

  function follow() {
    var source = new EventSource(base + "/stream?after=" + lastEvent);
    liveStatus(source);
    source.addEventListener("messages", function (e) { JSON.parse(e.data).messages.forEach(renderMessage); });
    source.addEventListener("state", function (e) { renderState(JSON.parse(e.data)); });
    source.onerror = function () {  // reconnect from the newest event we have, not the first one
      document.getElementById("live-status").textContent = "Reconnecting\u2026";
      source.close();
      setTimeout(follow, 2000);
    };
  }

  fetch(base, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) {
      if (r.status === 401) { window.location = "/staff/login?next=" + encodeURIComponent(location.pathname); }
      if (!r.ok) throw new Error("Could not load the conversation (" + r.status + ")");
      return r.json();
    })
    .then(function (data) {
      data.messages.forEach(renderMessage);
      list.scrollTop = list.scrollHeight;
      renderState(data);
      renderPanel(data);
      follow();
    })
    .catch(function (err) { say(err.message); });
})();
