/* rexmon metric page: replaces the PNG with an interactive uPlot chart.
   Drag to zoom (the data are fetched again at the resolution of the new range), hover for
   values; downtime bands, threshold lines and alarm marks drawn as on the PNG.
   Without JavaScript (or if anything here fails) the PNG stays. */
(function () {
  "use strict";
  var box = document.getElementById("chart");
  if (!box || typeof window.uPlot === "undefined" || !window.fetch) { return; }
  // Okabe-Ito colours, the same as the pictures' (web/graphs/overlays.py)
  var COLOURS = {
    planned: "rgba(0, 114, 178, 0.25)", unplanned: "rgba(204, 121, 167, 0.38)",
    warning: "#e69f00", critical: "#d55e00", fired: "#000000", cleared: "#009e73"
  };
  var unit = box.dataset.unit || "";
  var zone = box.dataset.zone || "UTC";
  var overlays = { downtimes: [], thresholds: [], alarms: [] };
  var chart = null;

  function number(value) {
    if (value === null || value === undefined) { return "–"; }
    var abs = Math.abs(value);
    var text = abs !== 0 && (abs >= 1e6 || abs < 1e-3) ? value.toExponential(3) : String(+value.toPrecision(5));
    return unit ? text + " " + unit : text;
  }

  function drawOverlays(u) {
    var ctx = u.ctx, box2 = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(box2.left, box2.top, box2.width, box2.height);
    ctx.clip();
    overlays.downtimes.forEach(function (band) {
      var x0 = u.valToPos(band.start, "x", true), x1 = u.valToPos(band.end, "x", true);
      ctx.fillStyle = COLOURS[band.kind] || COLOURS.planned;
      ctx.fillRect(x0, box2.top, Math.max(1, x1 - x0), box2.height);
    });
    ctx.lineWidth = Math.max(1, window.devicePixelRatio || 1) * 1.5;
    overlays.thresholds.forEach(function (line) {
      var y = u.valToPos(line.value, "y", true);
      ctx.strokeStyle = COLOURS[line.severity] || COLOURS.critical;
      ctx.setLineDash([8, 5]);
      ctx.beginPath(); ctx.moveTo(box2.left, y); ctx.lineTo(box2.left + box2.width, y); ctx.stroke();
    });
    ctx.setLineDash([]);
    overlays.alarms.forEach(function (mark) {
      var x = u.valToPos(mark.at, "x", true);
      ctx.strokeStyle = mark.event === "cleared" ? COLOURS.cleared : (COLOURS[mark.severity] || COLOURS.critical);
      ctx.beginPath(); ctx.moveTo(x, box2.top); ctx.lineTo(x, box2.top + box2.height); ctx.stroke();
    });
    ctx.restore();
  }

  function legendNote() {
    var note = document.getElementById("chart-overlays");
    if (!note) {
      note = document.createElement("p");
      note.id = "chart-overlays";
      note.className = "hint";
      box.insertAdjacentElement("afterend", note);
    }
    var parts = [];
    var planned = overlays.downtimes.filter(function (b) { return b.kind === "planned"; }).length;
    var unplanned = overlays.downtimes.length - planned;
    if (planned) { parts.push(planned + " planned downtime window(s) (purple)"); }
    if (unplanned) { parts.push(unplanned + " unplanned downtime window(s) (orange)"); }
    if (overlays.thresholds.length) { parts.push(overlays.thresholds.length + " threshold line(s) (dashed)"); }
    if (overlays.alarms.length) { parts.push(overlays.alarms.length + " alarm mark(s)"); }
    note.textContent = parts.length ? "Shown: " + parts.join(", ") + "." : "";
  }

  function options(width) {
    return {
      width: width, height: Math.max(200, Math.min(400, Math.round(width * 0.4))),
      tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1e3), zone); },
      scales: { x: { time: true } },
      series: [
        {},
        { label: box.dataset.metric, stroke: "#1f77b4", width: 1.5, spanGaps: false,
          value: function (u, v) { return number(v); } }
      ],
      axes: [{}, { label: unit, size: 70 }],
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: { draw: [drawOverlays], setSelect: [zoomed] }
    };
  }

  function zoomed(u) {
    if (u.select.width < 4) { return; }
    var start = Math.floor(u.posToVal(u.select.left, "x"));
    var end = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (end - start < 60) { end = start + 60; }
    var query = "?start=" + start + "&end=" + end;
    window.history.pushState({ start: start, end: end }, "", query);
    syncLinks(String(start), String(end));
    load(start, end);
  }

  function syncLinks(start, end) {
    document.querySelectorAll("form.range input[name=start]").forEach(function (i) { i.value = start; });
    document.querySelectorAll("form.range input[name=end]").forEach(function (i) { i.value = end; });
    document.querySelectorAll("p.downloads a").forEach(function (a) {
      var url = new URL(a.href, window.location.href);
      if (url.pathname.indexOf("/downtimes/") !== -1) { return; }
      url.searchParams.set("start", start);
      url.searchParams.set("end", end);
      a.href = url.pathname + url.search;
    });
  }

  function load(start, end) {
    var points = Math.max(100, Math.min(5000, Math.round(box.clientWidth || 800)));
    var url = box.dataset.series + "?start=" + encodeURIComponent(start) + "&end=" +
      encodeURIComponent(end) + "&points=" + points;
    box.setAttribute("aria-busy", "true");
    return window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (json) {
        overlays = { downtimes: json.downtimes, thresholds: json.thresholds, alarms: json.alarms };
        var data = [json.timestamps, json.values];
        if (chart === null) {
          var png = document.getElementById("graph-png");
          if (png) { png.hidden = true; }
          chart = new window.uPlot(options(box.clientWidth || 800), data, box);
        } else {
          chart.setData(data, true);
        }
        box.dataset.start = json.start;
        box.dataset.end = json.end;
        box.removeAttribute("aria-busy");
        legendNote();
      })
      .catch(function (error) {
        box.removeAttribute("aria-busy");
        var hint = document.getElementById("chart-hint");
        if (hint) { hint.textContent = "Interactive chart unavailable (" + error.message + "); showing the image."; }
      });
  }

  window.addEventListener("popstate", function () {
    var params = new URLSearchParams(window.location.search);
    var start = params.get("start") || "-1d", end = params.get("end") || "now";
    syncLinks(start, end);
    load(start, end);
  });
  window.addEventListener("resize", function () {
    if (chart) { var w = box.clientWidth || 800; chart.setSize({ width: w, height: options(w).height }); }
  });
  var initial = new URLSearchParams(window.location.search);
  load(initial.get("start") || "-1d", initial.get("end") || "now");
}());
