/*
 * Login page: its words in the dashboard's language (the one chosen there, else the browser's), and why the last
 * attempt failed (the server redirects here with ?error=…). Without JavaScript it still works, in English.
 */
(function () {
  "use strict";
  var LANGUAGES = ["es", "en"];
  var LANGUAGE_KEY = "ticket-daemon-language"; // shared with dashboard.js

  function chosenLanguage() {
    try {
      var stored = localStorage.getItem(LANGUAGE_KEY);
      if (LANGUAGES.indexOf(stored) >= 0) return stored;
    } catch (e) {}
    var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i]).toLowerCase().split("-")[0];
      if (LANGUAGES.indexOf(code) >= 0) return code;
    }
    return "en";
  }

  function show(words) {
    function t(key) {
      return words[key] || key;
    }
    function tn(key, n) {
      return t(key + (n === 1 ? ".one" : ".other")).replace("{n}", String(n));
    }
    document.querySelectorAll("[data-i18n]").forEach(function (node) {
      if (words[node.dataset.i18n]) node.textContent = words[node.dataset.i18n]; // else the page's English stays
    });
    var params = new URLSearchParams(window.location.search);
    var box = document.getElementById("login-error");
    var message = "";
    if (params.get("error") === "invalid") {
      message = t("login.wrong");
    } else if (params.get("error") === "locked") {
      message = tn("login.locked", Math.max(1, Math.ceil(Number(params.get("retry") || 300) / 60)));
    } else if (params.get("expired")) {
      message = t("login.expired");
    }
    if (message) {
      box.textContent = message;
      box.hidden = false;
    }
    if (params.get("logged_out")) {
      box.textContent = t("login.logged_out");
      box.className = "note";
      box.hidden = false;
    }
  }

  var language = chosenLanguage();
  document.documentElement.lang = language;
  fetch("/static/i18n/" + language + ".json", { cache: "no-cache" })
    .then(function (response) {
      return response.json();
    })
    .then(show, function () {
      show({});
    });
})();
