/* rexmon dashboards: each panel with at most 20 metrics becomes a uPlot chart fed by the
   graphs' JSON (/graph?m=...&format=json); all charts share one time range and one
   crosshair (uPlot cursor sync). Dragging across any panel zooms every panel: the range
   goes into the address (from/to, bookmarkable), the charts fetch again and the panels
   that stay pictures get pictures of the new range. Without JavaScript the PNGs stay. */
(function () {
  "use strict";
  var page = document.getElementById("dashboard");
  if (!page || typeof window.uPlot === "undefined" || !window.fetch || !window.rexmonCharts) { return; }
  var charts = window.rexmonCharts;
  var zone = page.dataset.zone || "UTC";
  var sync = window.uPlot.sync("rexmon-dashboard");
  var panels = [];
  var lastZoom = "";  // the synced charts all report one selection: act on it once

  function combine(columns, how) {
    return columns[0].map(function (_, i) {
      var total = 0, known = 0;
      columns.forEach(function (column) { if (column[i] !== null) { total += column[i]; known += 1; } });
      if (!known) { return null; }
      return how === "average" ? total / known : total;
    });
  }

  // what a panel draws from its metrics' columns, as the PNG does (rrdarchive/graph.py)
  function shaped(panel, json) {
    var metrics = panel.metrics, scale = panel.scale;
    var columns = metrics.map(function (m) {
      return (json.series[m] || []).map(function (v) { return v === null ? null : v * scale; });
    });
    var mode = panel.mode;
    if (mode === "sum" || mode === "average") {
      return { labels: [mode + " of " + metrics.length + " metrics"], columns: [combine(columns, mode)] };
    }
    var kept = metrics.length - panel.rest;
    var labels = metrics.slice(0, kept), shown = columns.slice(0, kept);
    if (panel.rest) {
      labels.push("other (sum of " + panel.rest + " more)");
      shown.push(combine(columns.slice(kept), "sum"));
    }
    if (mode === "stacked") {
      var below = null;
      shown = shown.map(function (column) {
        var top = column.map(function (v, i) {
          var under = below ? below[i] : null;  // unknown stays unknown, as rrdtool's STACK
          if (v === null) { return under; }
          return under === null ? v : v + under;
        });
        below = top;
        return top;
      });
    }
    return { labels: labels, columns: shown };
  }

  function options(panel, labels, width) {
    var palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
    return {
      width: width, height: 200,
      tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1e3), zone); },
      scales: { x: { time: true }, y: { range: function (u, min, max) {
        return charts.yRange(min, max, panel.overlays.thresholds, panel.scale);
      } } },
      series: [{ label: "time (" + zone + ")", value: function (u, v) { return v === null ? "–" : charts.fieldTime(v, zone); } }]
        .concat(labels.map(function (label, i) {
          var colour = palette[i % palette.length];
          var line = { label: label, stroke: colour, width: 1.5, spanGaps: false };
          if (panel.mode === "stacked") { line.fill = colour + "80"; }
          return line;
        })),
      axes: [{ values: function (u, splits, axisIdx, space, incr) { return charts.timeLabels(splits, incr, zone); } },
             { label: panel.unit, size: 60 }],
      cursor: { sync: { key: sync.key }, drag: { x: true, y: false, setScale: false } },
      hooks: { draw: [function (u) { charts.drawOverlays(u, panel.overlays, panel.scale); }],
               setSelect: [zoomed] }
    };
  }

  function load(panel, start, end) {
    var box = panel.box;
    var points = Math.max(100, Math.min(2000, Math.round(box.clientWidth || 400)));
    var url = panel.series + "&start=" + encodeURIComponent(start) + "&end=" +
      encodeURIComponent(end) + "&points=" + points;
    box.setAttribute("aria-busy", "true");
    return window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (json) {
        panel.overlays = { downtimes: json.downtimes, thresholds: json.thresholds, alarms: json.alarms };
        var drawn = shaped(panel, json);
        var data = [json.timestamps].concat(drawn.columns);
        if (panel.chart === null) {
          var png = box.querySelector("img");
          if (png) { png.hidden = true; }
          panel.chart = new window.uPlot(options(panel, drawn.labels, box.clientWidth || 400), data, box);
          sync.sub(panel.chart);
        } else {
          panel.chart.setData(data, true);
        }
        box.dataset.start = json.start;
        box.dataset.end = json.end;
        box.removeAttribute("aria-busy");
      })
      .catch(function () { box.removeAttribute("aria-busy"); });
  }

  function setRange(start, end) {
    var shown = document.querySelector("p.range-shown");
    if (shown && /^\d+$/.test(start) && /^\d+$/.test(end)) {
      shown.textContent = charts.fieldTime(Number(start), zone) + " — " + charts.fieldTime(Number(end), zone) + " (" + zone + ")";
    }
    document.querySelectorAll("#dashboard-form input[name=from]").forEach(function (i) {
      i.value = /^\d+$/.test(start) ? charts.fieldTime(Number(start), zone) : start;
    });
    document.querySelectorAll("#dashboard-form input[name=to]").forEach(function (i) {
      i.value = /^\d+$/.test(end) ? charts.fieldTime(Number(end), zone) : end;
    });
    document.querySelectorAll("#dashboard figure.panel img").forEach(function (img) {
      var url = new URL(img.src, window.location.href);
      url.searchParams.set("from", start);
      url.searchParams.set("to", end);
      if (img.hidden) { img.dataset.src = url.pathname + url.search; } else { img.src = url.pathname + url.search; }
    });
    panels.forEach(function (panel) { load(panel, start, end); });
  }

  function zoomed(u) {
    if (u.select.width < 4) { return; }
    var start = Math.floor(u.posToVal(u.select.left, "x"));
    var end = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (end - start < 60) { end = start + 60; }
    if (lastZoom === start + "-" + end) { return; }
    lastZoom = start + "-" + end;
    var params = new URLSearchParams(window.location.search);
    params.set("from", String(start));
    params.set("to", String(end));
    window.history.pushState({}, "", "?" + params.toString());
    setRange(String(start), String(end));
  }

  document.querySelectorAll("#dashboard figure.panel").forEach(function (figure) {
    var box = figure.querySelector(".panel-chart");
    if (!box || !figure.dataset.series) { return; }
    panels.push({
      box: box, chart: null, series: figure.dataset.series, mode: figure.dataset.mode,
      metrics: figure.dataset.metrics.split(" "), rest: Number(figure.dataset.rest || "0"),
      unit: figure.dataset.unit || "", scale: Number(figure.dataset.scale || "1"),
      overlays: { downtimes: [], thresholds: [], alarms: [] }
    });
  });
  window.addEventListener("popstate", function () {
    var params = new URLSearchParams(window.location.search);
    setRange(params.get("from") || "-1d", params.get("to") || "now");
  });
  var initial = new URLSearchParams(window.location.search);
  panels.forEach(function (panel) { load(panel, initial.get("from") || "-1d", initial.get("to") || "now"); });
}());
