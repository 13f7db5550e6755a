/*
 * The diagnostic dashboard: health cards (GET /health), printers (get_printers), a JSON editor with templates,
 * a live preview (POST /api/v1/preview, debounced), the transaction log, and the virtual printers' output
 * (GET /api/v1/virtual/{printer}/jobs). It speaks to the daemon through ticket-client.js, like any POS would.
 */
(function () {
  "use strict";

  var HEALTH_POLL_MS = 2000;
  var PRINTERS_POLL_MS = 15000;
  var VIRTUAL_POLL_MS = 5000;
  var PREVIEW_DEBOUNCE_MS = 400;
  var LOG_LIMIT = 300; // entries kept on screen; older ones are dropped
  var VIRTUAL_JOBS_SHOWN = 6;
  var JOBS_SHOWN = 20;
  var JOBS_POLL_MS = 5000;
  var ORIGINS_POLL_MS = 3000;
  var BURST_SIZE = 10;

  // ---- templates: v1 documents (DOCUMENT.md) ------------------------------------------------------------------

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
        labelled("Date", nowText()),
        labelled("Ticket", "T-000123"),
        labelled("Cashier", "Lucía"),
        { type: "separator", data: { char: "-" } },
        {
          type: "table",
          data: {
            definition: {
              columns: [
                { name: "Qty", width: 4, align: "right" },
                { name: "Item", width: 30, align: "left" },
                { name: "Price", width: 12, align: "right" },
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
        { type: "qr", data: { data: "https://example.com/receipt/T-000123", human_text: "Your receipt online", pixel_width: 200 } },
        text("Thank you for your visit!", { bold: true }, "center"),
        { type: "cut", data: { mode: "partial", feed: 3 } },
      ],
    };
  }

  var TEMPLATES = [
    {
      key: "simple",
      name: "Simple text",
      build: function () {
        return {
          version: "1.0",
          profile: PROFILE,
          commands: [
            text("Hello from ticket-daemon", { bold: true, size: "2x1" }, "center"),
            text("Plain line, left aligned."),
            text("Underlined", { underline: "1pt" }),
            text(" Inverse ", { inverse: true }, "right"),
            text("Small font B for the fine print.", { font: "B" }),
            { type: "cut", data: { mode: "partial", feed: 3 } },
          ],
        };
      },
    },
    { key: "full", name: "Full ticket", build: fullTicket },
    {
      key: "barcode",
      name: "Barcode",
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
      name: "QR code",
      build: function () {
        return {
          version: "1.0",
          profile: PROFILE,
          commands: [
            text("Scan to rate us", { bold: true }, "center"),
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
      name: "Table",
      build: function () {
        return {
          version: "1.0",
          profile: PROFILE,
          commands: [
            text("Stock count", { bold: true, size: "1x2" }, "center"),
            {
              type: "table",
              data: {
                definition: {
                  columns: [
                    { name: "Code", width: 8, align: "left" },
                    { name: "Description", width: 24, align: "left" },
                    { name: "Units", width: 6, align: "right" },
                    { name: "Shelf", width: 6, align: "center" },
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
      name: "Raw ESC/POS",
      build: function () {
        return {
          version: "1.0",
          profile: PROFILE,
          commands: [
            text("Raw bytes follow (safe mode):"),
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
      name: "Burst of 10",
      repeat: BURST_SIZE,
      build: function () {
        return {
          version: "1.0",
          profile: PROFILE,
          commands: [
            text("Burst test", { bold: true }, "center"),
            text("One of " + BURST_SIZE + " tickets sent at once; they print in order.", {}, "center"),
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

  function clock() {
    var d = new Date();
    return d.toTimeString().slice(0, 8) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }

  function formatUptime(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var d = Math.floor(seconds / 86400);
    var h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + s + "s";
    return s + "s";
  }

  // The service's auth token (server.auth_token), asked once per browser session and kept in sessionStorage
  // (gone when the tab closes). Sent as "Authorization: Bearer" with API calls and as auth_token on the socket.
  var TOKEN_KEY = "ticket-daemon-auth-token";
  function authToken() {
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
    printers: [],
    previewSeq: 0,
    previewTimer: null,
    virtualSignature: {},
    tokenAsked: false,
  };

  var client = new TicketClient({ clientId: "dashboard-" + TicketClient.newId("tab").slice(-8) });

  // ---- transaction log --------------------------------------------------------------------------------------

  function summarise(message) {
    var parts = [];
    if (message.id) parts.push(message.id);
    if (message.status) parts.push(message.status);
    if (message.mensaje) parts.push(message.mensaje);
    if (message.tipo === "status" || message.tipo === "ack") {
      if (message.current !== undefined) parts.push("queue " + message.current + "/" + message.capacity);
    }
    if (message.tipo === "printers" && message.printers) parts.push(message.printers.length + " printer(s)");
    if (message.tipo === "ticket" && message.printer) parts.push("→ " + message.printer);
    return parts.join(" · ");
  }

  function log(direction, message) {
    var list = $("log");
    var item = el("li", "log-entry log-" + direction);
    if (message.status === "error" || message.tipo === "error") item.classList.add("log-error");
    if (message.tipo === "result" && message.status === "success") item.classList.add("log-success");
    var head = el("div", "log-head");
    head.appendChild(el("span", "log-time", clock()));
    head.appendChild(el("span", "log-dir", direction === "out" ? "→ sent" : direction === "in" ? "← received" : "•"));
    head.appendChild(el("span", "log-type", message.tipo || "note"));
    head.appendChild(el("span", "log-summary", summarise(message)));
    item.appendChild(head);
    var details = el("details", "log-json");
    details.appendChild(el("summary", "", "JSON"));
    var shown = message;
    if (message.tipo === "preview" && typeof message.image === "string") {
      shown = Object.assign({}, message, { image: "<" + message.image.length + " base64 chars>" });
    }
    if (message.auth_token) shown = Object.assign({}, shown, { auth_token: "••••" });
    details.appendChild(el("pre", "", JSON.stringify(shown, null, 2)));
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
    if ((message.tipo === "status" || message.tipo === "ack") && message.capacity !== undefined) {
      showQueue(message.current, message.capacity);
    }
  });

  // ---- connection ---------------------------------------------------------------------------------------------

  client.on("state", function (connection) {
    var pill = $("connection");
    pill.dataset.state = connection;
    pill.className = "pill " + (connection === "open" ? "pill-ok" : connection === "connecting" ? "pill-warn" : "pill-bad");
    pill.textContent =
      connection === "open" ? "Connected" : connection === "connecting" ? "Connecting…" : "Disconnected · retrying every 3 s";
    if (connection === "open") refreshPrinters(false);
  });

  // ---- health cards -----------------------------------------------------------------------------------------

  function showQueue(current, capacity) {
    $("queue-current").textContent = current;
    $("queue-capacity").textContent = capacity;
    var ratio = capacity ? Math.min(1, current / capacity) : 0;
    var gauge = $("queue-gauge");
    gauge.style.width = (ratio * 100).toFixed(1) + "%";
    gauge.className = "gauge-fill" + (ratio >= 0.9 ? " gauge-bad" : ratio >= 0.6 ? " gauge-warn" : "");
  }

  function pollHealth() {
    api("/health")
      .then(function (response) {
        return response.json();
      })
      .then(function (health) {
        if (health.queue) showQueue(health.queue.current, health.queue.capacity);
        if (health.worker) {
          $("jobs-processed").textContent = health.worker.jobs_processed;
          $("jobs-failed").textContent = health.worker.jobs_failed;
        }
        if (health.uptime_seconds !== undefined) $("uptime").textContent = formatUptime(health.uptime_seconds);
        var badge = $("health-status");
        badge.textContent = health.status;
        badge.className = "badge " + (health.status === "ok" ? "badge-ok" : "badge-warn");
        // Why "degraded": PROTOCOL.md says so when the printer summary is "error" (no printer) or a worker is
        // down; say which, so nobody hunts for a fault that is only a missing printer.
        var reasons = [];
        if (health.printers && health.printers.status === "error") reasons.push("no printer configured");
        if (health.printers && health.printers.status === "ok" && health.printers.thermal_count === 0) {
          reasons.push("virtual printer only");
        }
        if (health.printers && health.printers.status === "warning") reasons.push("no thermal printer");
        if (health.worker && health.worker.running === false) reasons.push("worker stopped");
        var build = health.build || {};
        var parts = (reasons.length ? reasons : [build.env]).filter(Boolean);
        // The MQTT broker link (PROTOCOL.md "MQTT"), when configured: its state and why it is not connected.
        if (health.mqtt) {
          parts.push("broker " + health.mqtt.broker + ": " + health.mqtt.state +
            (health.mqtt.state !== "connected" && health.mqtt.last_error ? " (" + health.mqtt.last_error + ")" : ""));
        }
        $("health-detail").textContent = parts.join(" · ");
      })
      .catch(function () {
        var badge = $("health-status");
        badge.textContent = "unreachable";
        badge.className = "badge badge-bad";
      });
  }

  // ---- printers -----------------------------------------------------------------------------------------------

  var STATUS_CLASS = { ready: "badge-ok", paused: "badge-warn", unknown: "badge-muted" };

  function showPrinters(reply) {
    state.printers = reply.printers || [];
    var list = $("printer-list");
    list.textContent = "";
    if (!state.printers.length) list.appendChild(el("li", "hint", "No printers configured."));
    state.printers.forEach(function (printer) {
      var item = el("li", "printer");
      var main = el("div", "printer-main");
      main.appendChild(el("span", "printer-name", printer.name));
      if (printer.is_default) main.appendChild(el("span", "tag", "default"));
      main.appendChild(el("span", "tag tag-muted", printer.printer_type || (printer.is_virtual ? "virtual" : "printer")));
      item.appendChild(main);
      item.appendChild(el("span", "printer-port", printer.port || ""));
      item.appendChild(el("span", "badge " + (STATUS_CLASS[printer.status] || "badge-bad"), printer.status));
      list.appendChild(item);
    });
    var summary = reply.summary || {};
    $("printers-summary").textContent = summary.default_name ? "default: " + summary.default_name : "";

    var select = $("printer");
    var chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    state.printers.forEach(function (printer) {
      var option = el("option", "", printer.name + (printer.is_default ? " (default)" : ""));
      option.value = printer.name;
      select.appendChild(option);
    });
    select.value = chosen;
    if (select.value !== chosen) select.value = "";
    refreshVirtual();
  }

  function refreshPrinters(quiet) {
    if (client.state !== "open") return;
    client
      .getPrinters({ quiet: quiet })
      .then(showPrinters)
      .catch(function (error) {
        if (!quiet) note("Printers: " + error.message, true);
      });
  }

  // ---- virtual printer output -----------------------------------------------------------------------------

  var virtualTimer = null;
  function scheduleVirtualRefresh(delay) {
    clearTimeout(virtualTimer);
    virtualTimer = setTimeout(refreshVirtual, delay);
  }

  function refreshVirtual() {
    var virtuals = state.printers.filter(function (printer) {
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
    ).then(showVirtual);
  }

  function showVirtual(groups) {
    var signature = JSON.stringify(
      groups.map(function (group) {
        return [group.printer, group.jobs.slice(0, VIRTUAL_JOBS_SHOWN).map(function (job) { return job.job; })];
      })
    );
    if (signature === state.virtualSignature) return; // unchanged: keep the images where they are
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
      group.jobs.slice(0, VIRTUAL_JOBS_SHOWN).forEach(function (job) {
        var card = el("figure", "virtual-job");
        var img = el("img");
        img.src = job.png_url;
        img.alt = "Receipt " + job.job + " printed on " + group.printer;
        img.loading = "lazy";
        card.appendChild(img);
        var caption = el("figcaption");
        caption.appendChild(el("span", "virtual-job-id", "#" + job.job));
        if (job.created) caption.appendChild(el("span", "hint", new Date(job.created).toLocaleTimeString()));
        card.appendChild(caption);
        if (job.transcript) {
          var details = el("details");
          details.appendChild(el("summary", "", "Transcript"));
          details.appendChild(el("pre", "", job.transcript));
          card.appendChild(details);
        }
        strip.appendChild(card);
      });
      section.appendChild(strip);
      box.appendChild(section);
    });
    if (!any) box.appendChild(el("p", "hint", "Nothing printed on a virtual printer yet."));
  }

  // ---- recent jobs (GET /api/v1/jobs; POST /api/v1/jobs/{id}/reprint and /cancel?seq=N) ------------------
  // Ids are scoped per client (two tills may both send "order-1"): a job is listed with its owner and its
  // buttons name it by seq, so they act on exactly the job shown.

  var JOB_STATE_CLASS = { success: "badge-ok", queued: "badge-muted", printing: "badge-muted", waiting: "badge-warn" };
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
        if (body) showJobs(body.jobs || []);
      })
      .catch(function () {});
  }

  function jobAction(job, action) {
    var path = "/api/v1/jobs/" + encodeURIComponent(job.id) + "/" + action + "?seq=" + encodeURIComponent(job.seq);
    api(path, { method: "POST" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) note(body.mensaje || action + " failed", true);
          else note(action === "reprint" ? "Reprint queued as " + body.id : "Job " + job.id + " cancelled", false);
        });
      })
      .catch(function (error) {
        note(String(error), true);
      })
      .then(function () {
        scheduleJobsRefresh(200);
      });
  }

  function showJobs(jobs) {
    var list = $("job-list");
    list.textContent = "";
    if (!jobs.length) {
      list.appendChild(el("li", "hint", "No job yet."));
      return;
    }
    jobs.forEach(function (job) {
      var item = el("li", "printer job-item");
      item.dataset.jobId = job.id;
      item.dataset.jobSeq = String(job.seq);
      var main = el("div", "printer-main");
      main.appendChild(el("span", "printer-name job-id", job.id));
      if (job.client_id) main.appendChild(el("span", "tag tag-muted job-owner", job.client_id));
      main.appendChild(el("span", "tag tag-muted", job.printer));
      main.appendChild(el("span", "badge job-state " + (JOB_STATE_CLASS[job.status] || "badge-bad"), job.status));
      if (job.created_at) main.appendChild(el("span", "hint", new Date(job.created_at * 1000).toLocaleTimeString()));
      item.appendChild(main);
      item.appendChild(el("span", "printer-port job-message", job.mensaje || ""));
      var actions = el("div", "job-actions");
      var reprint = el("button", "btn btn-small", "Reprint");
      reprint.type = "button";
      reprint.addEventListener("click", function () {
        jobAction(job, "reprint");
      });
      actions.appendChild(reprint);
      if (job.status === "queued" || job.status === "waiting") {
        var cancel = el("button", "btn btn-small", "Cancel");
        cancel.type = "button";
        cancel.addEventListener("click", function () {
          jobAction(job, "cancel");
        });
        actions.appendChild(cancel);
      }
      item.appendChild(actions);
      list.appendChild(item);
    });
  }

  // ---- blocked sites (GET/POST /api/v1/origins) ----------------------------------------------------------

  function refreshOrigins() {
    return api("/api/v1/origins")
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (body) showOrigins(body);
      })
      .catch(function () {});
  }

  function allowOrigin(origin) {
    api("/api/v1/origins", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ origin: origin }),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) note(body.mensaje || "Allowing " + origin + " failed", true);
          else {
            note("Allowed " + origin + ": its pages may connect now", false);
            showOrigins(body);
          }
        });
      })
      .catch(function (error) {
        note(String(error), true);
      });
  }

  function showOrigins(body) {
    $("allowed-origins").textContent = (body.allowed || []).length ? body.allowed.join(", ") : "localhost only";
    var list = $("blocked-list");
    list.textContent = "";
    var blocked = body.blocked || [];
    if (!blocked.length) {
      list.appendChild(el("li", "hint", "No site was refused."));
      return;
    }
    blocked.forEach(function (site) {
      var item = el("li", "printer blocked-site");
      item.dataset.origin = site.origin;
      var main = el("div", "printer-main");
      main.appendChild(el("span", "printer-name blocked-origin", site.origin));
      main.appendChild(el("span", "tag tag-muted", site.attempts + " attempt(s)"));
      main.appendChild(el("span", "hint", new Date(site.last_seen).toLocaleTimeString()));
      item.appendChild(main);
      var actions = el("div", "job-actions");
      var allow = el("button", "btn btn-small", "Allow");
      allow.type = "button";
      allow.addEventListener("click", function () {
        allowOrigin(site.origin);
      });
      actions.appendChild(allow);
      item.appendChild(actions);
      list.appendChild(item);
    });
  }

  // ---- editor + preview ----------------------------------------------------------------------------------

  function currentTemplate() {
    var key = $("template").value;
    return TEMPLATES.filter(function (t) { return t.key === key; })[0] || TEMPLATES[0];
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

  function onEdit() {
    var read = readEditor();
    var status = $("editor-state");
    status.textContent = read.error ? read.error : "Valid JSON";
    status.className = "editor-state " + (read.error ? "editor-bad" : "editor-ok");
    clearTimeout(state.previewTimer);
    state.previewTimer = setTimeout(function () {
      preview(read);
    }, PREVIEW_DEBOUNCE_MS);
  }

  function showPreviewError(message) {
    $("preview-image").hidden = true;
    $("preview-empty").hidden = true;
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

  // DOCUMENT.md "Lenient": what the daemon printed with a default instead of what the document says, one
  // "CATEGORY: sentence" each (strict mode would refuse the document). Sent as a JSON array in X-Render-Notes.
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
      item.appendChild(el("span", "badge", "warning"));
      item.appendChild(el("span", "preview-error-text", String(text)));
      list.appendChild(item);
    });
    list.hidden = notes.length === 0;
  }

  function showPreviewImage(blob, width, height) {
    var img = $("preview-image");
    if (img.dataset.url) URL.revokeObjectURL(img.dataset.url);
    var url = URL.createObjectURL(blob);
    img.dataset.url = url;
    img.src = url;
    img.hidden = false;
    $("preview-error").hidden = true;
    $("preview-empty").hidden = true;
    $("preview-meta").textContent = width && height ? width + " × " + height + " dots" : "";
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
            showPreviewImage(blob, response.headers.get("X-Image-Width"), response.headers.get("X-Image-Height"));
            showPreviewWarnings(response.headers.get("X-Render-Notes"));
          });
        }
        return errorText(response).then(function (message) {
          if (seq === state.previewSeq) showPreviewError(message);
        });
      })
      .catch(function (error) {
        if (seq === state.previewSeq) showPreviewError("Preview unavailable: " + error.message);
      });
  }

  // ---- actions ------------------------------------------------------------------------------------------------

  function askForToken() {
    if (state.tokenAsked) return;
    state.tokenAsked = true;
    note("This service requires its auth token: enter it under Print document (kept for this browser session).", true);
    $("auth-token").focus();
  }

  function printDocument(documentV1, options) {
    var token = authToken();
    return client
      .print(documentV1, {
        id: options.id,
        printer: options.printer || $("printer").value || undefined,
        authToken: token || undefined,
      })
      .catch(function () {
        // The reply (error or failed result) is already in the log.
      });
  }

  function send() {
    var read = readEditor();
    if (read.error) {
      note(read.error, true);
      return;
    }
    if (client.state !== "open") {
      note("Not connected to the print service; retrying every 3 s.", true);
      return;
    }
    var repeat = currentTemplate().repeat && !read.id ? currentTemplate().repeat : 1;
    var stamp = Date.now().toString(36);
    for (var i = 1; i <= repeat; i++) {
      printDocument(read.document, {
        id: read.id || (repeat > 1 ? "burst-" + stamp + "-" + String(i).padStart(2, "0") : undefined),
        printer: read.printer,
      });
    }
  }

  function printTestTicket() {
    if (client.state !== "open") {
      note("Not connected to the print service; retrying every 3 s.", true);
      return;
    }
    printDocument(fullTicket(), { id: "test-" + Date.now().toString(36) });
  }

  function simple(method) {
    return function () {
      if (client.state !== "open") {
        note("Not connected to the print service.", true);
        return;
      }
      client[method]().catch(function () {});
    };
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
    TEMPLATES.forEach(function (template) {
      var option = el("option", "", template.name);
      option.value = template.key;
      $("template").appendChild(option);
    });
    $("template").value = "full";
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

  start();
})();
