/*
 * ticket-client.js — a small browser client for ticket-daemon (WebSocket protocol v1, see docs/protocol.md).
 * No dependencies, no build step: load it with <script src="http://localhost:8766/static/ticket-client.js">
 * or copy it into your POS app.
 *
 *   const client = new TicketClient({
 *     url: "ws://localhost:8766/ws",   // default: the daemon that served this page, else ws://localhost:8766/ws
 *     clientId: "till-3",              // optional: results finished while you were away arrive on reconnect
 *     authToken: "…",                  // optional: only when the daemon has server.auth_token set
 *     reconnectDelay: 3000,            // ms between reconnect attempts (docs/protocol.md: 3 s)
 *   });
 *   client.on("state", (state) => …);  // "connecting" | "open" | "closed"
 *   client.connect();
 *
 *   const result = await client.print(documentV1, { id: "till3-0001", printer: "kitchen" });
 *   //   resolves with the `result` message when the ticket printed;
 *   //   rejects with a TicketClientError when the daemon refused it (`error`) or printing failed (`result` error).
 *   //   options.onAck(ack) is called when the job is queued, options.onJob(job) when a `job` message tells how it
 *   //   is getting on (e.g. waiting for its printer); options.timeout (ms) bounds the wait (none by default).
 *   await client.ping();               // → pong
 *   await client.status();             // → {tipo:"status", current, capacity, mensaje}
 *   await client.getPrinters();        // → {tipo:"printers", printers:[…], summary:{…}}
 *   await client.preview(documentV1);  // → {tipo:"preview", width, height, image: "<base64 PNG>"}
 *   client.close();                    // stop and do not reconnect
 *
 * Events (client.on(name, fn)): "state" (state), "message" (msg, request) for every message received,
 * "sent" (msg, request) for every message sent, "error" (event) for socket errors. `request` is the pending
 * request the message belongs to (or null); requests made with { quiet: true } carry quiet = true.
 *
 * Errors: TicketClientError has `.message` (the daemon's `CATEGORY: sentence`), `.category` (text before the first
 * ":" when it looks like one of ours, else ""), and `.reply` (the message received, if any).
 */
