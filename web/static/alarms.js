// The alarms page: reload the alarm lists every N seconds (data-refresh) from the same
// URL (so the filter stays), in the server's words and site-zone times. Paused while
// someone types a comment or has a field focused, so an acknowledgement is never lost.
(function () {
  "use strict";
  const live = document.getElementById("alarm-live");
  if (!live || !window.fetch || !window.DOMParser) return;
  const seconds = parseInt(live.dataset.refresh, 10);
  if (!(seconds > 0)) return;
  document.getElementById("alarms-refresh").hidden = false;

  function busy() {
    const active = document.activeElement;
    if (active && live.contains(active) && active.matches("input, select, textarea, button")) return true;
    return Array.from(live.querySelectorAll("form.ack input[name=comment], form.ack input[name=until]"))
      .some((input) => input.value.trim() !== "");
  }

  function refresh() {
    if (busy() || document.hidden) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => {
        if (!html || busy()) return;
        const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("alarm-live");
        if (!fresh) return;
        live.replaceChildren(...fresh.childNodes);
        document.getElementById("alarms-refresh").hidden = false;
      })
      .catch(() => {});
  }
  setInterval(refresh, seconds * 1000);
})();
