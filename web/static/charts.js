/* rexmon charts: what the metric page (metric.js) and the dashboards (dashboard.js) share:
   the overlay colours, site-zone time texts and axis labels, and the drawing of downtime
   bands, threshold lines and alarm marks over a uPlot chart. */
window.rexmonCharts = (function () {
  "use strict";
  var DAY = 86400;
  // Okabe-Ito colours, the same as the pictures' (web/graphs/overlays.py)
  var COLOURS = {
    planned: "rgba(0, 114, 178, 0.25)", unplanned: "rgba(204, 121, 167, 0.38)",
    warning: "#e69f00", critical: "#d55e00", fired: "#000000", cleared: "#009e73"
  };

  function parts(seconds, zone) {
    var found = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", weekday: "short"
    }).formatToParts(new Date(seconds * 1e3)).forEach(function (p) { found[p.type] = p.value; });
    found.monthName = new Intl.DateTimeFormat("en-US", { timeZone: zone, month: "short" })
      .format(new Date(seconds * 1e3));
    return found;
  }

  // "2026-12-03 13:40" (seconds only when not zero): what the from/to fields accept
  function fieldTime(seconds, zone) {
    var p = parts(seconds, zone);
    var text = p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
    return p.second === "00" ? text : text + ":" + p.second;
  }

  // the time axis' labels: hours, days or months as the range asks, each named once
  function timeLabels(splits, incr, zone) {
    var previous = null;
    return splits.map(function (seconds) {
      var p = parts(seconds, zone), text;
      if (incr >= 28 * DAY) { text = p.month === "01" ? p.monthName + " " + p.year : p.monthName; }
      else if (incr >= DAY) { text = p.day + " " + p.monthName; }
      else if (p.hour === "00" && p.minute === "00") { text = p.day + " " + p.monthName; }
      else { text = p.hour + ":" + p.minute; }
      if (text === previous) { return ""; }
      previous = text;
      return text;
    });
  }

  // the y range: the data's, always including the thresholds, padded by 5 %
  function yRange(min, max, thresholds, scale) {
    thresholds.forEach(function (t) {
      var v = t.value * scale;
      if (min === null || v < min) { min = v; }
      if (max === null || v > max) { max = v; }
    });
    if (min === null || max === null) { return [0, 1]; }
    if (min === max) { return [min - 1, max + 1]; }
    var pad = (max - min) * 0.05;
    return [min - pad, max + pad];
  }

  function drawOverlays(u, overlays, scale) {
    var ctx = u.ctx, area = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(area.left, area.top, area.width, area.height);
    ctx.clip();
    overlays.downtimes.forEach(function (band) {
      var x0 = u.valToPos(band.start, "x", true), x1 = u.valToPos(band.end, "x", true);
      ctx.fillStyle = COLOURS[band.kind] || COLOURS.planned;
      ctx.fillRect(x0, area.top, Math.max(1, x1 - x0), area.height);
    });
    ctx.lineWidth = Math.max(1, window.devicePixelRatio || 1) * 1.5;
    overlays.thresholds.forEach(function (line) {
      var y = u.valToPos(line.value * scale, "y", true);
      ctx.strokeStyle = COLOURS[line.severity] || COLOURS.critical;
      ctx.setLineDash(line.severity === "warning" ? [8, 5] : [2, 3]);
      ctx.beginPath(); ctx.moveTo(area.left, y); ctx.lineTo(area.left + area.width, y); ctx.stroke();
    });
    ctx.setLineDash([]);
    overlays.alarms.forEach(function (mark) {
      var x = u.valToPos(mark.at, "x", true);
      ctx.strokeStyle = mark.event === "cleared" ? COLOURS.cleared : COLOURS.fired;
      ctx.beginPath(); ctx.moveTo(x, area.top); ctx.lineTo(x, area.top + area.height); ctx.stroke();
    });
    ctx.restore();
  }

  return { COLOURS: COLOURS, parts: parts, fieldTime: fieldTime, timeLabels: timeLabels,
           yRange: yRange, drawOverlays: drawOverlays };
}());
