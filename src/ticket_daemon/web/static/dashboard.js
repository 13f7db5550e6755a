/*
 * The dashboard a shop owner reads at a glance: a status banner that names the printer and says what to do, health
 * cards (GET /health), printers (get_printers), a JSON editor with templates, a live preview on its paper
 * (POST /api/v1/preview), recent jobs, blocked and allowed sites, the transaction log and the virtual printers'
 * output. It speaks to the daemon through ticket-client.js, like any POS would.
 *
 * Every word it shows comes from one catalogue per language (/static/i18n/<lang>.json); the protocol's own texts
 * (the daemon's "mensaje" values) are shown as they come.
 */
(function () {
  "use strict";

  var HEALTH_POLL_MS = 2000;
  // Printer states are cached by the daemon for status_cache_seconds (3 s): polling at that pace puts a printer
  // that stopped answering on the banner within seconds without asking the printers more often.
  var PRINTERS_POLL_MS = 3000;
  var VIRTUAL_POLL_MS = 5000;
  var PREVIEW_DEBOUNCE_MS = 400;
  var LOG_LIMIT = 300; // entries kept on screen; older ones are dropped
  var VIRTUAL_JOBS_SHOWN = 6;
  var JOBS_SHOWN = 20;
  var JOBS_POLL_MS = 3000;
  var ORIGINS_POLL_MS = 3000;
  var BURST_SIZE = 10;
  // A ticket waiting longer than this is worth a line on the banner even when every printer says it is ready.
  var QUEUE_WAIT_WARN_SECONDS = 30;
  // Below this much free space on the data directory's disk the banner warns before new tickets are refused.
  var DISK_LOW_BYTES = 512 * 1024 * 1024;
  var MM_PER_INCH = 25.4;
  var LANGUAGES = ["es", "en"];
  var LANGUAGE_KEY = "ticket-daemon-language";
  // Printer states that stop printing, in the order the banner lists them (docs/protocol.md "Printers").
  var PRINTER_PROBLEMS = ["offline", "paper_out", "cover_open", "error", "paused"];
  var PENDING_STATES = { queued: true, printing: true, waiting: true };

  // ---- language ----------------------------------------------------------------------------------------------

  var catalogues = {};
  var language = "en";

  // The first of the browser's languages we have a catalogue for; English otherwise.
  function browserLanguage() {
    var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i]).toLowerCase().split("-")[0];
      if (LANGUAGES.indexOf(code) >= 0) return code;
    }
    return "en";
  }

  function storedLanguage() {
    try {
      var stored = localStorage.getItem(LANGUAGE_KEY);
      return LANGUAGES.indexOf(stored) >= 0 ? stored : null;
    } catch (e) {
      return null;
    }
  }

  function t(key, params) {
    var text = (catalogues[language] || {})[key];
    if (text === undefined) text = (catalogues.en || {})[key];
    if (text === undefined) return key;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return params && params[name] !== undefined ? String(params[name]) : whole;
    });
  }

  function tn(key, count, params) {
    return t(key + (count === 1 ? ".one" : ".other"), Object.assign({ n: count }, params || {}));
  }

  // Static words of the page: data-i18n (text), data-i18n-aria-label / -placeholder / -alt (attributes).
  function translatePage() {
    document.documentElement.lang = language;
    document.querySelectorAll("[data-i18n]").forEach(function (node) {
      node.textContent = t(node.dataset.i18n);
    });
    ["aria-label", "placeholder", "alt"].forEach(function (attribute) {
      document.querySelectorAll("[data-i18n-" + attribute + "]").forEach(function (node) {
        node.setAttribute(attribute, t(node.getAttribute("data-i18n-" + attribute)));
      });
    });
  }

  function setLanguage(code) {
    language = LANGUAGES.indexOf(code) >= 0 ? code : "en";
    $("language").value = language;
    translatePage();
    renderAll();
  }

  function loadCatalogues() {
    return Promise.all(
      LANGUAGES.map(function (code) {
        return fetch("/static/i18n/" + code + ".json", { cache: "no-cache" })
          .then(function (response) {
            return response.json();
          })
          .then(function (catalogue) {
            catalogues[code] = catalogue;
          });
      })
    );
  }

  // ---- templates: v1 documents (docs/document.md) ------------------------------------------------------------------

  var PROFILE = { model: "EC-PM-80250", paper_width: 80, code_table: "WPC1252", dpi: 203, has_qr: false };

  function text(value, style, align) {
    return { type: "text", data: { content: { text: value, content_style: style || {}, align: align || "left" } } };
  }

  function labelled(label, value, align) {
    return {
      type: "text",
      data: {
        label: { text: label, label_style: { bold: true }, separator: ": ", align: align || "left" },
        content: { text: value, align: align || "left" },
      },
    };
  }

  function nowText() {
    var d = new Date();
    function pad(n) {
      return (n < 10 ? "0" : "") + n;
    }
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function fullTicket() {
    return {
      version: "1.0",
      profile: PROFILE,
      commands: [
        text("CAFÉ DEL PUERTO", { bold: true, size: "2x2" }, "center"),
        text("Av. del Mar 12 · 29016 Málaga", {}, "center"),
        text("Tel. 952 000 000", { font: "B" }, "center"),
        { type: "separator", data: { char: "=" } },
        labelled(t("ticket.date"), nowText()),
        labelled(t("ticket.ticket"), "T-000123"),
        labelled(t("ticket.cashier"), "Lucía"),
        { type: "separator", data: { char: "-" } },
        {
          type: "table",
          data: {
            definition: {
              columns: [
                { name: t("ticket.qty"), width: 4, align: "right" },
                { name: t("ticket.item"), width: 30, align: "left" },
                { name: t("ticket.price"), width: 12, align: "right" },
              ],
            },
            show_headers: true,
            rows: [
              ["2", "Café con leche", "3.00"],
              ["1", "Tostada con tomate y aceite de oliva", "2.50"],
              ["1", "Zumo de naranja natural", "3.20"],
            ],
            options: { header_bold: true, word_wrap: true, column_spacing: 1 },
          },
        },
        { type: "separator", data: { char: "-" } },
        labelled("Subtotal", "7.91 €", "right"),
        labelled("IVA 10%", "0.79 €", "right"),
        {
          type: "text",
          data: {
            label: { text: "TOTAL", label_style: { bold: true, size: "2x1" }, separator: " ", align: "right" },
            content: { text: "8.70 €", content_style: { bold: true, size: "2x1" }, align: "right" },
          },
        },
        { type: "feed", data: { lines: 1 } },
        { type: "barcode", data: { symbology: "code128", data: "T-000123", height: 60, hri_position: "below" } },
        { type: "qr", data: { data: "https://example.com/receipt/T-000123", human_text: t("ticket.online"), pixel_width: 200 } },
        text(t("ticket.thanks"), { bold: true }, "center"),
        { type: "cut", data: { mode: "partial", feed: 3 } },
      ],
    };
  }

  var TEMPLATES = [
    {
      key: "simple",
      
      build: function () {
        return {
          version: "1.0",
          profile: PROFILE,
          commands: [
            text(t("ticket.hello"), { bold: true, size: "2x1" }, "center"),
            text(t("ticket.plain")),
            text(t("ticket.underlined"), { underline: "1pt" }),
            text(t("ticket.inverse"), { inverse: true }, "right"),
            text(t("ticket.small"), { font: "B" }),
            { type: "cut", data: { mode: "partial", feed: 3 } },
          ],
        };
      },
    },
    { key: "full", build: fullTicket },
    {
      key: "barcode",
      
      build: function () {
        return {
          version: "1.0",
          profile: PROFILE,
          commands: [
            text("EAN-13", { bold: true }, "center"),
            { type: "barcode", data: { symbology: "ean13", data: "5901234123457", hri_position: "below" } },
            text("CODE128", { bold: true }, "center"),
            { type: "barcode", data: { symbology: "code128", data: "ORDER-2024-0042", width: 2, height: 80 } },
            text("CODE39", { bold: true }, "center"),
            { type: "barcode", data: { symbology: "code39", data: "ABC-123", hri_position: "both" } },
            { type: "cut", data: { mode: "partial", feed: 3 } },
          ],
        };
      },
    },
    {
      key: "qr",
      
      build: function () {
        return {
          version: "1.0",
          profile: PROFILE,
          commands: [
            text(t("ticket.rate_us"), { bold: true }, "center"),
            {
              type: "qr",
              data: { data: "https://example.com/feedback?t=000123", human_text: "example.com/feedback", pixel_width: 256, correction: "M" },
            },
            { type: "cut", data: { mode: "partial", feed: 3 } },
          ],
        };
      },
    },
    {
      key: "table",
      
      build: function () {
        return {
          version: "1.0",
          profile: PROFILE,
          commands: [
            text(t("ticket.stock"), { bold: true, size: "1x2" }, "center"),
            {
              type: "table",
              data: {
                definition: {
                  columns: [
                    { name: t("ticket.code"), width: 8, align: "left" },
                    { name: t("ticket.description"), width: 24, align: "left" },
                    { name: t("ticket.units"), width: 6, align: "right" },
                    { name: t("ticket.shelf"), width: 6, align: "center" },
                  ],
                },
                show_headers: true,
                rows: [
                  ["A-001", "Olive oil 1 l", "12", "3B"],
                  ["A-002", "Sea salt flakes, 250 g box with a long name", "40", "1A"],
                  ["B-117", "Sparkling water", "96", "7C"],
                ],
                options: { header_bold: true, word_wrap: true, column_spacing: 1, auto_reduce: true },
              },
            },
            { type: "cut", data: { mode: "partial", feed: 3 } },
          ],
        };
      },
    },
    {
      key: "raw",
      
      build: function () {
        return {
          version: "1.0",
          profile: PROFILE,
          commands: [
            text(t("ticket.raw_follows")),
            {
              type: "raw",
              data: {
                hex: "1B 61 01 1B 45 01 52 41 57 20 4F 4B 0A 1B 45 00 1B 61 00",
                format: "hex",
                comment: "ESC a 1 (center), ESC E 1 (bold), 'RAW OK', LF, ESC E 0, ESC a 0",
                safe_mode: true,
              },
            },
            { type: "cut", data: { mode: "partial", feed: 3 } },
          ],
        };
      },
    },
    {
      key: "burst",
      
      repeat: BURST_SIZE,
      build: function () {
        return {
          version: "1.0",
          profile: PROFILE,
          commands: [
            text(t("ticket.burst"), { bold: true }, "center"),
                  { type: "cut", data: { mode: "partial", feed: 2 } },
          ],
        };
      },
    },
  ];

  // ---- small helpers ----------------------------------------------------------------------------------------

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, className, textContent) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (textContent !== undefined) node.textContent = textContent;
    return node;
  }

  function button(label, onClick) {
    var node = el("button", "btn btn-small needs-link", label);
    node.type = "button";
    node.disabled = !connected();
    node.addEventListener("click", onClick);
    return node;
  }

  function clock() {
    var d = new Date();
    return d.toTimeString().slice(0, 8) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }

  function formatDuration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var d = Math.floor(seconds / 86400);
    var h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    if (d) return t("uptime.days", { d: d, h: h });
    if (h) return t("uptime.hours", { h: h, m: m });
    if (m) return t("uptime.minutes", { m: m, s: s });
    return t("uptime.seconds", { s: s });
  }

  function formatNumber(value, digits) {
    return Number(value).toLocaleString(language, { maximumFractionDigits: digits, minimumFractionDigits: digits });
  }

  function formatBytes(bytes) {
    var units = ["B", "KB", "MB", "GB", "TB"];
    var unit = 0;
    while (bytes >= 1024 && unit < units.length - 1) {
      bytes /= 1024;
      unit += 1;
    }
    return formatNumber(bytes, unit && bytes < 10 ? 1 : 0) + " " + units[unit];
  }

  // The service's auth token (server.auth_token). The operator's own page is handed it in
  // <meta name="ticket-auth-token">; otherwise it is asked once per browser session and kept in sessionStorage
  // (gone when the tab closes). Sent as "Authorization: Bearer" with API calls and as auth_token on the socket.
  var TOKEN_KEY = "ticket-daemon-auth-token";
  function handedToken() {
    var meta = document.querySelector('meta[name="ticket-auth-token"]');
    return meta ? (meta.getAttribute("content") || "").trim() : "";
  }

  function authToken() {
    var handed = handedToken();
    if (handed) return handed;
    var typed = $("auth-token").value.trim();
    if (typed) {
      try {
        sessionStorage.setItem(TOKEN_KEY, typed);
      } catch (e) {}
      return typed;
    }
    try {
      return sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (e) {
      return "";
    }
  }

  // fetch() that sends the user to the login page when the session has expired, with the token when one is known.
  function api(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.cache = "no-store";
    var token = authToken();
    if (token) options.headers = Object.assign({}, options.headers || {}, { Authorization: "Bearer " + token });
    return fetch(url, options).then(function (response) {
      if (response.status === 401) {
        response
          .clone()
          .json()
          .then(function (body) {
            if (body && body.mensaje === "Invalid or missing auth token") askForToken();
            else if (state.passwordRequired) window.location.assign("/login?expired=1");
          })
          .catch(function () {});
      }
      return response;
    });
  }

  // ---- state ------------------------------------------------------------------------------------------------

  var state = {
    passwordRequired: false,
    printers: null, // the last get_printers reply's printers (null: none received yet)
    printersSummary: {},
    answered: {}, // printer name → it has answered a status check since this page opened
    health: null, // the last /health report
    healthReachable: false,
    jobs: null, // the last recent-jobs list (null: not readable, e.g. no token yet)
    origins: null, // the last /api/v1/origins body
    originsText: "", // ... as JSON text: the lists are redrawn only when it changes
    preview: null, // {blob, width, height, paper, dpi} of the preview shown
    zoomed: false,
    previewSeq: 0,
    previewTimer: null,
    virtualSignature: "",
    virtualGroups: [],
    tokenAsked: false,
    bannerSignature: "",
    feedback: {}, // element id → {key, params, tone}: redrawn in the new language on a switch
  };

  var client = new TicketClient({ clientId: "dashboard-" + TicketClient.newId("tab").slice(-8) });

  function connected() {
    return client.state === "open";
  }

  // ---- transaction log --------------------------------------------------------------------------------------

  // Emoji and pictographs (the daemon's greeting starts with one) need a colour-emoji font a till often lacks:
  // the summary leaves them out and the JSON shows them as \u escapes, which is the same JSON.
  var PICTOGRAPHS = /[\u2300-\u23FF\u2600-\u27BF\u2B00-\u2BFF\uFE0F]|[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

  function withoutPictographs(text) {
    return String(text).replace(PICTOGRAPHS, "").replace(/\s{2,}/g, " ").trim();
  }

  function escapePictographs(json) {
    return json.replace(PICTOGRAPHS, function (found) {
      var escaped = "";
      for (var i = 0; i < found.length; i++) escaped += "\\u" + found.charCodeAt(i).toString(16).toUpperCase().padStart(4, "0");
      return escaped;
    });
  }

  function summarise(message) {
    var parts = [];
    if (message.id) parts.push(message.id);
    if (message.status) parts.push(message.status);
    if (message.mensaje) parts.push(withoutPictographs(message.mensaje));
    if (message.tipo === "status" || message.tipo === "ack") {
      if (message.current !== undefined) parts.push("queue " + message.current + "/" + message.capacity);
    }
    if (message.tipo === "printers" && message.printers) parts.push(message.printers.length + " printer(s)");
    if (message.tipo === "ticket" && message.printer) parts.push("printer " + message.printer);
    return parts.join(" · ");
  }

  function log(direction, message) {
    var list = $("log");
    var item = el("li", "log-entry log-" + direction);
    if (message.status === "error" || message.tipo === "error") item.classList.add("log-error");
    if (message.tipo === "result" && message.status === "success") item.classList.add("log-success");
    var head = el("div", "log-head");
    head.appendChild(el("span", "log-time", clock()));
    head.appendChild(el("span", "log-dir", direction === "out" ? t("log.sent") : direction === "in" ? t("log.received") : t("log.note")));
    head.appendChild(el("span", "log-type", message.tipo || "note"));
    head.appendChild(el("span", "log-summary", summarise(message)));
    item.appendChild(head);
    var details = el("details", "log-json");
    details.appendChild(el("summary", "", "JSON"));
    var shown = message;
    if (message.tipo === "preview" && typeof message.image === "string") {
      shown = Object.assign({}, message, { image: "<" + message.image.length + " base64 chars>" });
    }
    if (message.auth_token) shown = Object.assign({}, shown, { auth_token: "****" });
    details.appendChild(el("pre", "", escapePictographs(JSON.stringify(shown, null, 2))));
    item.appendChild(details);
    list.insertBefore(item, list.firstChild);
    while (list.children.length > LOG_LIMIT) list.removeChild(list.lastChild);
  }

  function note(text, isError) {
    log("note", { tipo: isError ? "error" : "note", status: isError ? "error" : undefined, mensaje: text });
  }

  client.on("sent", function (message, request) {
    if (!request || !request.quiet) log("out", message);
  });
  client.on("message", function (message, request) {
    if (!request || !request.quiet) log("in", message);
    if (message.tipo === "result") scheduleVirtualRefresh(600);
    if (message.tipo === "ack" || message.tipo === "result" || message.tipo === "job") scheduleJobsRefresh(300);
    if ((message.tipo === "status" || message.tipo === "ack") && message.capacity !== undefined && state.health) {
      state.health.queue = { current: message.current, capacity: message.capacity };
      showHealth();
    }
  });

  // ---- connection: while it is down the page says so and nothing can be pressed that needs it ---------------

  client.on("state", function () {
    showConnection();
    if (connected()) refreshPrinters(false);
  });

  function showConnection() {
    var connection = client.state;
    var pill = $("connection");
    pill.dataset.state = connection;
    pill.className = "pill " + (connection === "open" ? "pill-ok" : connection === "connecting" ? "pill-warn" : "pill-bad");
    pill.textContent = t("connection." + connection);
    var offline = !connected();
    document.body.classList.toggle("disconnected", offline);
    document.querySelectorAll(".needs-link").forEach(function (node) {
      node.disabled = offline;
    });
    updateSendButton();
    showHealth();
    showBanner();
  }

  // ---- the banner: what needs doing, named, at the top ------------------------------------------------------

  // Tickets not finished yet, by printer, from the spool's recent jobs (null when the list cannot be read).
  function pendingByPrinter() {
    if (!state.jobs) return null;
    var counts = {};
    state.jobs.forEach(function (job) {
      if (PENDING_STATES[job.status]) counts[job.printer] = (counts[job.printer] || 0) + 1;
    });
    return counts;
  }

  function bannerItems() {
    var items = [];
    if (!connected()) {
      items.push({ tone: "bad", text: t("banner.disconnected"), todo: t("banner.disconnected.do") });
      return items;
    }
    var health = state.health || {};
    var queue = health.queue || {};
    var pending = pendingByPrinter();
    var printers = (state.printers || []).filter(function (printer) {
      return printer.source === undefined; // configured ones; printers only found on this computer print nothing
    });
    var named = 0;
    PRINTER_PROBLEMS.forEach(function (problem) {
      printers.forEach(function (printer) {
        if (printer.status !== problem) return;
        var waiting = pending ? pending[printer.name] || 0 : printers.length === 1 ? queue.current || 0 : 0;
        named += waiting;
        var text = t("banner." + problem, { name: printer.name }) + (waiting ? tn("banner.waiting", waiting) : "");
        items.push({ tone: "bad", text: text, todo: t("banner." + problem + ".do") });
      });
    });
    var spool = health.spool || {};
    if (spool.status === "degraded" || spool.status === "error") {
      items.push({
        tone: "bad",
        text: t("banner.spool", { reason: spool.reason || spool.mensaje || "" }),
        todo: t("banner.spool.do"),
      });
    }
    var disk = health.disk;
    if (disk && typeof disk.free_bytes === "number" && disk.free_bytes < DISK_LOW_BYTES) {
      items.push({ tone: "warn", text: t("banner.disk", { free: formatBytes(disk.free_bytes) }), todo: t("banner.disk.do") });
    }
    if (health.worker && health.worker.running === false) {
      items.push({ tone: "bad", text: t("banner.worker"), todo: t("banner.worker.do") });
    }
    // Tickets waiting long while no printer above explains it.
    var total = queue.current || 0;
    if (total > named && (spool.oldest_waiting_seconds || 0) >= QUEUE_WAIT_WARN_SECONDS) {
      items.push({
        tone: "warn",
        text: tn("banner.queue", total),
        todo: t("banner.queue.do", { wait: formatDuration(spool.oldest_waiting_seconds) }),
      });
    }
    return items;
  }

  function showBanner() {
    var items = bannerItems();
    var signature = language + JSON.stringify(items);
    if (signature === state.bannerSignature) return; // unchanged: an alert is announced again only when it changes
    state.bannerSignature = signature;
    var banner = $("banner");
    banner.textContent = "";
    items.forEach(function (item) {
      var line = el("p", "banner-item banner-" + item.tone);
      line.appendChild(el("strong", "banner-text", item.text));
      line.appendChild(el("span", "banner-todo", item.todo));
      banner.appendChild(line);
    });
    banner.hidden = items.length === 0;
  }

  // ---- health cards -----------------------------------------------------------------------------------------

  function showHealth() {
    var health = state.health;
    var badge = $("health-status");
    if (!health) {
      badge.textContent = t(state.healthReachable ? "health.unknown" : "health.unreachable");
      badge.className = "badge " + (state.healthReachable ? "badge-muted" : "badge-bad");
      return;
    }
    if (health.queue) {
      var current = health.queue.current;
      var capacity = health.queue.capacity;
      $("queue-current").textContent = current;
      $("queue-capacity").textContent = capacity;
      var ratio = capacity ? Math.min(1, current / capacity) : 0;
      var gauge = $("queue-gauge");
      gauge.style.width = (ratio * 100).toFixed(1) + "%";
      gauge.className = "gauge-fill" + (ratio >= 0.9 ? " gauge-bad" : ratio >= 0.6 ? " gauge-warn" : "");
    }
    if (health.worker) {
      $("jobs-processed").textContent = health.worker.jobs_processed;
      $("jobs-failed").textContent = health.worker.jobs_failed;
    }
    if (health.uptime_seconds !== undefined) $("uptime").textContent = formatDuration(health.uptime_seconds);
    var problems = bannerItems().filter(function (item) {
      return item.tone === "bad";
    }).length;
    var good = health.status === "ok" && !problems;
    if (!state.healthReachable || !connected()) {
      badge.textContent = t("health.unreachable");
      badge.className = "badge badge-bad";
    } else {
      badge.textContent = t(good ? "health.ok" : "health.degraded");
      badge.className = "badge " + (good ? "badge-ok" : "badge-warn");
    }
    // Why "degraded": docs/protocol.md "GET /health" says so when no printer is configured, a worker is down or
    // the spool cannot write; say which, so nobody hunts for a fault that is only a missing printer.
    var reasons = [];
    var printers = health.printers || {};
    if (printers.status === "error") reasons.push(t("health.no_printer"));
    if (printers.status === "ok" && printers.thermal_count === 0) reasons.push(t("health.virtual_only"));
    if (printers.status === "warning") reasons.push(t("health.no_thermal"));
    if (health.worker && health.worker.running === false) reasons.push(t("health.worker_stopped"));
    if (health.spool && health.spool.status && health.spool.status !== "ok") reasons.push(t("health.spool_degraded"));
    // The MQTT broker link (docs/protocol.md "MQTT"), when configured: its state and why it is not connected.
    if (health.mqtt) {
      reasons.push(
        t("health.broker", { broker: health.mqtt.broker, state: health.mqtt.state }) +
          (health.mqtt.state !== "connected" && health.mqtt.last_error ? " (" + health.mqtt.last_error + ")" : "")
      );
    }
    $("health-detail").textContent = reasons.join(" · ");
  }

  function pollHealth() {
    api("/health")
      .then(function (response) {
        return response.json();
      })
      .then(function (health) {
        state.health = health;
        state.healthReachable = true;
        document.body.classList.remove("health-stale");
        showHealth();
        showBanner();
      })
      .catch(function () {
        state.healthReachable = false;
        document.body.classList.add("health-stale");
        showHealth();
      });
  }

  // ---- printers -----------------------------------------------------------------------------------------------

  var STATUS_CLASS = { ready: "badge-ok", paused: "badge-warn", unknown: "badge-muted" };
  // PrinterDetail.driver (docs/protocol.md) → how a shop owner would call that kind of printer.
  var KIND_OF_DRIVER = {
    "ESC/POS emulator": "virtual",
    "ESC/POS raw TCP": "network",
    "ESC/POS raw via CUPS": "cups",
    "ESC/POS raw via Windows spooler": "windows",
    "ESC/POS raw serial": "serial",
    "ESC/POS raw USB": "usb",
    "ESC/POS raw device": "device",
  };

  // A printer that answered its status on this page and now does not ("unknown": the link cannot read it back,
  // e.g. a network printer that accepts the connection but is hung) is not responding. Printers that never
  // answered (CUPS, Windows, USB without read-back) stay "unknown": for them that is normal.
  function effectiveState(printer) {
    if (printer.status !== "unknown") {
      state.answered[printer.name] = true;
      return printer;
    }
    return state.answered[printer.name] ? Object.assign({}, printer, { status: "offline" }) : printer;
  }

  function printerKind(printer) {
    if (printer.is_virtual) return t("printer.kind.virtual");
    return t("printer.kind." + (KIND_OF_DRIVER[printer.driver] || "other"), { where: printer.port || printer.uri || "" });
  }

  function profileText(printer) {
    var profile = printer.profile;
    if (!profile) return "";
    if (typeof profile === "object") {
      var parts = [profile.model, profile.paper_width ? profile.paper_width + " mm" : ""].filter(Boolean);
      profile = parts.join(", ");
    }
    if (!profile) return "";
    return printer.profile_source
      ? t("printers.profile_source", { profile: profile, source: printer.profile_source })
      : t("printers.profile", { profile: profile });
  }

  function showPrinters() {
    var list = $("printer-list");
    list.textContent = "";
    if (state.printers === null) {
      list.appendChild(el("li", "hint", t("printers.waiting")));
      return;
    }
    if (!state.printers.length) list.appendChild(el("li", "hint", t("printers.none")));
    state.printers.forEach(function (printer) {
      var item = el("li", "printer");
      item.dataset.printer = printer.name;
      item.dataset.status = printer.status;
      var main = el("div", "printer-main");
      main.appendChild(el("span", "printer-name", printer.name));
      if (printer.is_default) main.appendChild(el("span", "tag", t("printers.default")));
      if (printer.source !== undefined) main.appendChild(el("span", "tag tag-muted", t("printers.found")));
      item.appendChild(main);
      var about = el("div", "printer-about");
      about.appendChild(el("span", "printer-kind", printerKind(printer)));
      var profile = profileText(printer);
      if (profile) about.appendChild(el("span", "printer-profile hint", profile));
      item.appendChild(about);
      var known = t("printer.status." + printer.status) !== "printer.status." + printer.status;
      item.appendChild(
        el("span", "badge printer-status " + (STATUS_CLASS[printer.status] || "badge-bad"), known ? t("printer.status." + printer.status) : printer.status)
      );
      list.appendChild(item);
    });
    $("printers-summary").textContent = state.printersSummary.default_name
      ? t("printers.summary", { name: state.printersSummary.default_name })
      : "";

    var select = $("printer");
    var chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    state.printers.forEach(function (printer) {
      if (printer.source !== undefined) return;
      var option = el("option", "", printer.is_default ? t("editor.printer_default", { name: printer.name }) : printer.name);
      option.value = printer.name;
      select.appendChild(option);
    });
    select.value = chosen;
    if (select.value !== chosen) select.value = "";
  }

  function refreshPrinters(quiet) {
    if (!connected()) return;
    client
      .getPrinters({ quiet: quiet })
      .then(function (reply) {
        state.printers = (reply.printers || []).map(effectiveState);
        state.printersSummary = reply.summary || {};
        showPrinters();
        showBanner();
        showHealth();
        refreshVirtual();
      })
      .catch(function (error) {
        if (!quiet) note(t("note.printers_failed", { error: error.message }), true);
      });
  }

  // ---- virtual printer output -----------------------------------------------------------------------------

  var virtualTimer = null;
  function scheduleVirtualRefresh(delay) {
    clearTimeout(virtualTimer);
    virtualTimer = setTimeout(refreshVirtual, delay);
  }

  function refreshVirtual() {
    var virtuals = (state.printers || []).filter(function (printer) {
      return printer.is_virtual;
    });
    Promise.all(
      virtuals.map(function (printer) {
        return api("/api/v1/virtual/" + encodeURIComponent(printer.name) + "/jobs")
          .then(function (response) {
            return response.ok ? response.json() : { jobs: [] };
          })
          .then(function (body) {
            return { printer: printer.name, jobs: body.jobs || [] };
          })
          .catch(function () {
            return { printer: printer.name, jobs: [] };
          });
      })
    ).then(function (groups) {
      state.virtualGroups = groups;
      showVirtual(false);
    });
  }

  function showVirtual(force) {
    var groups = state.virtualGroups;
    var signature = JSON.stringify(
      groups.map(function (group) {
        return [group.printer, group.jobs.slice(0, VIRTUAL_JOBS_SHOWN).map(function (job) { return job.job; })];
      })
    );
    if (!force && signature === state.virtualSignature) return; // unchanged: keep the images where they are
    state.virtualSignature = signature;
    var box = $("virtual-output");
    box.textContent = "";
    var any = false;
    groups.forEach(function (group) {
      if (!group.jobs.length) return;
      any = true;
      var section = el("div", "virtual-printer");
      section.appendChild(el("h3", "", group.printer));
      var strip = el("div", "virtual-jobs");
      strip.tabIndex = 0; // the strip scrolls sideways: reachable with the keyboard too
      group.jobs.slice(0, VIRTUAL_JOBS_SHOWN).forEach(function (job) {
        var card = el("figure", "virtual-job");
        var img = el("img");
        img.src = job.png_url;
        img.alt = t("virtual.alt", { job: job.job, printer: group.printer });
        img.loading = "lazy";
        card.appendChild(img);
        var caption = el("figcaption");
        caption.appendChild(el("span", "virtual-job-id", "#" + job.job));
        if (job.created) caption.appendChild(el("span", "hint", new Date(job.created).toLocaleTimeString(language)));
        card.appendChild(caption);
        if (job.transcript) {
          var details = el("details");
          details.appendChild(el("summary", "", t("virtual.transcript")));
          details.appendChild(el("pre", "", job.transcript));
          card.appendChild(details);
        }
        strip.appendChild(card);
      });
      section.appendChild(strip);
      box.appendChild(section);
    });
    if (!any) box.appendChild(el("p", "hint", t("virtual.none")));
  }

  // ---- recent jobs (GET /api/v1/jobs; POST /api/v1/jobs/{id}/reprint and /cancel?seq=N) ------------------
  // Ids are scoped per client (two tills may both send "order-1"): a job is listed with its owner and its
  // buttons name it by seq, so they act on exactly the job shown.

  var JOB_STATE_CLASS = { success: "badge-ok", queued: "badge-muted", printing: "badge-muted", waiting: "badge-warn" };
  var LOCAL_ADDRESSES = { "127.0.0.1": true, "::1": true, localhost: true };
  var jobsTimer = null;
  function scheduleJobsRefresh(delay) {
    clearTimeout(jobsTimer);
    jobsTimer = setTimeout(refreshJobs, delay);
  }

  function refreshJobs() {
    return api("/api/v1/jobs?limit=" + JOBS_SHOWN)
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        state.jobs = body ? body.jobs || [] : null;
        showJobs();
        showBanner();
      })
      .catch(function () {});
  }

  function jobAction(job, action) {
    var path = "/api/v1/jobs/" + encodeURIComponent(job.id) + "/" + action + "?seq=" + encodeURIComponent(job.seq);
    api(path, { method: "POST" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) note(body.mensaje || t("jobs.action_failed", { id: job.id }), true);
          else note(action === "reprint" ? t("jobs.reprint_queued", { id: body.id }) : t("jobs.cancelled", { id: job.id }), false);
        });
      })
      .catch(function (error) {
        note(String(error), true);
      })
      .then(function () {
        scheduleJobsRefresh(200);
      });
  }

  // Who sent it, in words: the till's own name, else "this computer" or the address it came from.
  function ownerText(owner) {
    if (!owner) return "";
    var address = /^addr\/(.*)$/.exec(owner);
    if (owner === client.clientId) return t("jobs.from_this_page");
    if (!address) return t("jobs.from_client", { client: owner });
    return LOCAL_ADDRESSES[address[1]] ? t("jobs.from_here") : t("jobs.from_address", { address: address[1] });
  }

  function showJobs() {
    var list = $("job-list");
    list.textContent = "";
    var jobs = state.jobs || [];
    if (!jobs.length) {
      list.appendChild(el("li", "hint", t("jobs.none")));
      return;
    }
    jobs.forEach(function (job) {
      var item = el("li", "printer job-item");
      item.dataset.jobId = job.id;
      item.dataset.jobSeq = String(job.seq);
      var main = el("div", "printer-main");
      main.appendChild(el("span", "printer-name job-id", job.id));
      var stateBadge = el("span", "badge job-state " + (JOB_STATE_CLASS[job.status] || "badge-bad"), t("job.status." + job.status));
      stateBadge.dataset.status = job.status;
      main.appendChild(stateBadge);
      if (job.created_at) main.appendChild(el("span", "hint", new Date(job.created_at * 1000).toLocaleTimeString(language)));
      item.appendChild(main);
      var about = el("div", "printer-about");
      about.appendChild(el("span", "hint job-where", [t("jobs.on_printer", { printer: job.printer }), ownerText(job.client_id)].filter(Boolean).join(" · ")));
      about.appendChild(el("span", "job-message", job.mensaje || ""));
      item.appendChild(about);
      var actions = el("div", "job-actions");
      actions.appendChild(button(t("jobs.reprint"), function () {
        jobAction(job, "reprint");
      }));
      if (job.status === "queued" || job.status === "waiting") {
        actions.appendChild(button(t("jobs.cancel"), function () {
          jobAction(job, "cancel");
        }));
      }
      item.appendChild(actions);
      list.appendChild(item);
    });
  }

  // ---- blocked and allowed sites (GET/POST/DELETE /api/v1/origins) -------------------------------------------

  function refreshOrigins() {
    return api("/api/v1/origins")
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        // Rebuilt only when something changed: a list redrawn under the operator's pointer every few seconds would
        // swallow a click that lands while it is being replaced.
        var text = body ? JSON.stringify(body) : "";
        if (body && text !== state.originsText) {
          state.originsText = text;
          state.origins = body;
          showOrigins();
        }
      })
      .catch(function () {});
  }

  function changeOrigin(method, origin, doneKey) {
    var url = "/api/v1/origins" + (method === "DELETE" ? "?origin=" + encodeURIComponent(origin) : "");
    var options = { method: method };
    if (method === "POST") {
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify({ origin: origin });
    }
    api(url, options)
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            note(body.mensaje || t("origins.failed"), true);
            return;
          }
          note(t(doneKey, { origin: origin }), false);
          state.origins = body;
          state.originsText = JSON.stringify(body);
          showOrigins();
        });
      })
      .catch(function (error) {
        note(String(error), true);
      });
  }

  function originName(origin) {
    return origin === "null" ? t("origins.null_name") : origin;
  }

  // Asks in a dialog; calls onYes only when the operator confirms.
  function confirmAction(title, text, warning, okLabel, danger, onYes) {
    var dialog = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-text").hidden = !text;
    $("confirm-warning").textContent = warning || "";
    $("confirm-warning").hidden = !warning;
    var ok = $("confirm-ok");
    ok.textContent = okLabel;
    ok.className = "btn " + (danger ? "btn-danger" : "btn-primary");
    dialog.returnValue = "";
    dialog.onclose = function () {
      if (dialog.returnValue === "ok") onYes();
    };
    dialog.showModal();
    $("confirm-cancel").focus(); // the safe answer is the default one
  }

  function askToAllow(origin) {
    if (origin === "null") {
      confirmAction(t("confirm.allow_null_title"), "", t("origins.null_warning"), t("confirm.allow_anyway"), true, function () {
        changeOrigin("POST", origin, "origins.allowed_note");
      });
      return;
    }
    confirmAction(t("confirm.allow_title", { origin: origin }), t("confirm.allow_text"), "", t("origins.allow"), false, function () {
      changeOrigin("POST", origin, "origins.allowed_note");
    });
  }

  function askToRemove(origin) {
    confirmAction(t("confirm.remove_title", { origin: originName(origin) }), t("confirm.remove_text"), "", t("origins.remove"), true, function () {
      changeOrigin("DELETE", origin, "origins.removed_note");
    });
  }

  function showOrigins() {
    var body = state.origins || { allowed: [], blocked: [] };
    var configured = body.configured || [];
    var allowedList = $("allowed-list");
    allowedList.textContent = "";
    var allowed = body.allowed || [];
    allowed.forEach(function (origin) {
      var item = el("li", "printer allowed-site");
      item.dataset.origin = origin;
      var main = el("div", "printer-main");
      main.appendChild(el("span", "printer-name allowed-origin", origin === "*" ? t("origins.any") : originName(origin)));
      item.appendChild(main);
      if (origin === "null") item.appendChild(el("span", "hint origin-warning", t("origins.null_warning")));
      else item.appendChild(el("span"));
      var actions = el("div", "job-actions");
      if (configured.indexOf(origin) >= 0 || origin === "*") actions.appendChild(el("span", "tag tag-muted", t("origins.configured")));
      else actions.appendChild(button(t("origins.remove"), function () {
        askToRemove(origin);
      }));
      item.appendChild(actions);
      allowedList.appendChild(item);
    });
    if (!allowed.length) allowedList.appendChild(el("li", "hint", t("origins.no_more")));

    var list = $("blocked-list");
    list.textContent = "";
    var blocked = body.blocked || [];
    if (!blocked.length) {
      list.appendChild(el("li", "hint", t("origins.none")));
      return;
    }
    blocked.forEach(function (site) {
      var item = el("li", "printer blocked-site");
      item.dataset.origin = site.origin;
      var main = el("div", "printer-main");
      main.appendChild(el("span", "printer-name blocked-origin", originName(site.origin)));
      main.appendChild(el("span", "tag tag-muted", tn("origins.attempts", site.attempts)));
      main.appendChild(el("span", "hint", new Date(site.last_seen).toLocaleTimeString(language)));
      item.appendChild(main);
      if (site.origin === "null") item.appendChild(el("span", "hint origin-warning", t("origins.null_warning")));
      else item.appendChild(el("span"));
      var actions = el("div", "job-actions");
      actions.appendChild(button(t("origins.allow"), function () {
        askToAllow(site.origin);
      }));
      item.appendChild(actions);
      list.appendChild(item);
    });
  }

  // ---- editor + preview ----------------------------------------------------------------------------------

  function currentTemplate() {
    var key = $("template").value;
    return TEMPLATES.filter(function (template) { return template.key === key; })[0] || TEMPLATES[0];
  }

  function loadTemplate() {
    $("editor").value = JSON.stringify(currentTemplate().build(), null, 2);
    onEdit();
  }

  // The editor holds a document; a whole `ticket` message is accepted too (its datos, id and printer are used).
  function readEditor() {
    var source = $("editor").value;
    var parsed;
    try {
      parsed = JSON.parse(source);
    } catch (e) {
      return { error: "JSON: " + e.message };
    }
    if (parsed && typeof parsed === "object" && parsed.tipo === "ticket" && parsed.datos) {
      return { document: parsed.datos, id: parsed.id, printer: parsed.printer };
    }
    return { document: parsed };
  }

  function updateSendButton() {
    $("send").disabled = !connected() || !!readEditor().error;
  }

  function showEditorState() {
    var read = readEditor();
    var status = $("editor-state");
    status.textContent = read.error ? read.error + " · " + t("editor.fix_to_send") : t("editor.valid");
    status.className = "editor-state " + (read.error ? "editor-bad" : "editor-ok");
    updateSendButton();
    return read;
  }

  function onEdit() {
    var read = showEditorState();
    clearTimeout(state.previewTimer);
    state.previewTimer = setTimeout(function () {
      preview(read);
    }, PREVIEW_DEBOUNCE_MS);
  }

  function showPreviewError(message) {
    state.preview = null;
    $("preview-paper").hidden = true;
    $("preview-empty").hidden = true;
    $("preview-zoom-hint").textContent = "";
    var box = $("preview-error");
    box.hidden = false;
    box.textContent = "";
    var match = /^([A-Z]+):\s*([\s\S]*)$/.exec(message);
    if (match) {
      box.appendChild(el("span", "badge badge-bad", match[1]));
      box.appendChild(el("span", "preview-error-text", match[2]));
    } else {
      box.appendChild(el("span", "preview-error-text", message));
    }
    $("preview-meta").textContent = "";
    $("preview-warnings").hidden = true;
  }

  // docs/document.md "Lenient (default) and strict": what the daemon printed with a default instead of what the
  // document says, one "CATEGORY: sentence" each (strict mode would refuse the document). Sent as a JSON array in
  // X-Render-Notes.
  function showPreviewWarnings(header) {
    var list = $("preview-warnings");
    list.textContent = "";
    var notes = [];
    try {
      notes = header ? JSON.parse(header) : [];
    } catch (e) {
      notes = [];
    }
    notes.forEach(function (text) {
      var item = el("li", "preview-warning");
      item.appendChild(el("span", "badge", t("preview.warning")));
      item.appendChild(el("span", "preview-error-text", String(text)));
      list.appendChild(item);
    });
    list.hidden = notes.length === 0;
  }

  // The paper the receipt is printed on: the document's profile paper width (58 or 80 mm) at its dpi, so the
  // printable area (the image, exact dots) sits between the paper's margins as on the real roll.
  function paperOf(documentV1) {
    var profile = (documentV1 && documentV1.profile) || {};
    var paper = Number(profile.paper_width) || 80;
    var dpi = Number(profile.dpi) || 203;
    return { paper: paper, dpi: dpi };
  }

  function showPreviewImage(blob, width, height, paper) {
    var img = $("preview-image");
    if (img.dataset.url) URL.revokeObjectURL(img.dataset.url);
    var url = URL.createObjectURL(blob);
    img.dataset.url = url;
    img.src = url;
    state.preview = { width: Number(width) || 0, height: Number(height) || 0, paper: paper.paper, dpi: paper.dpi };
    $("preview-paper").hidden = false;
    $("preview-error").hidden = true;
    $("preview-empty").hidden = true;
    layoutPreview();
  }

  function layoutPreview() {
    var shown = state.preview;
    var sheet = $("preview-paper");
    var img = $("preview-image");
    if (!shown || !shown.width) {
      $("preview-meta").textContent = "";
      return;
    }
    var paperDots = Math.max(shown.width, Math.round((shown.paper / MM_PER_INCH) * shown.dpi));
    // The image keeps its share of the paper's width whatever the paper is scaled to.
    img.style.width = ((shown.width / paperDots) * 100).toFixed(3) + "%";
    sheet.style.width = paperDots + "px";
    sheet.classList.toggle("paper-zoomed", state.zoomed);
    $("preview-box").classList.toggle("preview-zoomed", state.zoomed);
    $("preview-meta").textContent = t("preview.meta", {
      paper: formatNumber(shown.paper, 0),
      printed: formatNumber((shown.width / shown.dpi) * MM_PER_INCH, 0),
      length: formatNumber((shown.height / shown.dpi) * 2.54, 1),
    });
    $("preview-zoom-hint").textContent = t(state.zoomed ? "preview.zoom_out" : "preview.zoom_in");
  }

  function errorText(response) {
    return response.text().then(function (body) {
      try {
        var parsed = JSON.parse(body);
        return parsed.mensaje || parsed.error || parsed.detail || body;
      } catch (e) {
        return body || "HTTP " + response.status;
      }
    });
  }

  function preview(read) {
    if (read.error) {
      showPreviewError(read.error);
      return;
    }
    var seq = ++state.previewSeq;
    api("/api/v1/preview", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(read.document),
    })
      .then(function (response) {
        if (seq !== state.previewSeq) return null; // a newer edit is already on its way
        if (response.ok) {
          return response.blob().then(function (blob) {
            if (seq !== state.previewSeq) return;
            showPreviewImage(blob, response.headers.get("X-Image-Width"), response.headers.get("X-Image-Height"), paperOf(read.document));
            showPreviewWarnings(response.headers.get("X-Render-Notes"));
          });
        }
        return errorText(response).then(function (message) {
          if (seq === state.previewSeq) showPreviewError(message);
        });
      })
      .catch(function (error) {
        if (seq === state.previewSeq) showPreviewError(t("preview.unavailable", { error: error.message }));
      });
  }

  // ---- printing, with its outcome shown next to the button that printed -------------------------------------

  function askForToken() {
    if (state.tokenAsked || handedToken()) return;
    state.tokenAsked = true;
    note(t("note.token_needed"), true);
    $("auth-token").focus();
  }

  // Feedback words are kept as (key, params) so a language switch redraws them.
  function feedback(id, tone, key, params) {
    state.feedback[id] = { tone: tone, key: key, params: params || {} };
    showFeedback(id);
  }

  function showFeedback(id) {
    var shown = state.feedback[id];
    var node = $(id);
    if (!shown) return;
    node.className = "feedback feedback-" + shown.tone;
    node.textContent = t(shown.key, shown.params);
  }

  // Prints `count` copies (ids from makeId) and reports each step at the feedback element `target`.
  function printWithFeedback(target, documentV1, count, makeId, printer) {
    if (!connected()) {
      feedback(target, "bad", "feedback.not_connected");
      return;
    }
    var done = 0;
    var failed = 0;
    var lastError = "";
    var lastId = "";
    feedback(target, "busy", "feedback.sending");
    function settle() {
      if (done + failed < count) {
        if (count > 1) feedback(target, "busy", "feedback.burst", { done: done, total: count });
        return;
      }
      if (count === 1) {
        if (failed) feedback(target, "bad", "feedback.failed", { mensaje: lastError });
        else feedback(target, "ok", "feedback.printed", { id: lastId });
      } else if (failed) {
        feedback(target, "bad", "feedback.burst_failed", { done: done, total: count, failed: failed });
      } else {
        feedback(target, "ok", "feedback.burst", { done: done, total: count });
      }
    }
    var token = authToken();
    for (var i = 1; i <= count; i++) {
      client
        .print(documentV1, {
          id: makeId(i),
          printer: printer || $("printer").value || undefined,
          authToken: token || undefined,
          onAck: function (ack) {
            if (count === 1 && ack.status !== "duplicate") feedback(target, "busy", "feedback.queued");
          },
          onJob: function (job) {
            if (count === 1 && job.status === "waiting") feedback(target, "warn", "feedback.waiting", { mensaje: job.mensaje || "" });
          },
        })
        .then(function (result) {
          done += 1;
          lastId = result.id;
          settle();
        })
        .catch(function (error) {
          // The reply itself is in the log; the daemon's own sentence is shown as it came.
          failed += 1;
          lastError = error.message;
          settle();
        });
    }
  }

  function send() {
    var read = readEditor();
    if (read.error) return;
    var repeat = currentTemplate().repeat && !read.id ? currentTemplate().repeat : 1;
    var stamp = Date.now().toString(36);
    printWithFeedback(
      "send-feedback",
      read.document,
      repeat,
      function (i) {
        return read.id || (repeat > 1 ? "burst-" + stamp + "-" + String(i).padStart(2, "0") : TicketClient.newId("job"));
      },
      read.printer
    );
  }

  function printTestTicket() {
    printWithFeedback("print-test-feedback", fullTicket(), 1, function () {
      return "test-" + Date.now().toString(36);
    });
  }

  function simple(method) {
    return function () {
      if (connected()) client[method]().catch(function () {});
    };
  }

  // ---- language switch: everything on screen is drawn again in the new language ------------------------------

  function renderTemplateOptions() {
    var select = $("template");
    var chosen = select.value || "full";
    select.textContent = "";
    TEMPLATES.forEach(function (template) {
      var option = el("option", "", t("template." + template.key));
      option.value = template.key;
      select.appendChild(option);
    });
    select.value = chosen;
  }

  function renderAll() {
    renderTemplateOptions();
    showConnection();
    showHealth();
    showPrinters();
    showJobs();
    showOrigins();
    showVirtual(true);
    showEditorState();
    layoutPreview();
    Object.keys(state.feedback).forEach(showFeedback);
    state.bannerSignature = "";
    showBanner();
  }

  // ---- start -------------------------------------------------------------------------------------------------

  function checkSession() {
    return api("/auth/session")
      .then(function (response) {
        return response.ok ? response.json() : { password_required: false };
      })
      .then(function (session) {
        state.passwordRequired = !!session.password_required;
        $("open-note").hidden = state.passwordRequired;
        $("logout-form").hidden = !state.passwordRequired;
      })
      .catch(function () {});
  }

  function start() {
    language = storedLanguage() || browserLanguage();
    $("language").value = language;
    translatePage();
    renderTemplateOptions();
    $("template").value = "full";
    $("language").addEventListener("change", function () {
      try {
        localStorage.setItem(LANGUAGE_KEY, $("language").value);
      } catch (e) {}
      var previous = currentTemplate().build();
      var edited = $("editor").value !== JSON.stringify(previous, null, 2);
      setLanguage($("language").value);
      if (!edited) loadTemplate(); // an untouched template is shown in the new language; edits are kept
    });
    $("template").addEventListener("change", loadTemplate);
    $("editor").addEventListener("input", onEdit);
    $("send").addEventListener("click", send);
    $("print-test").addEventListener("click", printTestTicket);
    $("ping").addEventListener("click", simple("ping"));
    $("status").addEventListener("click", simple("status"));
    $("printers-button").addEventListener("click", function () {
      refreshPrinters(false);
    });
    $("format").addEventListener("click", function () {
      var read = readEditor();
      if (!read.error) $("editor").value = JSON.stringify(JSON.parse($("editor").value), null, 2);
    });
    $("clear-log").addEventListener("click", function () {
      $("log").textContent = "";
    });
    $("preview-image").addEventListener("click", function () {
      state.zoomed = !state.zoomed;
      layoutPreview();
    });
    if (handedToken()) $("auth-token-field").hidden = true; // this page was handed the token: nothing to type

    renderAll();
    checkSession();
    loadTemplate();
    client.connect();
    pollHealth();
    setInterval(pollHealth, HEALTH_POLL_MS);
    setInterval(function () {
      refreshPrinters(true);
    }, PRINTERS_POLL_MS);
    setInterval(function () {
      if (!document.hidden) refreshVirtual();
    }, VIRTUAL_POLL_MS);
    refreshJobs();
    setInterval(function () {
      if (!document.hidden) refreshJobs();
    }, JOBS_POLL_MS);
    refreshOrigins();
    setInterval(function () {
      if (!document.hidden) refreshOrigins();
    }, ORIGINS_POLL_MS);
    $("auth-token").value = authToken();
    $("auth-token").addEventListener("change", function () {
      state.tokenAsked = false;
      authToken();
      refreshJobs();
    });
  }

  loadCatalogues().then(start, function (error) {
    document.body.textContent = "ticket-daemon: the dashboard's texts could not be loaded (" + error + ")";
  });
})();
