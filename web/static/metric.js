/* rexmon metric page: replaces the PNG with an interactive uPlot chart.
   Drag (mouse) or slide a finger (touch) across the chart to zoom: the data are fetched
   again at the resolution of the new range and the from/to fields show the range as
   site-zone times; hover for values; downtime bands, threshold lines and alarm marks
   drawn as on the PNG. Every time is in the site zone (data-zone), 24-hour.
   Without JavaScript (or if anything here fails) the PNG stays. */
(function () {
  "use strict";
  var box = document.getElementById("chart");
  if (!box || typeof window.uPlot === "undefined" || !window.fetch || !window.rexmonCharts) { return; }
  var charts = window.rexmonCharts;
  var unit = box.dataset.unit || "";
  var scale = Number(box.dataset.scale || "1");
  var zone = box.dataset.zone || "UTC";
  var overlays = { downtimes: [], thresholds: [], alarms: [] };
  var chart = null;
  var lastValue = null;

  function fieldTime(seconds) { return charts.fieldTime(seconds, zone); }

  // the canvas has no text a screen reader (or a test) can read: the chart's label says
  // what the time axis shows
  function describe(labels) {
    var text = "chart of " + box.dataset.metric + "; time axis in " + zone + " (24-hour): " +
      labels.filter(function (l) { return l; }).join(", ");
    if (box.getAttribute("aria-label") !== text) { box.setAttribute("aria-label", text); }
  }

  function axisLabels(u, splits, axisIdx, space, incr) {
    var labels = charts.timeLabels(splits, incr, zone);
    describe(labels);
    return labels;
  }

  function number(value) {
    if (value === null || value === undefined) { return "–"; }
    var abs = Math.abs(value);
    var text = abs !== 0 && (abs >= 1e6 || abs < 1e-3) ? value.toExponential(3) : String(+value.toPrecision(5));
    return unit ? text + " " + unit : text;
  }

  function scaled(values) {
    return scale === 1 ? values : values.map(function (v) { return v === null ? null : v * scale; });
  }

  // thresholds are always on the chart: the range includes them
  function yRange(u, min, max) { return charts.yRange(min, max, overlays.thresholds, scale); }

  function drawOverlays(u) {
    charts.drawOverlays(u, overlays, scale);
    legendNote(u);
  }

  // what the chart shows right now: bands and marks inside the x range, lines inside y
  function visible(u) {
    var x = u.scales.x, y = u.scales.y;
    function inX(t) { return t >= x.min && t <= x.max; }
    return {
      downtimes: overlays.downtimes.filter(function (b) { return b.end > x.min && b.start < x.max; }),
      thresholds: overlays.thresholds.filter(function (t) { var v = t.value * scale; return v >= y.min && v <= y.max; }),
      alarms: overlays.alarms.filter(function (m) { return inX(m.at); })
    };
  }

  function legendNote(u) {
    var note = document.getElementById("chart-overlays");
    if (!note) {
      note = document.createElement("p");
      note.id = "chart-overlays";
      note.className = "hint";
      box.insertAdjacentElement("afterend", note);
    }
    var shown = visible(u), shownParts = [];
    var planned = shown.downtimes.filter(function (b) { return b.kind === "planned"; }).length;
    var unplanned = shown.downtimes.length - planned;
    if (planned) { shownParts.push(planned + " planned downtime window(s) (blue)"); }
    if (unplanned) { shownParts.push(unplanned + " unplanned downtime window(s) (pink)"); }
    if (shown.thresholds.length) { shownParts.push(shown.thresholds.length + " threshold line(s) (dashed: warning orange, critical vermillion)"); }
    if (shown.alarms.length) { shownParts.push(shown.alarms.length + " alarm mark(s) (fired black, cleared green)"); }
    var text = shownParts.length ? "Shown: " + shownParts.join(", ") + "." : "";
    if (lastValue !== null) { text = "Last value: " + number(lastValue * scale) + ". " + text; }
    if (note.textContent !== text) { note.textContent = text; }
  }

  function options(width) {
    return {
      width: width, height: Math.max(200, Math.min(400, Math.round(width * 0.4))),
      tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1e3), zone); },
      scales: { x: { time: true }, y: { range: yRange } },
      series: [
        { label: "time (" + zone + ")", value: function (u, v) { return v === null ? "–" : fieldTime(v); } },
        { label: box.dataset.metric, stroke: "#1f77b4", width: 1.5, spanGaps: false,
          value: function (u, v) { return number(v); } }
      ],
      axes: [
        { label: "time in " + zone + " (24-hour)", labelSize: 20, values: axisLabels },
        { label: unit, size: 70 }
      ],
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: { draw: [drawOverlays], setSelect: [zoomed], ready: [touchZoom] }
    };
  }

  function zoomed(u) {
    if (u.select.width < 4) { return; }
    var start = Math.floor(u.posToVal(u.select.left, "x"));
    var end = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (end - start < 60) { end = start + 60; }
    // the address keeps exact UNIX seconds (a link names the same picture in any zone);
    // the fields show them as site-zone times, which the server reads back the same
    var query = "?start=" + start + "&end=" + end;
    window.history.pushState({ start: start, end: end }, "", query);
    syncLinks(String(start), String(end));
    load(start, end);
  }

  // one finger sliding across the chart selects a range, as a mouse drag does
  function touchZoom(u) {
    var over = u.over, from = null;
    function x(event) { return event.touches.length ? event.touches[0].clientX : event.changedTouches[0].clientX; }
    function clamp(v) { return Math.max(0, Math.min(over.clientWidth, v)); }
    over.addEventListener("touchstart", function (event) {
      from = event.touches.length === 1 ? clamp(x(event) - over.getBoundingClientRect().left) : null;
    }, { passive: true });
    over.addEventListener("touchmove", function (event) {
      if (from === null) { return; }
      var now = clamp(x(event) - over.getBoundingClientRect().left);
      if (Math.abs(now - from) > 10) { event.preventDefault(); }
      u.setSelect({ left: Math.min(from, now), width: Math.abs(now - from), top: 0, height: over.clientHeight }, false);
    }, { passive: false });
    over.addEventListener("touchend", function (event) {
      if (from === null) { return; }
      var now = clamp(x(event) - over.getBoundingClientRect().left);
      var left = Math.min(from, now), width = Math.abs(now - from);
      from = null;
      if (width >= 10) { u.setSelect({ left: left, width: width, top: 0, height: over.clientHeight }, true); }
      else { u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false); }
    });
  }

  function shownTime(text) { return /^\d+$/.test(text) ? fieldTime(Number(text)) : text; }

  function syncLinks(start, end) {
    document.querySelectorAll("form.range input[name=start]").forEach(function (i) { i.value = shownTime(start); });
    document.querySelectorAll("form.range input[name=end]").forEach(function (i) { i.value = shownTime(end); });
    document.querySelectorAll("nav.presets a[data-start]").forEach(function (a) {
      var current = a.dataset.start === start && end === "now";
      a.classList.toggle("current", current);
      if (current) { a.setAttribute("aria-current", "true"); } else { a.removeAttribute("aria-current"); }
    });
    document.querySelectorAll("p.downloads a").forEach(function (a) {
      var url = new URL(a.href, window.location.href);
      if (url.pathname.indexOf("/downtimes/") !== -1) { return; }
      url.searchParams.set("start", start);
      url.searchParams.set("end", end);
      a.href = url.pathname + url.search;
    });
  }

  function showRange(first, last) {
    var shown = document.querySelector("p.range-shown");
    if (shown) { shown.textContent = fieldTime(first) + " — " + fieldTime(last) + " (" + zone + ")"; }
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
        lastValue = json.last_value === undefined ? null : json.last_value;
        var data = [json.timestamps, scaled(json.values)];
        if (chart === null) {
          var png = document.getElementById("graph-png");
          if (png) { png.hidden = true; }
          chart = new window.uPlot(options(box.clientWidth || 800), data, box);
        } else {
          chart.setData(data, true);
        }
        box.dataset.start = json.start;
        box.dataset.end = json.end;
        showRange(json.start, json.end);
        box.removeAttribute("aria-busy");
      })
      .catch(function (error) {
        box.removeAttribute("aria-busy");
        var hint = document.getElementById("chart-hint");
        if (hint) { hint.textContent = "Interactive chart unavailable (" + error.message + "); showing the image."; }
      });
  }

  var hint = document.getElementById("chart-hint");
  if (hint && window.matchMedia && window.matchMedia("(pointer: coarse)").matches) {
    hint.textContent = "Slide a finger across the chart to zoom in; the browser's Back button zooms out.";
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
