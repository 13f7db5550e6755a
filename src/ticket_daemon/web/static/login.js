/* Login page: shows why the last attempt failed (the server redirects here with ?error=…). */
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var box = document.getElementById("login-error");
  var message = "";
  if (params.get("error") === "invalid") {
    message = "Wrong password.";
  } else if (params.get("error") === "locked") {
    var minutes = Math.max(1, Math.ceil(Number(params.get("retry") || 300) / 60));
    message = "Too many failed attempts. Try again in " + minutes + " minute" + (minutes === 1 ? "" : "s") + ".";
  } else if (params.get("expired")) {
    message = "Your session expired. Please log in again.";
  }
  if (message) {
    box.textContent = message;
    box.hidden = false;
  }
  if (params.get("logged_out")) {
    box.textContent = "You have been logged out.";
    box.className = "note";
    box.hidden = false;
  }
})();