(function (global) {
  "use strict";

  var DEFAULT_PORT = 8766;
  var RECONNECT_DELAY_MS = 3000;
  // Which reply answers which request when the reply carries no id (docs/protocol.md "Client → server").
  var REPLY_TYPE = { status: "status", get_printers: "printers", ping: "pong", preview: "preview" };
  var CATEGORY = /^([A-Z]+):\s/;

  function TicketClientError(message, reply) {
    var error = new Error(message);
    error.name = "TicketClientError";
    var match = CATEGORY.exec(message || "");
    error.category = match ? match[1] : "";
    error.reply = reply || null;
    return error;
  }

  function defaultUrl() {
    var loc = global.location;
    if (loc && (loc.protocol === "http:" || loc.protocol === "https:")) {
      return (loc.protocol === "https:" ? "wss://" : "ws://") + loc.host + "/ws";
    }
    return "ws://localhost:" + DEFAULT_PORT + "/ws";
  }

  var counter = 0;
  function newId(prefix) {
    counter += 1;
    if (global.crypto && typeof global.crypto.randomUUID === "function") {
      return prefix + "-" + global.crypto.randomUUID();
    }
    return prefix + "-" + Date.now().toString(36) + "-" + counter + "-" + Math.random().toString(36).slice(2, 10);
  }

  function TicketClient(options) {
    options = options || {};
    this.url = options.url || defaultUrl();
    this.clientId = options.clientId || "";
    this.authToken = options.authToken || "";
    this.reconnectDelay = options.reconnectDelay === undefined ? RECONNECT_DELAY_MS : options.reconnectDelay;
    this.state = "closed";
    this._socket = null;
    this._wanted = false; // true between connect() and close(): reconnect when the socket drops
    this._timer = null;
    this._pending = []; // requests waiting for their reply, oldest first
    this._listeners = {};
  }

  TicketClient.prototype.on = function (name, fn) {
    (this._listeners[name] = this._listeners[name] || []).push(fn);
    return this;
  };

  TicketClient.prototype.off = function (name, fn) {
    var list = this._listeners[name] || [];
    var index = list.indexOf(fn);
    if (index >= 0) list.splice(index, 1);
    return this;
  };

  TicketClient.prototype._emit = function (name) {
    var args = Array.prototype.slice.call(arguments, 1);
    (this._listeners[name] || []).slice().forEach(function (fn) {
      try {
        fn.apply(null, args);
      } catch (e) {
        if (global.console) global.console.error(e);
      }
    });
  };

  TicketClient.prototype._setState = function (state) {
    if (this.state !== state) {
      this.state = state;
      this._emit("state", state);
    }
  };

  TicketClient.prototype.connect = function () {
    this._wanted = true;
    if (this._socket) return this;
    var url = this.url;
    if (this.clientId) url += (url.indexOf("?") >= 0 ? "&" : "?") + "client_id=" + encodeURIComponent(this.clientId);
    var self = this;
    var socket;
    this._setState("connecting");
    try {
      socket = new WebSocket(url);
    } catch (e) {
      this._emit("error", e);
      this._dropped();
      return this;
    }
    this._socket = socket;
    socket.onopen = function () {
      self._setState("open");
    };
    socket.onmessage = function (event) {
      self._received(event.data);
    };
    socket.onerror = function (event) {
      self._emit("error", event);
    };
    socket.onclose = function () {
      if (self._socket === socket) self._dropped();
    };
    return this;
  };

  TicketClient.prototype.close = function () {
    this._wanted = false;
    clearTimeout(this._timer);
    this._timer = null;
    var socket = this._socket;
    this._socket = null;
    if (socket) socket.close(1000);
    this._failPending("Connection closed", true);
    this._setState("closed");
  };

  TicketClient.prototype._dropped = function () {
    this._socket = null;
    // Jobs already queued may still report back on reconnect when a clientId identifies us
    // (docs/protocol.md "Connection (WebSocket)").
    this._failPending("Connection to the print service lost", !this.clientId);
    this._setState("closed");
    if (this._wanted && !this._timer) {
      var self = this;
      this._timer = setTimeout(function () {
        self._timer = null;
        if (self._wanted) self.connect();
      }, this.reconnectDelay);
    }
  };

  TicketClient.prototype._failPending = function (message, includeQueued) {
    var keep = [];
    this._pending.forEach(function (request) {
      if (request.acked && !includeQueued) keep.push(request);
      else request.settle(TicketClientError(message + (request.acked ? " before the job's result arrived" : ""), null));
    });
    this._pending = keep;
  };

  TicketClient.prototype._send = function (message, request) {
    if (!this._socket || this._socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(TicketClientError("Not connected to the print service at " + this.url, null));
    }
    var self = this;
    var promise = new Promise(function (resolve, reject) {
      request.settle = function (error, reply) {
        clearTimeout(request.timer);
        var index = self._pending.indexOf(request);
        if (index >= 0) self._pending.splice(index, 1);
        if (error) reject(error);
        else resolve(reply);
      };
      if (request.timeout) {
        request.timer = setTimeout(function () {
          request.settle(TicketClientError("No reply from the print service within " + request.timeout + " ms", null));
        }, request.timeout);
      }
    });
    this._pending.push(request);
    this._socket.send(JSON.stringify(message));
    this._emit("sent", message, request);
    return promise;
  };

  TicketClient.prototype._request = function (message, options) {
    options = options || {};
    var request = {
      tipo: message.tipo,
      id: message.id,
      quiet: !!options.quiet,
      timeout: options.timeout === undefined ? 15000 : options.timeout,
      acked: false,
    };
    return this._send(message, request);
  };

  /** Print a v1 document. Resolves with the `result` message on success. */
  TicketClient.prototype.print = function (document, options) {
    options = options || {};
    var message = { tipo: "ticket", id: options.id || newId("job"), datos: document };
    if (options.printer) message.printer = options.printer;
    var token = options.authToken || this.authToken;
    if (token) message.auth_token = token;
    var request = {
      tipo: "ticket",
      id: message.id,
      quiet: !!options.quiet,
      timeout: options.timeout || 0,
      acked: false,
      onAck: options.onAck,
      onJob: options.onJob,
    };
    return this._send(message, request);
  };

  TicketClient.prototype.ping = function (options) {
    return this._request({ tipo: "ping", id: newId("ping") }, options);
  };

  TicketClient.prototype.status = function (options) {
    return this._request({ tipo: "status" }, options);
  };

  TicketClient.prototype.getPrinters = function (options) {
    return this._request({ tipo: "get_printers" }, options);
  };

  TicketClient.prototype.preview = function (document, options) {
    return this._request({ tipo: "preview", id: newId("preview"), datos: document }, options);
  };

  TicketClient.prototype._received = function (data) {
    var message;
    try {
      message = JSON.parse(data);
    } catch (e) {
      this._emit("message", { tipo: "invalid", mensaje: String(data) }, null);
      return;
    }
    if (!message || typeof message !== "object") return;
    var request = this._match(message);
    this._emit("message", message, request);
    if (!request) return;
    if (message.tipo === "ack") {
      request.acked = true;
      if (typeof request.onAck === "function") request.onAck(message);
      // "duplicate": the job was accepted before; its result (if finished) is sent again (docs/protocol.md "Ids").
      return;
    }
    if (message.tipo === "job" && request.tipo === "ticket") {
      // A job's progress while it waits (e.g. its printer does not answer): the result is still to come.
      if (typeof request.onJob === "function") request.onJob(message);
      return;
    }
    if (message.tipo === "error" || (message.tipo === "result" && message.status === "error")) {
      request.settle(TicketClientError(message.mensaje || "The print service reported an error", message), null);
    } else {
      request.settle(null, message);
    }
  };

  TicketClient.prototype._match = function (message) {
    var i;
    if (message.id !== undefined && message.id !== null) {
      for (i = 0; i < this._pending.length; i++) {
        if (this._pending[i].id === message.id) return this._pending[i];
      }
    }
    if (message.tipo === "error") {
      if (message.id !== undefined && message.id !== null) return null; // about a request that is not ours
      // An error without an id (e.g. a JSON error) answers the oldest request not yet accepted.
      for (i = 0; i < this._pending.length; i++) {
        if (!this._pending[i].acked) return this._pending[i];
      }
      return null;
    }
    for (i = 0; i < this._pending.length; i++) {
      var request = this._pending[i];
      if (REPLY_TYPE[request.tipo] === message.tipo) return request;
    }
    return null;
  };

  TicketClient.TicketClientError = TicketClientError;
  TicketClient.newId = newId;
  global.TicketClient = TicketClient;
})(typeof window !== "undefined" ? window : this);
