/* rexmon status page: every N s, fetch this same page and swap its live part (counts,
   problem list, tiles) in place, without reloading; filter rows and tiles as you type.
   Times stay the server's text (site zone, 24-hour): nothing is formatted in the browser's
   locale. The page works fully without this script (it then says how to refresh). */
(function () {
  "use strict";
  var live = document.getElementById("status-live");
  if (!live || !window.fetch || !window.DOMParser) { return; }
  live.querySelectorAll(".js-only").forEach(function (note) { note.hidden = false; });

  function busy() {
    /* someone is typing an acknowledgement comment: do not wipe it */
    var fields = live.querySelectorAll("input[name=comment]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value !== "" || fields[i] === document.activeElement) { return true; }
    }
    return false;
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var part = fresh.getElementById("status-live");
    if (!part) { return; }
    live.innerHTML = part.innerHTML;
    live.querySelectorAll(".js-only").forEach(function (note) { note.hidden = false; });
    var heading = document.querySelector("h1 [data-role=status]");
    var freshHeading = fresh.querySelector("h1 [data-role=status]");
    if (heading && freshHeading) {
      heading.className = freshHeading.className;
      heading.textContent = freshHeading.textContent;
    }
    filter();
  }

  function refresh() {
    if (busy()) { return; }
    window.fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.text(); })
      .then(swap)
      .catch(function () { /* keep what is shown; try again next time */ });
  }

  var search = document.getElementById("status-search");
  function filter() {
    if (!search) { return; }
    var text = search.value.trim().toLowerCase();
    if (/[*?[]/.test(text)) { return; } /* globs are filtered by the server on submit */
    live.querySelectorAll("tr[data-metric]").forEach(function (row) {
      row.hidden = text !== "" && row.dataset.metric.toLowerCase().indexOf(text) === -1;
    });
    live.querySelectorAll("li[data-host]").forEach(function (tile) {
      tile.hidden = text !== "" && tile.dataset.host.toLowerCase().indexOf(text) === -1;
    });
  }
  if (search) { search.addEventListener("input", filter); }
  var seconds = parseInt(live.dataset.refresh, 10) || 30;
  window.setInterval(refresh, seconds * 1000);
}());
