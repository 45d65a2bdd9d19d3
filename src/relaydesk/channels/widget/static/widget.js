/* relaydesk chat widget. Embed: <script src="https://HOST/widget.js" data-token="WIDGET_TOKEN" async></script>
   Plain JavaScript, no dependencies; everything it draws lives in a shadow root. */
(() => {
  "use strict";
  if (window.relaydesk && window.relaydesk.version) return;
  const script = document.currentScript || document.querySelector('script[src*="/widget.js"]');
  const BASE = script ? script.src.replace(/\/widget\.js([?#].*)?$/, "") : location.origin;
  const API = BASE + "/api/widget/v1";

  const FACES = ["😡", "😞", "😐", "🙂", "😍"];

  const CSS = `
:host{all:initial}
.rd{--b:#4338ca;--bt:#fff;--bg:#fff;--fg:#111827;--mu:#6b7280;--ln:#e5e7eb;--bu:#f1f3f7;--pa:#f8f9fb;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic",sans-serif;color:var(--fg);-webkit-font-smoothing:antialiased}
.rd[data-theme=dark]{--bg:#161b26;--fg:#eef0f4;--mu:#98a1b3;--ln:#2a3142;--bu:#222a3a;--pa:#11151e}
*{box-sizing:border-box}
[hidden]{display:none!important}
button,textarea,input{font:inherit;color:inherit}
button{cursor:pointer}
:focus-visible{outline:2px solid var(--b);outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.launcher{position:fixed;bottom:20px;inset-inline-end:20px;width:58px;height:58px;border-radius:50%;border:0;background:var(--b);color:var(--bt);box-shadow:0 6px 24px rgba(0,0,0,.22);display:grid;place-items:center;z-index:2147483000;transition:transform .15s}
.launcher:hover{transform:scale(1.06)}
.launcher svg{width:26px;height:26px}
.launcher .shut,.open .launcher .chat{display:none}.open .launcher .shut{display:block}
.badge{position:absolute;top:-2px;inset-inline-end:-2px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#e11d48;color:#fff;font-size:12px;font-weight:600;line-height:20px}
.rd[data-pos=left] .launcher,.rd[data-pos=left] .panel{inset-inline-end:auto;inset-inline-start:20px}
.panel{position:fixed;bottom:92px;inset-inline-end:20px;width:384px;height:min(660px,calc(100vh - 116px));background:var(--pa);border-radius:18px;box-shadow:0 18px 60px rgba(15,23,42,.28);display:flex;flex-direction:column;overflow:hidden;z-index:2147483000;animation:rise .18s ease-out}
@keyframes rise{from{opacity:0;transform:translateY(12px)}}
header{background:var(--b);color:var(--bt);padding:16px 14px 16px 18px;display:flex;gap:12px;align-items:center}
header .who{flex:1;min-width:0}
header h2{margin:0;font-size:16px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
header p{margin:1px 0 0;font-size:12.5px;opacity:.85}
header p::before{content:"";display:inline-block;width:7px;height:7px;border-radius:50%;background:#4ade80;margin-inline-end:6px;vertical-align:1px}
header p.off::before{background:#fbbf24}
.hb{background:transparent;border:0;color:inherit;border-radius:10px;padding:7px;display:grid;place-items:center;opacity:.9}
.hb:hover{background:rgba(255,255,255,.16);opacity:1}
.hb svg{width:20px;height:20px}
.av{width:34px;height:34px;border-radius:50%;flex:none;display:grid;place-items:center;font-weight:650;font-size:14px;background:var(--b);color:var(--bt);object-fit:cover;overflow:hidden}
header .av{width:40px;height:40px;background:rgba(255,255,255,.2);color:inherit}
.av.rep{background:#0f766e;color:#fff}
.notice{background:#fff7e6;color:#7a4b00;font-size:13px;padding:9px 16px;border-bottom:1px solid #f5deb0}
.rd[data-theme=dark] .notice{background:#3a2a0a;color:#f7d79b;border-color:#5a4312}
.log{flex:1;overflow-y:auto;padding:18px 16px 8px;display:flex;flex-direction:column;gap:4px}
.row{display:flex;gap:8px;align-items:flex-end;max-width:100%}
.row.me{justify-content:flex-end}
.row .av{width:28px;height:28px;font-size:12px}
.row.cont .av{visibility:hidden}
.col{display:flex;flex-direction:column;max-width:80%;min-width:0}
.me .col{align-items:flex-end}
.meta{font-size:11.5px;color:var(--mu);margin:10px 4px 3px}
.bub{background:var(--bg);border:1px solid var(--ln);padding:9px 13px;border-radius:16px;border-end-start-radius:5px;white-space:pre-wrap;overflow-wrap:anywhere;box-shadow:0 1px 2px rgba(15,23,42,.05)}
.me .bub{background:var(--b);color:var(--bt);border-color:transparent;border-radius:16px;border-end-end-radius:5px}
.bub a{color:inherit;text-decoration:underline}
.bub.html{white-space:normal}
.bub.html p{margin:0 0 .5em}.bub.html p:last-child{margin:0}
.pending .bub{opacity:.65}
.failed .bub{background:#fee2e2;color:#991b1b}
.fail{font-size:12px;color:#b91c1c;background:none;border:0;padding:2px 4px;text-decoration:underline}
.ev{align-self:center;text-align:center;font-size:12.5px;color:var(--mu);margin:10px 0;padding:5px 12px;border-radius:999px;background:var(--bu)}
.ev.hand{color:var(--fg)}
.att{display:flex;flex-direction:column;gap:6px;margin-top:6px}
.att img{max-width:220px;max-height:180px;border-radius:12px;display:block;border:1px solid var(--ln)}
.file{display:inline-flex;gap:6px;align-items:center;padding:7px 11px;border-radius:10px;background:var(--bu);color:var(--fg);text-decoration:none;font-size:13px;max-width:240px}
.file span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.cmp{margin-top:6px;background:var(--bg);border:1px solid var(--ln);border-radius:14px;overflow:hidden;white-space:normal}
.cmp img{width:100%;max-height:150px;object-fit:cover;display:block}
.cmp .in{padding:11px 13px}
.cmp h3{margin:0 0 4px;font-size:14px}
.cmp p{margin:0;color:var(--mu);font-size:13px}
.cmp ul{list-style:none;margin:0;padding:0}
.cmp li{padding:9px 13px;border-top:1px solid var(--ln)}
.cmp li:first-child{border:0}
.cmp table{border-collapse:collapse;width:100%;font-size:13px}
.cmp th,.cmp td{padding:7px 10px;text-align:start;border-top:1px solid var(--ln)}
.cmp th{background:var(--bu);border:0}
.btn{display:inline-block;margin-top:9px;padding:7px 12px;border-radius:9px;background:var(--b);color:var(--bt);text-decoration:none;font-weight:600;font-size:13px;border:0}
.ghost{background:transparent;color:var(--fg);border:1px solid var(--ln)}
.typing{display:flex;gap:8px;align-items:center;padding:4px 16px 8px;font-size:12.5px;color:var(--mu)}
.dots{display:inline-flex;gap:3px;padding:9px 11px;background:var(--bg);border:1px solid var(--ln);border-radius:14px}
.dots i{width:6px;height:6px;border-radius:50%;background:var(--mu);animation:blink 1.2s infinite}
.dots i:nth-child(2){animation-delay:.2s}.dots i:nth-child(3){animation-delay:.4s}
@keyframes blink{0%,60%,100%{opacity:.25}30%{opacity:1}}
.chips{display:flex;flex-wrap:wrap;gap:6px;padding:4px 16px 10px;justify-content:flex-end}
.chips button{border:1px solid var(--b);background:var(--bg);color:var(--b);border-radius:999px;padding:6px 12px;font-size:13px}
.rd[data-theme=dark] .chips button{color:var(--fg)}
.chips button:hover{background:var(--b);color:var(--bt)}
.csat{align-self:stretch;background:var(--bg);border:1px solid var(--ln);border-radius:14px;padding:14px;margin:8px 0;text-align:center}
.csat p{margin:0 0 10px;font-weight:600}
.faces{display:flex;justify-content:center;gap:6px}
.faces button{font-size:24px;width:44px;height:44px;border-radius:12px;border:1px solid var(--ln);background:var(--pa);transition:transform .1s}
.faces button:hover,.faces button[aria-pressed=true]{transform:scale(1.12);border-color:var(--b)}
.csat textarea{width:100%;margin-top:10px;min-height:64px;border:1px solid var(--ln);border-radius:10px;padding:8px;background:var(--pa);resize:vertical}
.csat .acts{display:flex;gap:8px;justify-content:center}
.files{display:flex;flex-wrap:wrap;gap:6px;padding:0 14px}
.chip{display:flex;align-items:center;gap:6px;background:var(--bg);border:1px solid var(--ln);border-radius:10px;padding:5px 8px;font-size:12.5px;max-width:100%}
.chip.bad{border-color:#fca5a5;color:#b91c1c}
.chip progress{width:60px;height:6px;accent-color:var(--b)}
.chip button{border:0;background:none;padding:0 2px;font-size:16px;line-height:1;color:var(--mu)}
.composer{display:flex;align-items:flex-end;gap:6px;margin:8px 12px 6px;padding:6px;background:var(--bg);border:1px solid var(--ln);border-radius:16px}
.composer:focus-within{border-color:var(--b);box-shadow:0 0 0 3px color-mix(in srgb,var(--b) 18%,transparent)}
.composer textarea{flex:1;border:0;outline:0;background:transparent;resize:none;max-height:120px;min-height:36px;padding:8px 6px}
.ib{border:0;background:none;color:var(--mu);width:36px;height:36px;border-radius:10px;display:grid;place-items:center;flex:none}
.ib:hover{background:var(--bu);color:var(--fg)}
.ib svg{width:20px;height:20px}
.ib.go{background:var(--b);color:var(--bt)}
.ib.go:disabled{opacity:.4;cursor:default}
[dir=rtl] .ib.go svg{transform:scaleX(-1)}
.ended{padding:10px 12px;display:flex;justify-content:center}
.err{margin:0 16px 6px;font-size:12.5px;color:#b91c1c}
.foot{text-align:center;font-size:11px;color:var(--mu);padding:0 0 9px}
@media (max-width:480px){.panel{inset:0 !important;width:auto;height:auto;border-radius:0;animation:none}.rd.open .launcher{display:none}}
@media (prefers-reduced-motion:reduce){.panel,.dots i{animation:none}}`;

  const ICON = {
    chat: "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v9a2.5 2.5 0 0 1-2.5 2.5H9l-4.2 3.6A.5.5 0 0 1 4 20.2z",
    x: "M6 6l12 12M18 6 6 18",
    send: "M4 12 20 4l-6 16-3-7z",
    clip: "M16.5 7.5 9 15a2 2 0 0 0 2.8 2.8l7.8-7.8a4 4 0 0 0-5.6-5.6L6.2 12.2a6 6 0 0 0 8.5 8.5l5.8-5.8",
    check: "M5 12.5l4.5 4.5L19 7.5",
    down: "M6 9l6 6 6-6",
  };

  /* ---------------------------------------------------------------- small helpers */
  const h = (tag, attrs, ...kids) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) if (kid != null) el.append(kid);
    return el;
  };
  const svg = (name) => {
    const s = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("class", name === "down" ? "shut" : name);
    s.innerHTML = `<path d="${ICON[name]}" fill="${name === "chat" ? "currentColor" : "none"}" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>`;
    return s;
  };
  const uid = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  /* Only web links leave the widget: javascript:, data: and the like become plain text. */
  const safeUrl = (u) => {
    try {
      const url = new URL(u, BASE);
      return /^https?:$/.test(url.protocol) ? url.href : null;
    } catch (e) {
      return null;
    }
  };
  const store = {
    get: (k) => { try { return JSON.parse(localStorage.getItem(k)); } catch (e) { return null; } },
    set: (k, v) => { try { v == null ? localStorage.removeItem(k) : localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* private mode */ } },
  };

  /* ---------------------------------------------------------------- state */
  const S = {
    opts: {}, cfg: null, lang: "en", strings: {}, root: null, el: {},
    contact: null, session: null, lastSeq: 0, historyUntil: 0,
    seen: new Map(), pending: new Map(), files: [], stream: null, streamGen: 0,
    listeners: { handoff: [], message: [], resolved: [] }, unread: 0, lastRow: null, typingTimer: 0,
    csatDone: false, mounted: null, stick: true,
  };
  const t = (key, vars) => {
    let s = S.strings[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
    return s;
  };
  const emit = (name, payload) => S.listeners[name].forEach((fn) => { try { fn(payload); } catch (e) { console.error(e); } });
  const storeKey = () => `relaydesk:${S.opts.token}`;

  /* The copy comes with the config, in the language the server chose; the page may reword any string. */
  function buildStrings() {
    S.lang = S.cfg.language;
    S.strings = { ...S.cfg.copy, ...((S.opts.strings || {})[S.lang] || {}) };
  }

  /* ---------------------------------------------------------------- HTTP */
  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      Object.assign(this, { status, code, retryAfter });
    }
  }

  async function request(method, path, body, auth = true) {
    const headers = { "X-Widget-Token": S.opts.token };
    if (auth) headers.Authorization = "Bearer " + (await contactToken());
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    if (res.ok) return data;
    const err = (data && data.error) || {};
    if (res.status === 401 && auth && !S.opts.user?.token) S.contact = null, store.set(storeKey(), null);
    throw new ApiError(res.status, err.code, err.message || res.statusText, Number(res.headers.get("Retry-After")) || 0);
  }

  /* Retries what is safe to repeat (reads, and writes that carry a client_id): network errors, 5xx and 429. */
  async function api(method, path, body, tries = 4) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request(method, path, body);
      } catch (e) {
        const transient = !(e instanceof ApiError) || e.status >= 500 || e.status === 429 || e.status === 401;
        if (!transient || attempt >= tries) throw e;
        await sleep(e.retryAfter ? e.retryAfter * 1000 : 400 * 2 ** attempt);
      }
    }
  }

  /* The contact token: a verified one from identify({token}), else the one this browser keeps, else a new one. */
  async function contactToken() {
    if (S.opts.user && S.opts.user.token) return S.opts.user.token;
    if (S.contact) return S.contact.token;
    const saved = store.get(storeKey());
    const who = identityKey();
    if (saved && saved.token && saved.who === who) return (S.contact = saved).token;
    const u = S.opts.user || {};
    const body = { name: u.name || null, email: u.email || null, custom_data: u.customData || {} };
    const made = await request("POST", "/contacts", body, false);
    S.contact = { token: made.token, who };
    store.set(storeKey(), S.contact);
    return made.token;
  }
  const identityKey = () => { const u = S.opts.user || {}; return JSON.stringify([u.name || null, u.email || null]); };

  /* ---------------------------------------------------------------- live stream (fetch-based SSE) */
  function connect() {
    const gen = ++S.streamGen;
    if (S.stream) S.stream.abort();
    const ctl = (S.stream = new AbortController());
    const sessionId = S.session.id;
    (async () => {
      let delay = 500;
      while (gen === S.streamGen) {
        try {
          const res = await fetch(`${API}/sessions/${sessionId}/events`, {
            headers: { "X-Widget-Token": S.opts.token, Authorization: "Bearer " + (await contactToken()), "Last-Event-ID": String(S.lastSeq), Accept: "text/event-stream" },
            signal: ctl.signal, cache: "no-store",
          });
          if (!res.ok) throw new ApiError(res.status, "", res.statusText, Number(res.headers.get("Retry-After")) || 0);
          online(true);
          delay = 500;
          await readEvents(res.body.getReader(), (ev) => gen === S.streamGen && onEvent(ev));
        } catch (e) {
          if (ctl.signal.aborted) return;
          if (e.status === 404 || e.status === 403) return;
          if (e.retryAfter) delay = e.retryAfter * 1000;
        }
        if (gen !== S.streamGen) return;
        online(false);
        await sleep(delay * (1 + Math.random() / 2));
        delay = Math.min(delay * 2, 8000);
      }
    })();
  }

  /* Parses the text/event-stream format: fields up to a blank line make one event. */
  async function readEvents(reader, dispatch) {
    const decoder = new TextDecoder();
    let buf = "", ev = {};
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
        if (!line) { if (ev.data !== undefined) dispatch(ev); ev = {}; continue; }
        if (line[0] === ":") continue;
        const c = line.indexOf(":");
        const field = c < 0 ? line : line.slice(0, c);
        const val = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
        ev[field] = field === "data" && ev.data !== undefined ? ev.data + "\n" + val : val;
      }
    }
  }

  function onEvent(ev) {
    let data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    if (ev.event === "typing") return typing(data);
    if (ev.event !== "message") return;
    if (ev.id && /^\d+$/.test(ev.id)) S.lastSeq = Math.max(S.lastSeq, Number(ev.id));
    upsert(data, data.seq > S.historyUntil);
  }

  let offTimer = 0;
  function online(on) {
    clearTimeout(offTimer);
    // A blink of a reconnect is not worth a word; a lasting one is.
    if (on) S.el.status.textContent = statusLine(), S.el.status.className = "";
    else offTimer = setTimeout(() => { S.el.status.textContent = t("reconn"); S.el.status.className = "off"; }, 1500);
  }

  /* ---------------------------------------------------------------- messages */
  function upsert(m, live) {
    if (S.seen.has(m.seq)) return;
    let el = m.client_id && S.pending.get(m.client_id);
    if (el) {
      S.pending.delete(m.client_id);
      el.classList.remove("pending", "failed");
      el.querySelector(".fail")?.remove();
    } else {
      el = render(m);
    }
    S.seen.set(m.seq, el || true);
    if (el) el.dataset.seq = m.seq;
    applyEvent(m, live);
    emit("message", { message: m, live });
    if (live && m.author !== "visitor") {
      if (m.kind === "text") announce(m);
      if (!S.isOpen && m.kind === "text") S.unread++, badge();
    }
    scheduleRefresh();
  }

  function applyEvent(m, live) {
    if (m.author !== "visitor") typing({ active: false });
    if (m.kind !== "event") return;
    const st = { handed_off: "handed_off", rep_joined: "human", handed_back: "ai", resolved: "resolved", closed: "closed", reopened: "ai" }[m.event];
    if (st) S.session.state = st;
    if (m.event === "rep_joined") S.repName = S.cfg.agent.name || m.author_name || S.repName;
    if (m.event === "csat_submitted") S.csatDone = true;
    if (m.event === "reopened") S.csatDone = false;
    if (m.event === "handed_off") emit("handoff", { session_id: m.session_id, message: m, live });
    if (m.event === "resolved") emit("resolved", { session_id: m.session_id, message: m, live });
    if (live) {
      const notice = eventText(m);
      if (notice) announce({ text: notice });
    }
  }

  function eventText(m) {
    const rep = S.cfg.agent.name || m.author_name || t("team");
    return {
      handed_off: t("handoff"), rep_joined: t("joined", { name: rep }), handed_back: t("back", { name: S.cfg.bot.name }),
      resolved: t("resolved"), closed: t("closed"), csat_submitted: t("thanks"),
    }[m.event];
  }

  function persona(m) {
    if (m.author === "ai") return { name: S.cfg.bot.name, avatar: S.cfg.bot.avatar_url, cls: "" };
    const name = S.cfg.agent.name || m.author_name || t("team");
    return { name, avatar: S.cfg.agent.avatar_url, cls: "rep" };
  }

  function avatar(p) {
    const src = p.avatar && safeUrl(p.avatar);
    return src ? h("img", { class: "av " + p.cls, src, alt: "" }) : h("span", { class: "av " + p.cls, "aria-hidden": "true", text: (p.name || "?").trim().charAt(0).toUpperCase() });
  }

  const clock = (iso) => {
    const d = iso ? new Date(iso) : new Date();
    return h("time", { datetime: d.toISOString(), text: new Intl.DateTimeFormat(S.lang, { hour: "numeric", minute: "2-digit" }).format(d) });
  };

  /* One bubble; consecutive messages of one author share a name line and a single visible avatar. */
  function render(m) {
    if (m.kind === "event") {
      const text = eventText(m);
      if (!text) return null;
      S.lastRow = null;
      if (m.event === "csat_submitted") S.el.log.querySelector(".csat")?.remove();
      return append(h("div", { class: "ev" + (m.event === "handed_off" || m.event === "rep_joined" ? " hand" : ""), role: "note", text }));
    }
    if (m.author === "system") {
      S.lastRow = null;
      return append(h("div", { class: "ev", text: m.text }));
    }
    const me = m.author === "visitor";
    const who = me ? "visitor" : m.author + ":" + (m.author_name || "");
    const cont = S.lastRow && S.lastRow.who === who && S.lastRow.el.isConnected && S.el.log.lastElementChild === S.lastRow.el;
    const bubble = h("div", { class: "bub" });
    if (m.html && m.author === "rep") {
      bubble.classList.add("html");
      bubble.innerHTML = m.html; // sanitized by the server (nh3) before it is sent
    } else if (m.text) {
      linkify(bubble, m.text, !me);
    }
    const col = h("div", { class: "col" });
    if (!cont) {
      const p = me ? null : persona(m);
      col.append(h("div", { class: "meta" }, p ? p.name + " · " : "", clock(m.created_at)));
    }
    if (m.text || m.html) col.append(bubble);
    const drawn = m.component && component(m);
    if (drawn) col.append(drawn);
    else if (m.component && m.component.text && !m.text) col.append(h("div", { class: "bub", text: m.component.text }));
    if (m.attachments && m.attachments.length) col.append(attachments(m.attachments));
    const row = h("div", { class: "row" + (me ? " me" : "") + (cont ? " cont" : "") }, me ? null : avatar(persona(m)), col);
    S.lastRow = { who, el: row };
    return append(row);
  }

  function append(el) {
    const log = S.el.log;
    const csat = log.querySelector(".csat");
    log.insertBefore(el, csat || null);
    if (S.stick || el.classList.contains("me")) requestAnimationFrame(() => (log.scrollTop = log.scrollHeight));
    return el;
  }

  /* Text stays text; only http(s) URLs inside it become links. */
  function linkify(el, text, links) {
    if (!links) return (el.textContent = text);
    let last = 0;
    for (const match of text.matchAll(/https?:\/\/[^\s<>"]+[^\s<>".,:;!?)\]'’]/g)) {
      el.append(text.slice(last, match.index));
      const href = safeUrl(match[0]);
      el.append(href ? h("a", { href, target: "_blank", rel: "noopener noreferrer", text: match[0] }) : match[0]);
      last = match.index + match[0].length;
    }
    el.append(text.slice(last));
  }

  function attachments(list) {
    return h("div", { class: "att" }, list.map((a) => {
      const href = safeUrl(a.url);
      if (!href) return h("span", { class: "file", text: a.name });
      if (/^image\/(png|jpeg|gif|webp)$/.test(a.content_type || "")) {
        return h("a", { href, target: "_blank", rel: "noopener noreferrer" }, h("img", { src: href, alt: a.name || "", loading: "lazy" }));
      }
      return h("a", { class: "file", href, target: "_blank", rel: "noopener noreferrer", download: a.name || "" }, "📄 ", h("span", { text: a.name || href }));
    }));
  }

  /* ---------------------------------------------------------------- custom components */
  const link = (url, label, cls) => { const href = safeUrl(url); return href ? h("a", { class: cls, href, target: "_blank", rel: "noopener noreferrer", text: label || url }) : null; };
  const components = {
    card: (d) => h("div", { class: "cmp" }, d.image_url && safeUrl(d.image_url) ? h("img", { src: safeUrl(d.image_url), alt: "" }) : null,
      h("div", { class: "in" }, d.title ? h("h3", { text: d.title }) : null, d.text ? h("p", { text: d.text }) : null, d.url ? link(d.url, d.button, "btn") : null)),
    list: (d) => h("div", { class: "cmp" }, d.title ? h("div", { class: "in" }, h("h3", { text: d.title })) : null,
      h("ul", {}, (d.items || []).map((it) => h("li", {}, it.url ? link(it.url, it.title) : h("strong", { text: it.title || "" }), it.text ? h("p", { text: it.text }) : null)))),
    table: (d) => h("div", { class: "cmp" }, h("table", {},
      h("thead", {}, h("tr", {}, (d.columns || []).map((c) => h("th", { scope: "col", text: String(c) })))),
      h("tbody", {}, (d.rows || []).map((r) => h("tr", {}, r.map((c) => h("td", { text: c == null ? "" : String(c) }))))))),
  };

  /* A registered renderer draws the component; anything unknown or failing falls back to the message's text. */
  function component(m) {
    const { key, data } = m.component || {};
    const fn = components[key];
    if (!fn) return null;
    try {
      const out = fn(data || {}, { h, message: m });
      return out instanceof Node ? out : h("div", { class: "cmp in", text: String(out) });
    } catch (e) {
      console.error("relaydesk: component", key, e);
      return null;
    }
  }

  /* ---------------------------------------------------------------- typing */
  function typing(d) {
    clearTimeout(S.typingTimer);
    if (d.active === false) return void (S.el.typing.hidden = true);
    const name = d.author === "ai" ? S.cfg.bot.name : S.cfg.agent.name || d.name || S.repName || t("team");
    S.el.typingLabel.textContent = t("typing", { name });
    S.el.typing.hidden = false;
    S.typingTimer = setTimeout(() => typing({ active: false }), d.author === "ai" ? 25000 : 8000);
  }

  const announce = (m) => {
    const who = m.author ? persona(m).name + ": " : "";
    S.el.sr.textContent = "";
    setTimeout(() => (S.el.sr.textContent = who + (m.text || "")), 30);
  };

  /* ---------------------------------------------------------------- sending */
  async function ensureSession() {
    if (S.session && ["ai", "handed_off", "human"].includes(S.session.state)) return S.session;
    S.session = await api("POST", "/sessions", { language: S.lang });
    S.lastSeq = 0;
    S.historyUntil = 0;
    connect();
    return S.session;
  }

  async function send(text, files, clientId, bubble) {
    text = (text || "").trim();
    if (!text && !files.length) return;
    const cid = clientId || uid();
    if (!bubble) {
      bubble = render({ author: "visitor", kind: "text", text, attachments: files, created_at: null });
      bubble.classList.add("pending");
    }
    S.pending.set(cid, bubble);
    scheduleRefresh();
    try {
      const session = await ensureSession();
      const context = { url: location.href, title: document.title, language: S.lang, ...(S.opts.context || {}) };
      const res = await api("POST", `/sessions/${session.id}/messages`, { client_id: cid, text, attachments: files, context }, 6);
      if (S.session.state === "ai" && S.lastSeq <= res.message.seq) typing({ author: "ai" });
      upsert(res.message, false);
    } catch (e) {
      bubble.classList.remove("pending");
      bubble.classList.add("failed");
      bubble.querySelector(".fail")?.remove();
      const msg = e.status === 429 ? t("slow") : e.status === 409 || e.status === 422 ? e.message : t("retry");
      bubble.querySelector(".col").append(h("button", { class: "fail", type: "button", text: msg, onclick: () => (bubble.classList.replace("failed", "pending"), send(text, files, cid, bubble)) }));
    }
  }

  function submit(ev) {
    ev && ev.preventDefault();
    const ready = S.files.filter((f) => f.done);
    if (S.files.some((f) => !f.done && !f.error)) return;
    const text = S.el.input.value;
    if (!text.trim() && !ready.length) return;
    if (text.length > S.cfg.max_message_chars) return showError(t("err"));
    S.el.input.value = "";
    S.files = [];
    drawFiles();
    grow();
    send(text, ready.map((f) => f.done));
  }

  /* ---------------------------------------------------------------- uploads */
  const fmtSize = (n) => new Intl.NumberFormat(S.lang, { maximumFractionDigits: 1 }).format(n >= 1048576 ? n / 1048576 : n / 1024) + (n >= 1048576 ? " MB" : " KB");

  function pickFiles(list) {
    const limits = S.cfg.uploads;
    for (const file of list) {
      const entry = { name: file.name, progress: 0, done: null, error: null };
      S.files.push(entry);
      const ext = (file.name.match(/\.[^.]+$/) || [""])[0].toLowerCase();
      if (file.size > limits.max_bytes) entry.error = t("big", { max: fmtSize(limits.max_bytes) });
      else if (!limits.types.includes(file.type) && !limits.extensions.includes(ext)) entry.error = t("type");
      else upload(file, entry);
    }
    drawFiles();
  }

  /* XMLHttpRequest, because fetch cannot report upload progress. */
  async function upload(file, entry) {
    const token = await contactToken().catch(() => null);
    const xhr = (entry.xhr = new XMLHttpRequest());
    xhr.open("POST", API + "/uploads");
    xhr.setRequestHeader("X-Widget-Token", S.opts.token);
    xhr.setRequestHeader("Authorization", "Bearer " + token);
    xhr.upload.onprogress = (e) => { entry.progress = e.lengthComputable ? e.loaded / e.total : 0; drawFiles(); };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201) entry.done = { name: body.name, url: body.url, content_type: body.content_type, size: body.size };
      else entry.error = xhr.status === 413 ? t("big", { max: fmtSize(S.cfg.uploads.max_bytes) }) : xhr.status === 415 ? t("type") : t("upfail");
      drawFiles();
    };
    xhr.onerror = () => { entry.error = t("upfail"); drawFiles(); };
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  }

  function drawFiles() {
    S.el.files.replaceChildren(...S.files.map((f) => h("div", { class: "chip" + (f.error ? " bad" : ""), role: f.error ? "alert" : null },
      h("span", { text: f.error ? `${f.name}: ${f.error}` : f.name }),
      !f.done && !f.error ? h("progress", { max: "1", value: String(f.progress), "aria-label": f.name }) : null,
      h("button", { type: "button", "aria-label": t("remove"), text: "×", onclick: () => { f.xhr && f.xhr.abort(); S.files = S.files.filter((x) => x !== f); drawFiles(); } }))));
    S.el.sendBtn.disabled = S.files.some((f) => !f.done && !f.error);
  }

  /* ---------------------------------------------------------------- resolve and rating */
  async function resolve() {
    if (!S.session) return;
    try { await api("POST", `/sessions/${S.session.id}/resolve`); } catch (e) { showError(t("err")); }
  }

  function csatCard() {
    const card = h("div", { class: "csat", role: "group", "aria-label": t("rate") }, h("p", { text: t("rate") }));
    const faces = h("div", { class: "faces" });
    const rate = async (score, comment) => {
      try {
        await api("POST", `/sessions/${S.session.id}/csat`, { score, comment: comment || null });
        S.csatDone = true;
        card.replaceChildren(h("p", { text: t("thanks") }));
      } catch (e) {
        showError(e.status === 422 ? e.message : t("err"));
      }
    };
    FACES.forEach((face, i) => faces.append(h("button", {
      type: "button", "aria-label": `${i + 1}/5`, "aria-pressed": "false", text: face,
      onclick: (e) => {
        faces.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b === e.currentTarget)));
        if (i >= 2) return rate(i + 1);
        // Low scores ask what went wrong before the rating is sent.
        card.querySelector(".why")?.remove();
        const box = h("textarea", { "aria-label": t("why"), placeholder: t("why"), maxlength: "2000" });
        const acts = h("div", { class: "acts" }, h("button", { class: "btn", type: "button", text: t("send"), onclick: () => rate(i + 1, box.value.trim()) }),
          S.cfg.csat.low_score_comment === "require" ? null : h("button", { class: "btn ghost", type: "button", text: t("skip"), onclick: () => rate(i + 1) }));
        card.append(h("div", { class: "why" }, box, acts));
        box.focus();
        acts.scrollIntoView({ block: "nearest" });
      },
    })));
    card.append(faces);
    return card;
  }

  /* ---------------------------------------------------------------- refresh of the chrome around the log */
  let refreshQueued = false;
  function scheduleRefresh() {
    if (refreshQueued) return;
    refreshQueued = true;
    setTimeout(() => { refreshQueued = false; refresh(); }, 30);
  }

  function refresh() {
    const st = S.session ? S.session.state : "ai";
    const ended = st === "resolved" || st === "closed";
    S.el.composer.hidden = ended;
    S.el.ended.hidden = !ended;
    S.el.resolveBtn.hidden = !S.session || ended;
    const spoke = S.el.log.querySelector(".row.me");
    S.el.chips.hidden = !!spoke || !(S.cfg.suggested_questions || []).length;
    const card = S.el.log.querySelector(".csat");
    const wantCard = st === "resolved" && S.cfg.csat.enabled && !S.csatDone;
    if (wantCard && !card) S.el.log.append(csatCard()), (S.el.log.scrollTop = S.el.log.scrollHeight);
    if (!wantCard && card) card.remove();
    S.el.status.textContent = statusLine();
  }

  const statusLine = () => (S.session && S.session.state === "human" ? S.repName || S.cfg.agent.name || t("team") : S.session && S.session.state === "handed_off" ? t("handoff") : S.cfg.bot.name);

  function showError(text) {
    S.el.err.textContent = text;
    S.el.err.hidden = false;
    setTimeout(() => (S.el.err.hidden = true), 6000);
  }

  function grow() {
    const i = S.el.input;
    i.style.height = "auto";
    i.style.height = Math.min(i.scrollHeight, 120) + "px";
  }

  function badge() {
    S.el.badge.hidden = !S.unread;
    S.el.badge.textContent = S.unread > 9 ? "9+" : String(S.unread);
  }

  /* ---------------------------------------------------------------- building the UI */
  function contrast(hex) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 ? "#111827" : "#ffffff";
  }

  function build() {
    const host = S.mounted || document.body.appendChild(h("div", { id: "relaydesk-widget" }));
    S.mounted = host;
    const root = host.shadowRoot || host.attachShadow({ mode: "open" });
    const cfg = S.cfg;
    const brand = /^#[0-9a-f]{6}$/i.test(S.opts.brandColor || "") ? S.opts.brandColor : cfg.theme.brand_color;
    const mode = S.opts.theme || cfg.theme.mode;
    const dark = mode === "dark" || (mode === "auto" && matchMedia("(prefers-color-scheme: dark)").matches);
    const el = (S.el = {});
    // The log follows new messages unless the visitor scrolled up to read.
    el.log = h("div", { class: "log", role: "log", "aria-live": "off", tabindex: "0", onscroll: () => (S.stick = el.log.scrollHeight - el.log.scrollTop - el.log.clientHeight < 80) });
    el.status = h("p", { text: cfg.bot.name });
    el.resolveBtn = h("button", { class: "hb", type: "button", title: t("resolve"), "aria-label": t("resolve"), onclick: resolve }, svg("check"));
    el.typingLabel = h("span");
    el.typing = h("div", { class: "typing", hidden: true }, h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")), el.typingLabel);
    el.chips = h("div", { class: "chips" }, (cfg.suggested_questions || []).map((q) => h("button", { type: "button", text: q, onclick: () => send(q, []) })));
    el.files = h("div", { class: "files" });
    el.input = h("textarea", { rows: "1", placeholder: t("ph"), "aria-label": t("ph"), maxlength: String(cfg.max_message_chars), oninput: grow,
      onkeydown: (e) => { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) submit(e); } });
    el.file = h("input", { type: "file", hidden: true, multiple: true, accept: [...cfg.uploads.types, ...cfg.uploads.extensions].join(","), onchange: (e) => { pickFiles([...e.target.files]); e.target.value = ""; } });
    el.sendBtn = h("button", { class: "ib go", type: "submit", "aria-label": t("send") }, svg("send"));
    el.composer = h("form", { class: "composer", onsubmit: submit },
      cfg.uploads.types.length ? h("button", { class: "ib", type: "button", "aria-label": t("attach"), title: t("attach"), onclick: () => el.file.click() }, svg("clip")) : null,
      el.file, el.input, el.sendBtn);
    el.ended = h("div", { class: "ended", hidden: true }, h("button", { class: "btn", type: "button", text: t("restart"), onclick: restart }));
    el.err = h("div", { class: "err", role: "alert", hidden: true });
    el.sr = h("div", { class: "sr", role: "status", "aria-live": "polite" });
    el.badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    const closed = cfg.office_hours && cfg.office_hours.open === false;
    el.panel = h("section", { class: "panel", role: "dialog", "aria-label": cfg.title, hidden: true, onkeydown: (e) => e.key === "Escape" && close(true) },
      h("header", {}, avatar({ name: cfg.title, avatar: cfg.bot.avatar_url, cls: "" }), h("div", { class: "who" }, h("h2", { text: cfg.title }), el.status),
        el.resolveBtn, h("button", { class: "hb", type: "button", "aria-label": t("close"), title: t("close"), onclick: () => close(true) }, svg("down"))),
      closed ? h("div", { class: "notice", role: "note", text: cfg.office_hours.notice || t("offline") }) : null,
      el.log, el.typing, el.chips, el.err, el.files, el.composer, el.ended, h("div", { class: "foot", text: "Powered by relaydesk" }));
    el.launcher = h("button", { class: "launcher", type: "button", "aria-label": t("open"), "aria-expanded": "false", onclick: () => (S.isOpen ? close(true) : open()) }, svg("chat"), svg("down"), el.badge);
    el.wrap = h("div", { class: "rd", dir: cfg.direction, lang: S.lang, "data-theme": dark ? "dark" : "light", "data-pos": cfg.theme.position,
      style: `--b:${brand};--bt:${contrast(brand)}` }, el.panel, el.launcher, el.sr);
    root.replaceChildren(h("style", { text: CSS }), el.wrap);
    greet();
  }

  function greet() {
    const lines = S.cfg.greeting.length ? S.cfg.greeting : [t("greet")];
    lines.forEach((text) => render({ author: "ai", kind: "text", text, created_at: null }));
  }

  function restart() {
    S.streamGen++;
    if (S.stream) S.stream.abort();
    Object.assign(S, { session: null, lastSeq: 0, historyUntil: 0, csatDone: false, lastRow: null, repName: null, stick: true });
    S.seen.clear();
    S.pending.clear();
    S.el.log.replaceChildren();
    greet();
    refresh();
    S.el.input.focus();
  }

  function open() {
    if (!S.el.panel) return void (S.opts.open = true);
    S.isOpen = true;
    S.el.panel.hidden = false;
    S.el.wrap.classList.add("open");
    S.el.launcher.setAttribute("aria-expanded", "true");
    S.el.launcher.setAttribute("aria-label", t("close"));
    S.unread = 0;
    badge();
    sessionStorage.setItem("relaydesk:open", "1");
    S.el.log.scrollTop = S.el.log.scrollHeight;
    setTimeout(() => S.el.input.focus(), 50);
  }

  function close(focusLauncher) {
    if (!S.el.panel) return;
    S.isOpen = false;
    S.el.panel.hidden = true;
    S.el.wrap.classList.remove("open");
    S.el.launcher.setAttribute("aria-expanded", "false");
    S.el.launcher.setAttribute("aria-label", t("open"));
    sessionStorage.removeItem("relaydesk:open");
    if (focusLauncher) S.el.launcher.focus();
  }

  /* The newest session still open on this device (or the newest one, to finish its rating) is picked up again. */
  async function resume() {
    const { sessions } = await api("GET", "/sessions");
    const current = sessions.find((s) => ["ai", "handed_off", "human"].includes(s.state)) || (S.cfg.csat.enabled && sessions[0] && sessions[0].state === "resolved" && sessions[0].csat_score == null ? sessions[0] : null);
    if (!current) return;
    S.session = current;
    S.historyUntil = current.last_seq;
    S.repName = current.assignee;
    connect();
  }

  /* ---------------------------------------------------------------- public API */
  async function init(options) {
    Object.assign(S.opts, options || {});
    if (!S.opts.token) throw new Error("relaydesk: init needs the workspace's widget token");
    S.cfg = await request("GET", "/config" + (S.opts.language ? "?lang=" + encodeURIComponent(S.opts.language) : ""), undefined, false);
    buildStrings();
    const wasOpen = S.isOpen;
    if (S.session) restart();
    build();
    await resume().catch((e) => console.warn("relaydesk:", e.message));
    refresh();
    if (wasOpen || S.opts.open || sessionStorage.getItem("relaydesk:open")) open();
  }

  /* identify({token}) for a verified contact (from your backend), or identify({name, email, customData}). */
  async function identify(user) {
    S.opts.user = user || null;
    S.contact = null;
    if (S.cfg) {
      restart();
      await resume().catch(() => {});
      refresh();
    }
  }

  window.relaydesk = {
    version: "1",
    init,
    identify,
    open,
    close: () => close(false),
    on: (name, fn) => { if (!S.listeners[name]) throw new Error("relaydesk: unknown event " + name); S.listeners[name].push(fn); },
    registerComponent: (key, fn) => { components[key] = fn; },
    visitorToken: () => contactToken(),
  };
  const preset = window.relaydeskSettings || {};
  const data = script ? script.dataset : {};
  if (data.token || preset.token) {
    init({ language: data.language, open: data.open === "true", ...preset, token: preset.token || data.token }).catch((e) => console.error("relaydesk:", e));
  }
  window.dispatchEvent(new CustomEvent("relaydesk:ready"));
})();
