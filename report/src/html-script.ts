/**
 * The HTML report's in-page script (plain JS, no build step): reads the
 * embedded timelines and draws a case's three uPlot charts — tool
 * throughput, per-NIC rx/tx, CPU — on one x scale with synced cursors when
 * its timelines are opened, or for every case before printing. The
 * bit-rate formatter is common/src/format.ts's own, its source put in here.
 */
import { browserFunction, formatBitrate } from "../../common/src/format.js";

/** Runs in the browser after uPlot; expects `#netmatrix-data` and the `.case` sections. */
export const REPORT_SCRIPT = String.raw`
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("netmatrix-data").textContent);
  var palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
  var stepped = uPlot.paths.stepped({ align: -1 });
  var plots = new Map(); // case id -> uPlot[]

  ${browserFunction(formatBitrate)}
  function fmtBps(v) { return formatBitrate(v, "–"); }
  function fmtPct(v) { return v == null || !isFinite(v) ? "–" : v.toFixed(1) + " %"; }
  function fmtS(v) { return v == null ? "–" : v.toFixed(2) + " s"; }

  function note(box, text) {
    var p = document.createElement("p");
    p.className = "note";
    p.textContent = text;
    box.appendChild(p);
  }

  function chart(host, title, ch, fmt, t, key, width, empty) {
    var box = document.createElement("div");
    box.className = "chart";
    var h = document.createElement("h4");
    h.textContent = title;
    box.appendChild(h);
    host.appendChild(box);
    var tables = (ch || []).filter(function (tb) { return tb.x.length && tb.series.length; });
    if (!tables.length) { note(box, empty); return null; }
    var aligned = tables.map(function (tb) { return [tb.x].concat(tb.series.map(function (s) { return s.values; })); });
    var joined = aligned.length === 1 ? aligned[0] : uPlot.join(aligned);
    var labels = [].concat.apply([], tables.map(function (tb) { return tb.series; }));
    var series = [{ label: "time", value: function (u, v) { return fmtS(v); } }];
    labels.forEach(function (s, i) {
      series.push({ label: s.label, stroke: palette[i % palette.length], width: 1.5, spanGaps: true, paths: stepped, value: function (u, v) { return fmt(v); } });
    });
    var opts = {
      width: width,
      height: 170,
      cursor: { sync: { key: key, setSeries: false } },
      scales: {
        x: { time: false, range: [t.xMin, t.xMax] },
        y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; } },
      },
      axes: [
        { values: function (u, vals) { return vals.map(function (v) { return v + " s"; }); } },
        { size: 96, values: function (u, vals) { return vals.map(fmt); } },
      ],
      series: series,
    };
    return new uPlot(opts, joined, box);
  }

  function render(section) {
    var id = section.getAttribute("data-case");
    var c = data.cases[id];
    var host = section.querySelector(".charts");
    if (!host) return;
    (plots.get(id) || []).forEach(function (p) { p.destroy(); });
    plots.set(id, []);
    host.textContent = "";
    var sel = section.querySelector("select.rep");
    var rep = c && c.reps[sel ? Number(sel.value) : c.def];
    if (!rep) { note(host, "No repetition recorded."); return; }
    if (rep.failure) note(host, "This repetition failed: " + rep.failure);
    var t = rep.t;
    var width = Math.max(320, Math.min((host.clientWidth || section.clientWidth || 900) - 8, 1200));
    var key = "case-" + id + "-" + (sel ? sel.value : c.def);
    var made = [
      chart(host, "tool throughput per interval", t.tool, fmtBps, t, key, width, c.noIntervals),
      chart(host, "NIC rx / tx (both ends)", t.nics, fmtBps, t, key, width, "No NIC samples in this repetition."),
      chart(host, "CPU, % of the node", t.cpu, fmtPct, t, key, width, "No CPU samples in this repetition."),
    ].filter(Boolean);
    plots.set(id, made);
    section.setAttribute("data-rendered", String(made.length));
  }

  function openCase(section) {
    var d = section.querySelector("details.charts-box");
    if (d && !d.open) d.open = true; // the toggle listener renders
    else if (d && !section.hasAttribute("data-rendered")) render(section);
  }

  document.querySelectorAll("section.case").forEach(function (section) {
    var d = section.querySelector("details.charts-box");
    var sel = section.querySelector("select.rep");
    if (d) d.addEventListener("toggle", function () { if (d.open && !section.hasAttribute("data-rendered")) render(section); });
    if (sel) sel.addEventListener("change", function () { if (d && d.open) render(section); else section.removeAttribute("data-rendered"); });
  });

  function openAll() { document.querySelectorAll("section.case").forEach(function (s) { var d = s.querySelector("details.charts-box"); if (d) d.open = true; if (!s.hasAttribute("data-rendered")) render(s); }); }
  var all = document.getElementById("open-all");
  if (all) all.addEventListener("click", openAll);
  window.addEventListener("beforeprint", openAll);

  function fromHash() {
    var m = /^#case-(.+)$/.exec(location.hash);
    var s = m && document.getElementById("case-" + decodeURIComponent(m[1]));
    if (s) openCase(s);
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();

  var resizing = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      plots.forEach(function (list, id) {
        var s = document.getElementById("case-" + id);
        var host = s && s.querySelector(".charts");
        if (!host || !host.clientWidth) return;
        var w = Math.max(320, Math.min(host.clientWidth - 8, 1200));
        list.forEach(function (p) { p.setSize({ width: w, height: 170 }); });
      });
    }, 150);
  });
})();
`;
