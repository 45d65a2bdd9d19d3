// relaydesk dashboard: live updates over server-sent events read with fetch (so the stream can resume with
// Last-Event-ID after any drop), plus small conveniences. No framework, no build step.
"use strict";

(function () {
  function sseStream(url, options) {
    // options: lastEventId, onEvent(type, data, id), onState("live" | "offline")
    var lastId = options.lastEventId || "";
    var delay = 500;
    var stopped = false;

    function parse(chunk, state) {
      state.buffer += chunk;
      var blocks = state.buffer.split(/\r?\n\r?\n/);
      state.buffer = blocks.pop();
      blocks.forEach(function (block) {
        var type = "message", data = [], id = null;
        block.split(/\r?\n/).forEach(function (line) {
          if (!line || line.charAt(0) === ":") return;
          var at = line.indexOf(":");
          var field = at < 0 ? line : line.slice(0, at);
          var value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
          if (field === "event") type = value;
          else if (field === "data") data.push(value);
          else if (field === "id") id = value;
        });
        if (id !== null) lastId = id;
        if (data.length) options.onEvent(type, data.join("\n"), id);
      });
    }

    function connect() {
      if (stopped) return;
      var headers = { "Accept": "text/event-stream" };
      if (lastId) headers["Last-Event-ID"] = lastId;
      fetch(url, { headers: headers, credentials: "same-origin", cache: "no-store" }).then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (!response.ok || type.indexOf("text/event-stream") !== 0) {
          if (response.redirected || response.status === 401) { window.location.reload(); return; }
          throw new Error("stream answered " + response.status);
        }
        options.onState("live");
        delay = 500;
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var state = { buffer: "" };
        function pump() {
          return reader.read().then(function (part) {
            if (part.done) throw new Error("stream ended");
            parse(decoder.decode(part.value, { stream: true }), state);
            return pump();
          });
        }
        return pump();
      }).catch(function () {
        options.onState("offline");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      });
    }
    connect();
    return { stop: function () { stopped = true; } };
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  function setIndicator(state) {
    var indicator = document.querySelector("[data-live-indicator]");
    if (!indicator) return;
    indicator.classList.toggle("is-live", state === "live");
    var label = indicator.querySelector("[data-live-label]");
    if (label) label.textContent = indicator.getAttribute(state === "live" ? "data-live" : "data-offline") || label.textContent;
  }

  function liveInbox(body) {
    var refresh = debounce(function () {
      var url = new URL(window.location.href);
      url.searchParams.set("partial", "1");
      fetch(url.toString(), { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        return r.ok ? r.text() : Promise.reject(r.status);
      }).then(function (html) { body.innerHTML = html; }).catch(function () {});
    }, 150);
    sseStream(body.getAttribute("data-stream"), {
      lastEventId: body.getAttribute("data-cursor"),
      onEvent: function (type) { if (type === "session") refresh(); },
      onState: setIndicator,
    });
  }

  function scrollTranscript() {
    var transcript = document.getElementById("transcript");
    if (transcript) transcript.scrollTop = transcript.scrollHeight;
  }

  function liveSession(root) {
    var refresh = debounce(function () {
      fetch(root.getAttribute("data-refresh"), { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        return r.ok ? r.text() : Promise.reject(r.status);
      }).then(function (html) {
        var holder = document.createElement("template");
        holder.innerHTML = html;
        holder.content.querySelectorAll("[data-swap]").forEach(function (fresh) {
          var current = document.getElementById(fresh.id);
          if (current) current.replaceWith(fresh);
        });
        scrollTranscript();
      }).catch(function () {});
    }, 120);
    var url = root.getAttribute("data-stream") + "?after=" + encodeURIComponent(root.getAttribute("data-after") || "0");
    sseStream(url, {
      onEvent: function (type) { if (type === "message") refresh(); },
      onState: setIndicator,
    });
    scrollTranscript();
  }

  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) return "dash-" + window.crypto.randomUUID();
    return "dash-" + Date.now() + "-" + Math.random().toString(36).slice(2);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var inbox = document.querySelector("[data-live-inbox]");
    if (inbox) liveInbox(inbox);
    var session = document.querySelector("[data-live-session]");
    if (session) liveSession(session);

    document.querySelectorAll("[data-composer]").forEach(function (form) {
      var field = form.querySelector("[data-client-id]");
      form.addEventListener("submit", function () {
        if (field && !field.value) field.value = newClientId();
      });
      var text = form.querySelector("textarea");
      if (text) text.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          form.querySelector("button[value=text]").click();
        }
      });
    });

    document.querySelectorAll("[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });

    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.querySelector(button.getAttribute("data-copy"));
        if (!source) return;
        source.select();
        var done = function () {
          var before = button.textContent;
          button.textContent = button.getAttribute("data-copied") || "✓";
          setTimeout(function () { button.textContent = before; }, 1500);
        };
        if (navigator.clipboard) navigator.clipboard.writeText(source.value).then(done, function () {});
        else { document.execCommand("copy"); done(); }
      });
    });
  });
})();
