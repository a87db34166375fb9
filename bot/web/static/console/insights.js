/* The insights pages' charts, drawn with Chart.js from the tables on the page: a canvas names
   its table (data-table); the table's header cells with data-series are the datasets ("bar" or
   "line"; data-axis="percent" puts a line on a 0-100 axis on the right), each body row's first
   cell the label and each cell's data-value the number. So the page shows the same figures with
   or without JavaScript, needs no inline script (the CSP allows scripts from this origin only),
   and text reaches the page through textContent only (labels are drawn on the canvas). */
(function () {
  "use strict";
  var canvases = document.querySelectorAll("canvas[data-table]");
  var statuses = document.querySelectorAll(".chart-status");
  var COLOURS = ["#0b57d0", "#cf222e", "#1a7f37", "#bf8700", "#8250df", "#57606a", "#e16f24",
                 "#0598bc", "#bf3989", "#6e7781"];

  function say(text) {
    Array.prototype.forEach.call(statuses, function (el) { el.textContent = text; });
  }

  if (!canvases.length) { return; }
  if (typeof window.Chart === "undefined") {
    say("Charts are unavailable; the tables have the figures.");
    return;
  }
  var Chart = window.Chart;

  function number(cell) {
    var raw = cell ? cell.getAttribute("data-value") : null;
    if (raw === null || raw === "") { return null; }
    var value = Number(raw);
    return isFinite(value) ? value : null;
  }

  function read(table) {
    var heads = table.tHead.rows[0].cells;
    var series = [];
    for (var i = 0; i < heads.length; i++) {
      if (heads[i].hasAttribute("data-series")) {
        series.push({ index: i, label: heads[i].textContent.trim(),
                      kind: heads[i].getAttribute("data-series"),
                      axis: heads[i].getAttribute("data-axis") });
      }
    }
    var labels = [];
    var values = series.map(function () { return []; });
    var rows = table.tBodies[0].rows;
    for (var r = 0; r < rows.length; r++) {
      var cells = rows[r].cells;
      if (cells.length !== heads.length) { continue; }  // "nothing in this period"
      labels.push(cells[0].textContent.trim());
      series.forEach(function (s, k) { values[k].push(number(cells[s.index])); });
    }
    return { labels: labels, series: series, values: values };
  }

  function draw(canvas) {
    var table = document.getElementById(canvas.getAttribute("data-table"));
    var figure = canvas.closest("figure");
    if (!table) { return; }
    var data = read(table);
    if (!data.labels.length || !data.series.length) {
      if (figure) { figure.hidden = true; }
      return;
    }
    var horizontal = canvas.getAttribute("data-horizontal") === "1";
    var stacked = canvas.getAttribute("data-stacked") === "1";
    var percent = false;
    var datasets = data.series.map(function (s, k) {
      var colour = COLOURS[k % COLOURS.length];
      var onPercent = s.axis === "percent";
      percent = percent || onPercent;
      return {
        type: s.kind === "line" ? "line" : "bar", label: s.label, data: data.values[k],
        backgroundColor: colour, borderColor: colour, spanGaps: true, pointRadius: 1,
        yAxisID: onPercent ? "percent" : undefined, order: onPercent ? 0 : 1
      };
    });
    var scales = {};
    scales[horizontal ? "x" : "y"] = { beginAtZero: true, stacked: stacked };
    scales[horizontal ? "y" : "x"] = { stacked: stacked, ticks: { autoSkip: !horizontal } };
    if (percent) {
      scales.percent = { position: "right", min: 0, max: 100, stacked: false,
                         grid: { drawOnChartArea: false },
                         title: { display: true, text: "% unmet" } };
    }
    if (horizontal && canvas.parentNode) {
      // One bar row per table row, readable however many there are.
      var box = document.createElement("div");
      box.className = "chart-box";
      box.style.height = Math.max(160, data.labels.length * 26 + 60) + "px";
      canvas.parentNode.insertBefore(box, canvas);
      box.appendChild(canvas);
    }
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: !horizontal,
        animation: false,
        scales: scales,
        plugins: { legend: { display: datasets.length > 1 } }
      }
    });
  }

  try {
    Array.prototype.forEach.call(canvases, draw);
  } catch (err) {
    say("The charts could not be drawn (" + err.message + "); the tables have the figures.");
  }
})();
