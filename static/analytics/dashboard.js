// Keeps the dashboard current without a reload: polls the small status endpoint, shows the
// active run's progress, and swaps in the freshly rendered page body when a new run finishes.
// Vanilla JS, no library: hospitals are often offline and CDNs are not allowed.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var statusUrl = root.dataset.statusUrl;
  var shown = root.dataset.shownRun || null;
  var ACTIVE_MS = 1500;   // while a run is queued or running
  var IDLE_MS = 5000;     // otherwise: notice runs that other people's locks start
  // Words come translated from the template's data-* attributes ({name} marks a value).
  var text = root.dataset;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function statusWord(status) {
    var key = "status" + status.charAt(0).toUpperCase() + status.slice(1);
    return text[key] || status;
  }

  function setStatus(state) {
    var box = document.getElementById("run-status");
    if (!box) { return; }
    var active = state.active;
    box.classList.toggle("is-active", !!active);
    box.textContent = "";
    var line = document.createElement("span");
    line.className = "status-text";
    if (active) {
      line.textContent = fill(active.step ? text.textStep : text.textActive, {
        id: active.id, status: statusWord(active.status), step: active.step
      });
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = active.progress;
      box.appendChild(line);
      box.appendChild(bar);
    } else if (state.last && state.last.status === "failed") {
      line.className += " error";
      line.textContent = fill(text.textFailed, { id: state.last.id, error: state.last.error });
      box.appendChild(line);
    } else {
      line.textContent = text.textIdle;
      box.appendChild(line);
    }
  }

  function refreshBody() {
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("dashboard");
        var body = document.getElementById("dashboard-body");
        if (fresh && body) {
          body.replaceWith(doc.getElementById("dashboard-body"));
          shown = fresh.dataset.shownRun || null;
          root.dataset.shownRun = shown || "";
        }
      });
  }

  function poll() {
    fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (state) {
        var latest = state.latest_done_id === null ? null : String(state.latest_done_id);
        var next = state.active ? ACTIVE_MS : IDLE_MS;
        if (latest !== shown) {
          return refreshBody().then(function () { setTimeout(poll, next); });
        }
        setStatus(state);
        setTimeout(poll, next);
      })
      .catch(function () { setTimeout(poll, IDLE_MS); });
  }
  setTimeout(poll, ACTIVE_MS);
})();
