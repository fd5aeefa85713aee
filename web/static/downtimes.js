// The downtime form: show the start and end the server reads from what is typed
// (start, end or duration), in the site zone, as one types. Without this script the
// "Preview" button shows the same after a submit.
(function () {
  "use strict";
  const form = document.getElementById("downtime-form");
  if (!form) return;
  const out = document.getElementById("resolved");
  const url = form.dataset.resolve;
  const names = ["start", "end", "duration"];
  let timer = null;
  let asked = 0;

  function show(data) {
    out.textContent = "";
    const problems = Object.entries(data.errors || {});
    if (problems.length) {
      out.className = "resolved error";
      out.textContent = problems.map(([field, message]) => field + ": " + message).join("; ");
      return;
    }
    out.className = "resolved";
    const strong = (text) => { const b = document.createElement("strong"); b.textContent = text; return b; };
    out.append("From ", strong(data.start_text), " to ", strong(data.end_text));
    if (data.length) out.append(" (" + data.length + ")");
  }

  function ask() {
    if (!form.elements.end.value.trim() && !form.elements.duration.value.trim()) {
      out.className = "resolved";
      out.textContent = "Type an end or a duration to see when the downtime runs.";
      return;
    }
    const params = new URLSearchParams();
    for (const name of names) params.set(name, form.elements[name].value);
    const mine = ++asked;
    fetch(url + "?" + params, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => { if (data && mine === asked) show(data); })
      .catch(() => {});
  }

  for (const name of names) {
    form.elements[name].addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    });
  }
  ask();
})();
