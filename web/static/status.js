/* rexmon status page: refresh the figures every 30 s from /api/v1/status without reloading,
   and filter the rows as you type. The page works fully without this script. */
(function () {
  "use strict";
  var tree = document.getElementById("status-tree");
  if (!tree || !window.fetch) { return; }
  var LABELS = { "ok": "OK", "in-downtime": "IN DOWNTIME", "stale": "STALE", "warning": "WARNING", "critical": "CRITICAL" };

  function age(seconds) {
    if (seconds === null || isNaN(seconds)) { return "never"; }
    seconds = Math.max(0, Math.floor(seconds));
    var units = [[86400, "d"], [3600, "h"], [60, "m"]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][0]) { return Math.floor(seconds / units[i][0]) + units[i][1] + " ago"; }
    }
    return seconds + "s ago";
  }

  function number(value) {
    if (value === null || value === undefined) { return "–"; }
    return String(+value.toPrecision(4));
  }

  function setBadge(element, status) {
    var badge = element.querySelector("[data-role=status]");
    if (!badge) { return; }
    badge.className = "badge " + status;
    badge.textContent = LABELS[status] || status;
  }

  function apply(data) {
    var rows = tree.querySelectorAll("tr[data-metric]");
    var known = Object.keys(data.metrics || {});
    if (rows.length !== known.length) { window.location.reload(); return; }
    rows.forEach(function (row) {
      var item = data.metrics[row.dataset.metric];
      if (!item) { return; }
      setBadge(row, item.status);
      row.querySelector("[data-role=value]").textContent = number(item.last_value);
      var cell = row.querySelector("[data-role=age]");
      cell.dataset.time = item.last_time === null ? "" : item.last_time;
      cell.textContent = item.last_time === null ? "never" : age(data.generated - item.last_time);
    });
    tree.querySelectorAll("details[data-group]").forEach(function (group) {
      var item = (data.groups || {})[group.dataset.group];
      if (!item) { return; }
      var summary = group.querySelector("summary");
      setBadge(summary, item.status);
      summary.querySelector("[data-role=rating]").textContent =
        item.rating === null ? "no information" : item.rating.toFixed(2);
    });
    Object.keys(data.counts).forEach(function (name) {
      var entry = document.querySelector("#counts [data-count='" + name + "'] [data-role=count]");
      if (entry) { entry.textContent = data.counts[name]; }
    });
    var heading = document.querySelector("h1 [data-role=status]");
    if (heading) { setBadge(heading.parentNode, data.state); }
    var updated = document.getElementById("status-updated");
    if (updated) { updated.textContent = new Date(data.generated * 1000).toLocaleString(); }
  }

  function refresh() {
    window.fetch(tree.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(apply)
      .catch(function () { /* keep what is shown; try again next time */ });
  }

  var search = document.getElementById("status-search");
  if (search) {
    search.addEventListener("input", function () {
      var text = search.value.trim().toLowerCase();
      if (/[*?[]/.test(text)) { return; } /* globs are filtered by the server on submit */
      tree.querySelectorAll("tr[data-metric]").forEach(function (row) {
        row.classList.toggle("hidden", text !== "" && row.dataset.metric.toLowerCase().indexOf(text) === -1);
      });
      tree.querySelectorAll("details[data-group]").forEach(function (group) {
        var visible = group.querySelectorAll("tr[data-metric]:not(.hidden)").length > 0;
        group.classList.toggle("hidden", !visible);
        if (text !== "" && visible) { group.open = true; }
      });
    });
  }
  var seconds = parseInt(tree.dataset.refresh, 10) || 30;
  window.setInterval(refresh, seconds * 1000);
}());
