/* The console's report charts: reads the JSON the page points at (data-source) and draws it
   with Chart.js. No inline script (the page's CSP allows scripts from this origin only); text
   reaches the page through textContent only. */
(function () {
  "use strict";
  var root = document.getElementById("report");
  var status = document.getElementById("chart-status");
  if (!root || typeof window.Chart === "undefined") {
    if (status) { status.textContent = "Charts are unavailable; the table below has the figures."; }
    return;
  }
  var Chart = window.Chart;
  var COLOURS = ["#0b57d0", "#1a7f37", "#bf8700", "#cf222e", "#8250df", "#57606a"];

  function minutes(seconds) {
    return seconds === null || seconds === undefined ? null : Math.round(seconds / 6) / 10;
  }

  function line(id, labels, datasets, options) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    new Chart(canvas, {
      type: options && options.type || "line",
      data: { labels: labels, datasets: datasets },
      options: {
        responsive: true,
        animation: false,
        spanGaps: true,
        scales: options && options.scales || { y: { beginAtZero: true } },
        plugins: { legend: { display: datasets.length > 1 } }
      }
    });
  }

  function draw(report) {
    var days = report.days;
    var labels = days.map(function (d) { return d.day; });
    line("chart-escalations", labels, [{
      label: "Escalations", data: days.map(function (d) { return d.escalations; }),
      backgroundColor: COLOURS[0]
    }], { type: "bar", scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } });
    line("chart-times", labels, [
      { label: "First reply", borderColor: COLOURS[0], backgroundColor: COLOURS[0],
        data: days.map(function (d) { return minutes(d.median_first_reply_seconds); }) },
      { label: "Resolve", borderColor: COLOURS[2], backgroundColor: COLOURS[2],
        data: days.map(function (d) { return minutes(d.median_resolve_seconds); }) }
    ]);
    var names = report.outcome_names;
    var outcomes = document.getElementById("chart-outcomes");
    if (outcomes) {
      new Chart(outcomes, {
        type: "doughnut",
        data: {
          labels: names.map(function (n) { return n.replace(/_/g, " "); }),
          datasets: [{ data: names.map(function (n) { return report.total.outcomes[n] || 0; }),
                       backgroundColor: COLOURS }]
        },
        options: { responsive: true, animation: false }
      });
    }
    line("chart-satisfaction", labels, [{
      label: "Mean rating", borderColor: COLOURS[1], backgroundColor: COLOURS[1],
      data: days.map(function (d) { return d.mean_rating; })
    }], { scales: { y: { min: 1, max: 5 } } });
    line("chart-containment", labels, [{
      label: "Containment %", borderColor: COLOURS[4], backgroundColor: COLOURS[4],
      data: days.map(function (d) {
        return d.containment === null ? null : Math.round(d.containment * 1000) / 10;
      })
    }], { scales: { y: { min: 0, max: 100 } } });
  }

  var source = root.getAttribute("data-source");
  fetch(source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(draw)
    .catch(function (err) {
      status.textContent = "The charts could not be drawn (" + err.message + "); the table below has the figures.";
    });
})();
