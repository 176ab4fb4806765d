// The web UI's single page: scan controls with progress and the live view, results, one result,
// history. Self-contained (no external scripts, fonts or styles); talks to /api/*.
#include "web/web_page.hpp"

namespace polscan::web {

const std::string& webPage() {
  static const std::string page = R"PAGE(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>polscan</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:sans-serif;margin:0;background:#f4f4f4;color:#222}
header{background:#223;color:#fff;padding:8px 16px;display:flex;gap:24px;align-items:center}
header a{color:#ccd;text-decoration:none}header a.active{color:#fff;font-weight:bold}
main{padding:12px 16px}section{display:none}section.shown{display:block}
fieldset{display:inline-block;vertical-align:top;border:1px solid #bbb;margin:0 12px 12px 0}
label{display:block;margin:4px 0}input[type=number]{width:7em}
button{margin:4px 4px 4px 0;padding:4px 12px}
#error{color:#b00;min-height:1.2em}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
#live{max-width:640px;border:1px solid #888;background:#000;display:block}
progress{width:320px}
p.note{border:2px solid #c60;background:#fff4e8;padding:6px;max-width:800px}
</style></head><body>
<header><strong>polscan</strong>
<a href="#scan" id="nav-scan">Scan</a><a href="#results" id="nav-results">Results</a>
<a href="#history" id="nav-history">History</a></header>
<main>
<div id="error"></div>
<section id="page-scan">
<fieldset><legend>Region</legend>
<label>x (mm) <input type="number" id="x_mm" step="0.01" value="0.05"></label>
<label>y (mm) <input type="number" id="y_mm" step="0.01" value="0.05"></label>
<label>width (mm) <input type="number" id="width_mm" step="0.01" value="0.8"></label>
<label>height (mm) <input type="number" id="height_mm" step="0.01" value="0.55"></label>
</fieldset>
<fieldset><legend>Sample</legend>
<label>sample id <input type="text" id="sample_id"></label>
<label>operator <input type="text" id="operator"></label>
<label><input type="checkbox" id="autofocus" checked> autofocus</label>
<label>focus z (um) <input type="number" id="focus_z_um" step="0.5" value="0"></label>
</fieldset>
<div><button id="start">Start scan</button><button id="stop">Stop</button>
<button id="resume">Resume</button></div>
<p>State: <b id="state">-</b> <span id="scan-id"></span></p>
<p><progress id="bar" max="1" value="0"></progress>
fields <span id="progress">0/0</span>, crystals <span id="crystals">0</span>,
elapsed <span id="elapsed">0</span> s, ETA <span id="eta">-</span> s</p>
<p id="message"></p>
<p><a id="open-result" href="#" style="display:none">Open the result</a></p>
<h3>Live view <small id="live-caption">(no field analysed yet)</small></h3>
<img id="live" alt="latest analysed field with crystal outlines">
</section>
<section id="page-results"><h2>Results</h2>
<table><thead><tr><th>scan</th><th>sample id</th><th>fields</th><th>crystals</th><th>state</th><th></th></tr></thead>
<tbody id="results-body"></tbody></table></section>
<section id="page-result"><h2>Result <span id="result-id"></span></h2>
<p>Crystals: <b id="result-count">-</b> in <span id="result-fields">-</span> fields,
scanned area <span id="result-area">-</span> mm&sup2;</p>
<table><thead><tr><th>class</th><th>count</th><th>per uL</th></tr></thead><tbody id="result-counts"></tbody></table>
<div id="result-notes"></div>
<p>Download: <a id="dl-html">report.html</a> | <a id="dl-json">report.json</a> |
<a id="dl-csv">crystals.csv</a></p>
<img id="result-mosaic" alt="mosaic with crystal marks" style="max-width:800px;border:1px solid #888">
</section>
<section id="page-history"><h2>Sample history</h2>
<table><thead><tr><th>sample id</th><th>type</th><th>date (UTC)</th><th>operator</th><th>fields</th><th>counts</th></tr></thead>
<tbody id="history-body"></tbody></table></section>
</main>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
function withToken(url) {
  return token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url;
}
async function api(path, body) {
  const opts = {headers: {}};
  if (token) opts.headers["X-Polscan-Token"] = token;
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || (r.status + " " + r.statusText));
  return j;
}
function showError(e) { $("error").textContent = e ? String(e.message || e) : ""; }
function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }
let lastStatus = null, liveShown = -1;
async function poll() {
  try {
    const s = await api("/api/status");
    lastStatus = s;
    $("state").textContent = s.state;
    $("scan-id").textContent = s.scan_id;
    $("progress").textContent = s.fields_done + "/" + s.fields_total;
    $("bar").max = Math.max(1, s.fields_total);
    $("bar").value = s.fields_done;
    $("crystals").textContent = s.crystals;
    $("elapsed").textContent = s.elapsed_s.toFixed(1);
    $("eta").textContent = s.eta_s === null ? "-" : s.eta_s.toFixed(1);
    $("message").textContent = s.message;
    const ended = ["finished", "stopped", "failed"].includes(s.state);
    $("open-result").style.display = ended && s.scan_id && s.state !== "failed" ? "" : "none";
    $("open-result").href = "#result/" + s.scan_id;
    const key = s.scan_id + ":" + s.fields_done;
    if (s.fields_done > 0 && key !== liveShown && s.state !== "idle") {
      liveShown = key;
      $("live").src = withToken("/api/live.png?n=" + encodeURIComponent(key));
      $("live-caption").textContent = "(scan " + s.scan_id + ", after " + s.fields_done + " fields)";
    }
  } catch (e) { showError(e); }
}
function form() {
  const num = (id) => Number($(id).value);
  return {x_mm: num("x_mm"), y_mm: num("y_mm"), width_mm: num("width_mm"), height_mm: num("height_mm"),
          autofocus: $("autofocus").checked, focus_z_um: num("focus_z_um"),
          sample_id: $("sample_id").value, operator: $("operator").value};
}
$("start").onclick = async () => { showError(); try { await api("/api/scan/start", form()); liveShown = -1; poll(); } catch (e) { showError(e); } };
$("stop").onclick = async () => { showError(); try { await api("/api/scan/stop", {}); poll(); } catch (e) { showError(e); } };
$("resume").onclick = async () => {
  showError();
  try {
    if (!lastStatus || !lastStatus.scan_id) throw new Error("no scan to resume: open one from Results");
    await api("/api/scan/resume", {scan_id: lastStatus.scan_id}); poll();
  } catch (e) { showError(e); }
};
async function showResults() {
  const j = await api("/api/results");
  const body = $("results-body"); body.textContent = "";
  for (const s of j.scans) {
    const tr = document.createElement("tr");
    cell(tr, s.id); cell(tr, s.sample_id || ""); cell(tr, (s.fields_done ?? "?") + "/" + (s.fields_total ?? "?"));
    cell(tr, s.crystals ?? "-"); cell(tr, s.error ? "error: " + s.error : (s.complete ? "complete" : "incomplete"));
    const td = cell(tr, "");
    const open = document.createElement("button"); open.textContent = "Open"; open.className = "open";
    open.dataset.id = s.id; open.onclick = () => { location.hash = "#result/" + s.id; };
    td.appendChild(open);
    if (!s.complete && !s.error) {
      const res = document.createElement("button"); res.textContent = "Resume";
      res.onclick = async () => { try { await api("/api/scan/resume", {scan_id: s.id}); location.hash = "#scan"; } catch (e) { showError(e); } };
      td.appendChild(res);
    }
    body.appendChild(tr);
  }
}
async function showResult(id) {
  $("result-id").textContent = id;
  const base = "/api/report/" + encodeURIComponent(id) + "/";
  const r = await api(base + "report.json");
  $("result-count").textContent = r.crystals.length;
  $("result-fields").textContent = r.fields;
  $("result-area").textContent = r.scan ? r.scan.scanned_area_mm2.toFixed(3) : "-";
  const body = $("result-counts"); body.textContent = "";
  for (const [cls, n] of Object.entries(r.counts)) {
    if (!n) continue;
    const tr = document.createElement("tr"); cell(tr, cls); cell(tr, n);
    const per = r.concentration_per_ul ? r.concentration_per_ul[cls] : null;
    cell(tr, per == null ? "-" : per.toFixed(1)); body.appendChild(tr);
  }
  const notes = $("result-notes"); notes.textContent = "";
  for (const text of r.notes || []) {
    const p = document.createElement("p"); p.className = "note"; p.textContent = text;
    notes.appendChild(p);
  }
  $("dl-html").href = withToken(base + "report.html");
  $("dl-json").href = withToken(base + "report.json");
  $("dl-csv").href = withToken(base + "crystals.csv");
  $("result-mosaic").src = withToken(base + "mosaic.png");
}
async function showHistory() {
  const j = await api("/api/history");
  const body = $("history-body"); body.textContent = "";
  for (const s of j.samples) {
    const tr = document.createElement("tr");
    cell(tr, s.sample_id); cell(tr, s.sample_type); cell(tr, s.date); cell(tr, s.operator); cell(tr, s.fields);
    cell(tr, Object.entries(s.counts).filter(([, n]) => n > 0).map(([c, n]) => c + " " + n).join(", "));
    body.appendChild(tr);
  }
}
async function route() {
  showError();
  const h = location.hash || "#scan";
  const page = h.startsWith("#result/") ? "result" : h.slice(1);
  for (const s of document.querySelectorAll("section")) s.classList.toggle("shown", s.id === "page-" + page);
  for (const a of document.querySelectorAll("header a")) a.classList.toggle("active", a.id === "nav-" + page);
  try {
    if (page === "results") await showResults();
    if (page === "history") await showHistory();
    if (page === "result") await showResult(decodeURIComponent(h.slice("#result/".length)));
  } catch (e) { showError(e); }
}
window.addEventListener("hashchange", route);
route(); poll(); setInterval(poll, 400);
</script></body></html>
)PAGE";
  return page;
}

}  // namespace polscan::web
