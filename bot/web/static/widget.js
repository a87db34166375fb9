/* Shop assistant chat widget. One script tag embeds it (the served bundle starts with
 * socket.io-client, which defines `io`):
 *   <script src="https://shop.example/widget/widget.js" defer
 *     data-server="https://bot.example" data-title="Help" data-colour="#1f6feb"
 *     data-greeting="Hi!" data-token-url="/api/identity" data-customer="42"></script>
 * data-customer names the signed-in shopper (empty: a guest); it is not a credential. For a
 * signed-in shopper the widget asks data-token-url for a short-lived token bound to its own chat
 * session once the session is confirmed, renews it before it expires, and sends it with each
 * message; the chat server verifies it and never stores it.
 * Everything the bot, an agent or the shopper says is put into the page as text nodes; only
 * http(s) links become <a> elements. Messages from a support agent (the staff console) arrive
 * as {"type": "agent_message", ...} payloads: each id is shown once and acknowledged
 * (`agent_seen`); after a resolved conversation a `rating_request` offers 1-5 and the choice is
 * sent as `satisfaction`. A payload of kind "notice" comes from the shop itself (back in stock)
 * and is drawn as the assistant's bubble, shown once and acknowledged the same way.
 * See docs/widget.md for the config and the message formats. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.shopChat) return;
  var d = script.dataset;
  var cfg = {
    server: (d.server || "").replace(/\/+$/, ""),
    path: d.socketPath || "/socket.io",
    title: d.title || "Chat",
    colour: d.colour || "",
    greeting: d.greeting || "",
    customer: d.customer || "",
    tokenUrl: d.tokenUrl || "",
    maxChars: parseInt(d.maxChars, 10) || 1000
  };
  var KEY = "shopchat:" + cfg.server;
  var MAX_HISTORY = 200;
  var MAX_AGENT_IDS = 500;
  var AGENT_KINDS = { text: 1, joined: 1, handed_back: 1, resolved: 1 };
  var TYPING_MS = 20000;
  var tabId = Math.random().toString(36).slice(2);
  var api = (window.shopChat = { ready: false, readyAt: null });

  // ---- state kept in localStorage: same conversation across reloads and shop pages ----
  function load() {
    try {
      var s = JSON.parse(localStorage.getItem(KEY));
      if (s && Array.isArray(s.msgs) && Array.isArray(s.queue)) {
        if (!Array.isArray(s.agentIds)) s.agentIds = [];
        return s;
      }
    } catch (e) { /* corrupt or blocked storage: start afresh */ }
    return { sid: null, msgs: [], queue: [], open: false, unread: 0, who: null, owner: null,
             agentIds: [] };
  }
  var state = load();
  function save() {
    if (state.msgs.length > MAX_HISTORY) state.msgs = state.msgs.slice(-MAX_HISTORY);
    if (state.agentIds.length > MAX_AGENT_IDS) state.agentIds = state.agentIds.slice(-MAX_AGENT_IDS);
    try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* quota: keep in memory */ }
  }
  function uid() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 8); }

  // A different signed-in shopper (or signing out) must not see the previous one's conversation.
  var who = cfg.customer || null;
  if (state.who && state.who !== who) {
    state = { sid: null, msgs: [], queue: [], open: state.open, unread: 0, who: who, owner: null,
              agentIds: [] };
  }
  state.who = who || state.who;
  save();

  // ---- DOM ----
  function el(tag, cls, attrs) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  var css = el("link", null, { rel: "stylesheet", href: new URL("widget.css", script.src).href });
  document.head.appendChild(css);
  var root = el("div", "sc-root", { "data-state": "loading" });
  if (cfg.colour) root.style.setProperty("--sc-accent", cfg.colour);
  var launcher = el("button", "sc-launcher", {
    type: "button", "aria-expanded": "false", "aria-controls": "sc-panel"
  });
  var launchIcon = el("span", "sc-launch-icon", { "aria-hidden": "true" });
  var badge = el("span", "sc-badge", { "aria-hidden": "true" });
  badge.hidden = true;
  launcher.append(launchIcon, badge);
  var panel = el("section", "sc-panel", { id: "sc-panel", role: "dialog", "aria-label": cfg.title });
  panel.hidden = true;
  var head = el("header", "sc-head");
  var h = el("h2", "sc-title");
  h.textContent = cfg.title;
  var closeBtn = el("button", "sc-close", { type: "button", "aria-label": "Close chat" });
  closeBtn.textContent = "\u00d7";
  head.append(h, closeBtn);
  var status = el("div", "sc-status", { role: "status" });
  var log = el("ol", "sc-log", { role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  var typing = el("div", "sc-typing", { "aria-hidden": "true" });
  typing.append(el("span"), el("span"), el("span"));
  typing.hidden = true;
  var form = el("form", "sc-form");
  var label = el("label", "sc-vh", { for: "sc-input" });
  label.textContent = "Type your message";
  var input = el("input", "sc-input", {
    id: "sc-input", type: "text", autocomplete: "off", maxlength: String(cfg.maxChars),
    placeholder: "Type a message\u2026"
  });
  var sendBtn = el("button", "sc-send", { type: "submit" });
  sendBtn.textContent = "Send";
  form.append(label, input, sendBtn);
  panel.append(head, status, log, typing, form);
  root.append(panel, launcher);

  // ---- rendering: text nodes only; links only for http(s) URLs ----
  function safeUrl(u) {
    if (typeof u !== "string" || !u) return null;
    try {
      var x = new URL(u, location.href);
      return x.protocol === "https:" || x.protocol === "http:" ? x.href : null;
    } catch (e) { return null; }
  }
  // Product cards point at the shop that serves this script (it may be embedded on another
  // site): a path ("/p/<slug>", "/images/products/<slug>.svg") resolves against the script's
  // origin, never the page's. An image is such a path or an http(s) URL on the shop's origin
  // or one of data-image-origins (the storefront's CSP img-src lists the same); nothing else.
  var shopOrigin = (function () { try { return new URL(script.src).origin; } catch (e) { return null; } })();
  var imageOrigins = (d.imageOrigins || "").split(/[\s,]+/).map(function (o) {
    try { return o ? new URL(o).origin : null; } catch (e) { return null; }
  }).filter(function (o) { return o && o !== "null"; });
  function shopPath(u) {
    if (!shopOrigin || typeof u !== "string" || !/^\/(?![\/\\])/.test(u)) return null;
    try {
      var x = new URL(u, shopOrigin);
      return x.origin === shopOrigin ? x.href : null;
    } catch (e) { return null; }
  }
  function safeImage(u) {
    if (typeof u !== "string" || !u) return null;
    if (u.charAt(0) === "/") return shopPath(u);
    if (!/^https?:\/\//i.test(u)) return null;
    try {
      var x = new URL(u);
      return x.origin === shopOrigin || imageOrigins.indexOf(x.origin) >= 0 ? x.href : null;
    } catch (e) { return null; }
  }
  function cardUrl(u) {
    return typeof u === "string" && u.charAt(0) === "/" ? shopPath(u) : safeUrl(u);
  }
  function link(url, text) {
    var a = el("a", null, { href: url, target: "_blank", rel: "noopener noreferrer nofollow" });
    a.textContent = text;
    return a;
  }
  var LINKS = /\[([^\]\n]{1,200})\]\(([^\s)]{1,2000})\)|(https?:\/\/[^\s<>"']{1,2000})/g;
  function richText(parent, text) {
    var last = 0, m;
    LINKS.lastIndex = 0;
    while ((m = LINKS.exec(text))) {
      if (m.index > last) parent.append(text.slice(last, m.index));
      var url = m[2] || m[3], shown = m[1] || m[3], tail = "";
      if (m[3]) {
        var t = /[.,!?;:)]+$/.exec(url);
        if (t) { tail = t[0]; url = url.slice(0, -tail.length); shown = url; }
      }
      var safe = safeUrl(url);
      parent.append(safe ? link(safe, shown) : m[0].slice(0, m[0].length - tail.length));
      if (tail) parent.append(tail);
      last = LINKS.lastIndex;
    }
    if (last < text.length) parent.append(text.slice(last));
  }
  function price(p, cur) {
    var n = Number(p);
    if (!isFinite(n)) return String(p == null ? "" : p);
    try { return new Intl.NumberFormat(undefined, { style: "currency", currency: cur || "GBP" }).format(n); }
    catch (e) { return n.toFixed(2) + " " + String(cur || ""); }
  }
  function cards(products) {
    var ul = el("ul", "sc-cards");
    products.slice(0, 10).forEach(function (p) {
      if (!p || typeof p !== "object") return;
      var li = el("li", "sc-card");
      var img = el("div", "sc-img", { "aria-hidden": "true" });
      var initial = String(p.name || "?").charAt(0).toUpperCase();
      var src = safeImage(p.image);
      if (src) {
        var pic = el("img", null, { src: src, alt: "", loading: "lazy" });
        pic.addEventListener("error", function () { pic.remove(); img.textContent = initial; });
        img.append(pic);
      } else img.textContent = initial;
      var name = el("span", "sc-card-name");
      name.textContent = String(p.name || "");
      var url = cardUrl(p.url);
      var nameLink = url ? link(url, "") : null;
      if (nameLink) { nameLink.removeAttribute("target"); nameLink.append(name); }
      var pr = el("span", "sc-price");
      pr.textContent = price(p.price, p.currency);
      li.append(img, nameLink || name, pr);
      ul.append(li);
    });
    return ul;
  }
  // A support agent's message: the agent's name over the bubble ("Sam · Support").
  function renderAgent(m) {
    var li = el("li", "sc-msg sc-agent");
    var hidden = el("span", "sc-vh");
    hidden.textContent = (m.name || "Support") + " from support: ";
    var who = el("span", "sc-agent-name", { "aria-hidden": "true" });
    who.textContent = m.name && m.name !== "Support" ? m.name + " \u00b7 Support" : "Support";
    var b = el("div", "sc-bubble");
    richText(b, String(m.text || ""));
    li.append(hidden, who, b);
    return li;
  }
  // "Sam from support has joined the chat." and the like: a centred line, not a bubble.
  function renderSystem(m) {
    var li = el("li", "sc-msg sc-system");
    var line = el("p", "sc-system-line");
    line.textContent = String(m.text || "");
    li.append(line);
    return li;
  }
  // How did we do? 1-5, then "Thanks for rating us N/5".
  function renderRating(m) {
    var li = el("li", "sc-msg sc-rating");
    if (m.rated) {
      var thanks = el("p", "sc-system-line");
      thanks.textContent = "Thanks for rating us " + m.rated + "/5";
      li.append(thanks);
      return li;
    }
    var g = el("div", "sc-stars", { role: "group", "aria-label": "Rate this conversation from 1 (poor) to 5 (great)" });
    for (var n = 1; n <= 5; n++) {
      var btn = el("button", "sc-star", { type: "button", "aria-label": "Rate " + n + " out of 5" });
      btn.textContent = String(n);
      btn.addEventListener("click", rate.bind(null, m.id, n));
      g.append(btn);
    }
    li.append(g);
    return li;
  }
  function renderMsg(m, isLast) {
    var li = m.from === "agent" ? renderAgent(m) : m.from === "system" ? renderSystem(m)
      : m.from === "rating" ? renderRating(m) : renderBubble(m, isLast);
    li.dataset.id = m.id;
    return li;
  }
  function renderBubble(m, isLast) {
    var li = el("li", "sc-msg sc-" + (m.from === "user" ? "user" : "bot"));
    var hidden = el("span", "sc-vh");
    hidden.textContent = m.from === "user" ? "You: " : cfg.title + ": ";
    li.append(hidden);
    if (m.text) {
      var b = el("div", "sc-bubble");
      richText(b, String(m.text));
      li.append(b);
    }
    if (m.cards && m.cards.length) li.append(cards(m.cards));
    if (m.pending) li.classList.add("sc-pending");
    if (isLast && m.from !== "user" && m.qr && m.qr.length) {
      var g = el("div", "sc-replies", { role: "group", "aria-label": "Suggested replies" });
      m.qr.slice(0, 12).forEach(function (q) {
        var btn = el("button", "sc-reply", { type: "button" });
        btn.textContent = String(q.title || q.payload || "");
        btn.addEventListener("click", function () { send(String(q.payload || q.title || ""), btn.textContent); });
        g.append(btn);
      });
      li.append(g);
    }
    return li;
  }
  function renderAll() {
    log.textContent = "";
    state.msgs.forEach(function (m, i) { log.append(renderMsg(m, i === state.msgs.length - 1)); });
    log.scrollTop = log.scrollHeight;
  }
  function append(m) {
    var prev = log.lastElementChild;
    var replies = prev && prev.querySelector(".sc-replies");
    if (replies) replies.remove();
    state.msgs.push(m);
    save();
    log.append(renderMsg(m, true));
    log.scrollTop = log.scrollHeight;
  }
  function updateBadge() {
    var n = state.open ? 0 : state.unread;
    badge.hidden = !n;
    badge.textContent = n > 9 ? "9+" : String(n);
    launcher.setAttribute("aria-label", (state.open ? "Close chat" : "Open chat") +
      (n ? " (" + n + " unread)" : ""));
  }

  // ---- open / close, keyboard ----
  function setOpen(open, focus) {
    state.open = open;
    if (open) state.unread = 0;
    panel.hidden = !open;
    root.classList.toggle("sc-is-open", open);
    launcher.setAttribute("aria-expanded", String(open));
    if (open && !state.msgs.length && cfg.greeting) append({ id: uid(), from: "bot", text: cfg.greeting });
    save();
    updateBadge();
    if (open) { log.scrollTop = log.scrollHeight; if (focus) input.focus(); }
    else if (focus) launcher.focus();
  }
  launcher.addEventListener("click", function () { setOpen(!state.open, true); });
  closeBtn.addEventListener("click", function () { setOpen(false, true); });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); setOpen(false, true); }
  });

  // ---- talking to Rasa's socket.io channel ----
  var socket = null, confirmed = false, flushing = false, typingTimer = null;
  function setStatus(text) { status.textContent = text; }
  function showTyping(on) {
    typing.hidden = !on;
    clearTimeout(typingTimer);
    if (on) typingTimer = setTimeout(function () { typing.hidden = true; }, TYPING_MS);
  }
  // ---- identity: a token bound to this chat session, lasting minutes, renewed before expiry ----
  var RENEW_BEFORE_MS = 60000;
  var tok = { value: "", sid: null, renewAt: 0 }, tokenFetch = null, renewTimer = null;
  function tokenValid() {
    return tok.value && tok.sid === state.sid && Date.now() < tok.renewAt;
  }
  function freshToken() {
    if (!cfg.tokenUrl || !cfg.customer || !state.sid) return Promise.resolve("");
    if (tokenValid()) return Promise.resolve(tok.value);
    if (tokenFetch) return tokenFetch;
    var sid = state.sid;
    var url = cfg.tokenUrl + (cfg.tokenUrl.indexOf("?") < 0 ? "?" : "&") +
      "session=" + encodeURIComponent(sid);
    tokenFetch = fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (j) {
        var value = j && typeof j.customer_token === "string" ? j.customer_token : "";
        // The server's own clock says how long it lasts: a skewed local clock cannot matter.
        var left = j && j.expires && j.now ? (j.expires - j.now) * 1000 : 0;
        // Renew a minute before expiry (at half-life for short-lived tokens).
        var renewIn = Math.max(1000, left / 2, left - RENEW_BEFORE_MS);
        tok = { value: value, sid: sid, renewAt: value ? Date.now() + renewIn : 0 };
        clearTimeout(renewTimer);
        if (value) {
          renewTimer = setTimeout(function () { if (sid === state.sid) freshToken(); }, renewIn);
        }
        return tok.sid === state.sid ? tok.value : "";
      })
      .catch(function () { return tokenValid() ? tok.value : ""; })
      .then(function (v) { tokenFetch = null; return v; });
    return tokenFetch;
  }
  function flush() {
    if (flushing || !confirmed || !state.queue.length) return;
    flushing = true;
    freshToken().then(function (token) {
      while (confirmed && socket.connected && state.queue.length) {
        var q = state.queue.shift();
        socket.emit("user_uttered", {
          message: q.text, session_id: state.sid,
          customData: token ? { customer_token: token } : {}
        });
        state.owner = tabId;
        state.msgs.forEach(function (m) { if (m.id === q.id) delete m.pending; });
        var node = log.querySelector('[data-id="' + q.id + '"]');
        if (node) node.classList.remove("sc-pending");
        // While an agent has the chat the bot is silent: no typing dots for a reply that won't come.
        showTyping(!state.agent);
      }
      save();
    }).then(function () { flushing = false; }, function () { flushing = false; });
  }
  function send(text, shown) {
    text = String(text || "").trim();
    if (!text) return;
    if (text.length > cfg.maxChars) text = text.slice(0, cfg.maxChars);
    var m = { id: uid(), from: "user", text: shown || text, pending: true };
    state.queue.push({ id: m.id, text: text });
    append(m);
    if (!confirmed) setStatus(navigator.onLine === false ? "You're offline. We'll send your message when you're back." : "Connecting\u2026 your message will be sent shortly.");
    flush();
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var v = input.value;
    input.value = "";
    send(v);
    input.focus();
  });
  // ---- a support agent (the staff console) ----
  var acks = [], ackTimer = null;
  function ack(id) {
    if (acks.indexOf(id) < 0) acks.push(id);
    clearTimeout(ackTimer);
    ackTimer = setTimeout(sendAcks, 50);
  }
  function sendAcks() {
    // Not confirmed: the server sends the unacknowledged ones again once we are (and we ack then).
    if (!confirmed || !socket || !acks.length) return;
    socket.emit("agent_seen", { session_id: state.sid, ids: acks.splice(0, 200) });
    if (acks.length) sendAcks();
  }
  function knownAgent(key) {
    // Every tab of this shop gets the conversation's agent messages: the one that stores a
    // message first wins, the others see it in the shared state and skip it.
    var stored = load();
    if (stored.sid === state.sid) {
      stored.agentIds.forEach(function (k) { if (state.agentIds.indexOf(k) < 0) state.agentIds.push(k); });
    }
    return state.agentIds.indexOf(key) >= 0;
  }
  function storeOnce(key, m) {
    if (knownAgent(key)) return false;
    var open = state.open, stored = load();
    if (stored.sid === state.sid) { state = stored; state.open = open; renderAll(); }
    state.agentIds.push(key);
    if (!state.open) state.unread += 1;
    append(m);
    updateBadge();
    return true;
  }
  function onAgent(p) {
    var id = p.id;
    if (typeof id !== "number" || !isFinite(id)) return;
    if (p.type === "rating_request") {
      storeOnce("r" + id, { id: uid(), from: "rating", rid: id, rated: 0 });
      return;
    }
    if (p.kind === "notice") {
      // From the shop itself (e.g. something you asked for is in stock now): the assistant's
      // bubble, not an agent's; it says nothing about who has the chat.
      storeOnce("a" + id, { id: uid(), from: "bot", aid: id, text: String(p.text || "") });
      ack(id);
      return;
    }
    var kind = AGENT_KINDS[p.kind] ? p.kind : "text";
    var name = typeof p.from === "string" && p.from ? p.from.slice(0, 40) : "Support";
    showTyping(false);
    if (kind !== "text" && !knownAgent("a" + id)) { state.agent = kind === "joined"; save(); }
    storeOnce("a" + id, kind === "text"
      ? { id: uid(), from: "agent", aid: id, name: name, text: String(p.text || "") }
      : { id: uid(), from: "system", aid: id, text: String(p.text || "") });
    ack(id);  // also when it was shown before: the earlier acknowledgement may have been lost
  }
  function rate(localId, n) {
    var m = null;
    state.msgs.forEach(function (x) { if (x.id === localId) m = x; });
    if (!m || m.rated) return;
    m.rated = n;
    m.unsent = true;
    save();
    var node = log.querySelector('[data-id="' + localId + '"]');
    if (node) {
      var fresh = renderMsg(m, false);
      node.replaceWith(fresh);
      fresh.querySelector(".sc-system-line").setAttribute("tabindex", "-1");
      fresh.querySelector(".sc-system-line").focus();
    }
    sendRatings();
  }
  function sendRatings() {
    if (!confirmed || !socket) return;
    var changed = false;
    state.msgs.forEach(function (m) {
      if (m.from === "rating" && m.rated && m.unsent) {
        socket.emit("satisfaction", { session_id: state.sid, rating: m.rated });
        delete m.unsent;
        changed = true;
      }
    });
    if (changed) save();
  }

  function onBot(data) {
    if (!data || typeof data !== "object") return;
    var agent = data.type ? data : data.custom && typeof data.custom === "object" ? data.custom : null;
    if (agent && (agent.type === "agent_message" || agent.type === "rating_request")) {
      onAgent(agent);
      return;
    }
    // Another tab of this shop sent the last message and records the replies there.
    if (state.owner && state.owner !== tabId) return;
    var m = { id: uid(), from: "bot" };
    var custom = data.type === "product_cards" ? data : data.custom && data.custom.type === "product_cards" ? data.custom : null;
    if (custom) {
      m.cards = Array.isArray(custom.products) ? custom.products : [];
      if (typeof custom.text === "string") m.text = custom.text;
    } else if (typeof data.text === "string") {
      m.text = data.text;
    } else if (data.attachment && data.attachment.payload && data.attachment.payload.src) {
      m.text = String(data.attachment.payload.src);
    } else {
      return;
    }
    var qr = data.quick_replies || data.buttons;
    if (Array.isArray(qr)) {
      m.qr = qr.filter(function (q) { return q && (q.title || q.payload); })
        .map(function (q) { return { title: String(q.title || ""), payload: String(q.payload || "") }; });
    }
    showTyping(false);
    if (!state.open) state.unread += 1;
    append(m);
    updateBadge();
  }
  function connect() {
    if (typeof io !== "function") { setStatus("Chat is unavailable right now."); return; }
    socket = io(cfg.server || undefined, {
      path: cfg.path, transports: ["websocket"], reconnectionDelayMax: 5000
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: state.sid });
    });
    socket.on("session_confirm", function (id) {
      var sid = typeof id === "string" ? id : id && id.session_id;
      if (!sid) return;
      if (sid !== state.sid) tok = { value: "", sid: null, renewAt: 0 };
      state.sid = sid;
      confirmed = true;
      save();
      freshToken();
      setStatus("");
      root.setAttribute("data-state", "ready");
      if (!api.ready) {
        api.ready = true;
        api.readyAt = performance.now();
        document.dispatchEvent(new CustomEvent("shopchat:ready"));
      }
      flush();
      sendRatings();
    });
    socket.on("disconnect", function () {
      confirmed = false;
      root.setAttribute("data-state", "offline");
      setStatus("Reconnecting\u2026 messages you type will be sent when we're back.");
    });
    socket.on("connect_error", function () {
      root.setAttribute("data-state", "offline");
      setStatus("Can't reach the assistant. Retrying\u2026");
    });
    socket.on("bot_uttered", onBot);
  }
  window.addEventListener("online", function () { if (socket && !socket.connected) socket.connect(); });
  window.addEventListener("offline", function () {
    setStatus("You're offline. We'll send your messages when you're back.");
  });
  window.addEventListener("storage", function (e) {
    if (e.key !== KEY) return;
    var open = state.open;
    state = load();
    state.open = open;
    renderAll();
    updateBadge();
  });

  // The tab the shopper is looking at records the bot's replies (see onBot).
  function claim() { if (document.visibilityState !== "hidden") { state.owner = tabId; save(); } }
  document.addEventListener("visibilitychange", claim);

  function start() {
    claim();
    document.body.append(root);
    renderAll();
    setOpen(!!state.open, false);
    connect();
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
