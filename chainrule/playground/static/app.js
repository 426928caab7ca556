// chainrule playground: the page. Training runs in the server on chainrule's engine; this file
// only draws what the server streams (server-sent events) and sends the user's settings.
"use strict";

const $ = (id) => document.getElementById(id);
const LRS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const NEG = [245, 147, 34], POS = [8, 119, 189], MID = [232, 234, 235];
const CLASS_COLORS = [[8, 119, 189], [245, 147, 34], [46, 160, 67], [142, 68, 173], [214, 39, 40]];
const UNIT = 36, GAP = 14, COLW = 118, TOP = 34;

let info = null;         // /api/info: choices, limits, defaults, presets
let cfg = null;          // the settings the page shows (the URL holds the same)
let sid = null;          // this tab's session id
let events = null;
let last = null;         // the last state the server sent
let points = null;       // {train, test}: the data, sent when it changes
let playing = false;
let trace = null, traceStep = 0;

// ------------------------------------------------------------------ helpers
function showError(msg) {
  const e = $("error");
  e.textContent = msg || "";
  e.hidden = !msg;
}

async function api(path, body, ctype) {
  const opts = body === undefined ? {} : {
    method: "POST",
    headers: {"Content-Type": ctype || "application/json"},
    body: ctype ? body : JSON.stringify(body),
  };
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({error: `HTTP ${r.status}`}));
  if (!r.ok) throw new Error(data.error || `HTTP ${r.status}`);
  return data;
}

function sup(n) {  // 12 → ⁽¹²⁾, the lecture's layer index
  return "⁽" + String(n).replace(/\d/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[d]) + "⁾";
}

function fmt(v) {
  if (v === null || v === undefined) return "–";
  return Math.abs(v) >= 1000 ? v.toExponential(2) : v.toFixed(3);
}

function unpack(b64) {
  const s = atob(b64);
  const out = new Float32Array(s.length);
  for (let i = 0; i < s.length; i++) {
    let b = s.charCodeAt(i);
    if (b > 127) b -= 256;
    out[i] = b / 127;
  }
  return out;
}

function unpackBytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function mix(a, b, t) {
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * t));
}

function divergeColor(v) {  // v in [-1, 1]: orange ... grey ... blue
  return v < 0 ? mix(MID, NEG, Math.min(1, -v)) : mix(MID, POS, Math.min(1, v));
}

function paint(canvas, n, colorAt) {
  const off = document.createElement("canvas");
  off.width = n; off.height = n;
  const ctx = off.getContext("2d");
  const img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const c = colorAt(i);
    img.data.set([c[0], c[1], c[2], 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  const g = canvas.getContext("2d");
  g.imageSmoothingEnabled = true;
  g.drawImage(off, 0, 0, canvas.width, canvas.height);
}

// ------------------------------------------------------------------ URL state
const INT_KEYS = ["noise", "ratio", "batch", "seed", "classes", "points"];
const FLOAT_KEYS = ["lr", "regRate"];

function toQuery(c) {
  const q = new URLSearchParams();
  for (const k of Object.keys(info.defaults)) {
    const v = c[k];
    q.set(k, Array.isArray(v) ? v.join(",") : String(v));
  }
  return q.toString();
}

// Strict: every key must be known and every value well formed; otherwise nothing is taken
// from the URL (the server checks the ranges again).
function parseQuery(search) {
  const q = new URLSearchParams(search);
  const c = structuredClone(info.defaults);
  const problems = [];
  for (const [k, v] of q.entries()) {
    if (!(k in info.defaults)) { problems.push(`unknown key ${k}`); continue; }
    if (INT_KEYS.includes(k)) {
      if (!/^\d{1,10}$/.test(v)) problems.push(`${k}=${v} is not an integer`);
      else c[k] = parseInt(v, 10);
    } else if (FLOAT_KEYS.includes(k)) {
      if (!/^\d+(\.\d+)?(e-?\d+)?$/i.test(v)) problems.push(`${k}=${v} is not a number`);
      else c[k] = parseFloat(v);
    } else if (k === "layers") {
      if (!/^(\d(,\d){0,5})?$/.test(v)) problems.push(`layers=${v} is not a list of sizes`);
      else c.layers = v === "" ? [] : v.split(",").map(Number);
    } else if (k === "features") {
      const f = v.split(",");
      if (!v || f.some((x) => !info.features.includes(x))) problems.push(`features=${v}`);
      else c.features = f;
    } else {
      c[k] = v;
    }
  }
  return {config: c, problems};
}

function syncURL() {
  history.replaceState(null, "", "?" + toQuery(cfg));
}

// ------------------------------------------------------------------ controls
function fillSelect(sel, values, label) {
  sel.innerHTML = "";
  for (const v of values) {
    const o = document.createElement("option");
    o.value = String(v);
    o.textContent = label ? label(v) : String(v);
    sel.appendChild(o);
  }
}

function selectValue(sel, v) {
  if (![...sel.options].some((o) => o.value === String(v))) {
    const o = document.createElement("option");
    o.value = o.textContent = String(v);
    sel.appendChild(o);
  }
  sel.value = String(v);
}

const ACT_LABEL = {identity: "identity (linear)", relu: "ReLU", softplus: "soft ReLU",
  threshold: "hard threshold", logistic: "logistic", tanh: "tanh"};
const DS_LABEL = {circle: "circle", xor: "XOR", gauss: "Gaussian", spiral: "spiral",
  "xor01": "XOR on {0,1}²", "reg-plane": "plane (regr.)", "reg-gauss": "Gaussian (regr.)",
  bump: "bump (regr.)", custom: "your CSV"};

function buildControls() {
  fillSelect($("lr"), LRS);
  fillSelect($("regRate"), RATES);
  fillSelect($("activation"), info.activations, (a) => ACT_LABEL[a]);
  fillSelect($("reg"), info.regularizations, (r) => ({none: "none", l1: "L1", l2: "L2"}[r]));
  fillSelect($("optimizer"), info.optimizers,
    (o) => ({sgd: "SGD", momentum: "SGD + momentum 0.9", adam: "Adam"}[o]));
  fillSelect($("loss"), info.losses);
  fillSelect($("preset"), ["none", ...Object.keys(info.presets)],
    (p) => p === "none" ? "none" : info.presets[p].title);
  fillSelect($("classes"), [2, 3, 4, 5]);
  const ds = $("datasets");
  for (const name of Object.keys(info.datasets)) {
    const b = document.createElement("button");
    b.textContent = DS_LABEL[name] || name;
    b.dataset.testid = `dataset-${name}`;
    b.dataset.name = name;
    b.addEventListener("click", () => {
      if (name === "custom" && !uploaded) { showError("upload a CSV file first"); return; }
      change({dataset: name, preset: "none"});
    });
    ds.appendChild(b);
  }
  const simple = {lr: parseFloat, regRate: parseFloat, activation: String, reg: String,
    optimizer: String, loss: String, classes: Number};
  for (const [k, conv] of Object.entries(simple)) {
    $(k).addEventListener("change", (e) => change({[k]: conv(e.target.value)}));
  }
  for (const k of ["ratio", "noise", "batch", "points"]) {
    $(k).addEventListener("input", (e) => { $(`${k}-v`).textContent = e.target.value; });
    $(k).addEventListener("change", (e) => change({[k]: Number(e.target.value)}));
  }
  $("seed").addEventListener("change", (e) => {
    const v = Number(e.target.value);
    if (Number.isInteger(v) && v >= 0) change({seed: v});
  });
  $("regenerate").addEventListener("click", () => change({seed: Math.floor(Math.random() * 1e6)}));
  $("preset").addEventListener("change", (e) => {
    const p = e.target.value;
    if (p === "none") change({preset: "none"});
    else { cfg = structuredClone(info.presets[p].config); applyConfig(); }
  });
  $("play").addEventListener("click", () => control(playing ? "pause" : "play"));
  $("step").addEventListener("click", () => control("step"));
  $("reset").addEventListener("click", () => control("reset"));
  $("add-layer").addEventListener("click", () => {
    if (cfg.layers.length < info.limits.layers) change({layers: [...cfg.layers, 2], preset: "none"});
  });
  $("remove-layer").addEventListener("click", () => {
    if (cfg.layers.length > 0) change({layers: cfg.layers.slice(0, -1), preset: "none"});
  });
  $("upload").addEventListener("change", upload);
  $("show-test").addEventListener("change", drawRegion);
  $("weight-close").addEventListener("click", () => { $("weight-editor").hidden = true; });
  $("weight-set").addEventListener("click", setWeight);
  $("inspect-run").addEventListener("click", runTrace);
  $("inspect-next").addEventListener("click", () => showStep(traceStep + 1));
  $("inspect-prev").addEventListener("click", () => showStep(traceStep - 1));
  $("inspect-all").addEventListener("click", () => trace && showStep(traceLines().length - 1));
}

function showConfig() {
  selectValue($("lr"), cfg.lr);
  selectValue($("regRate"), cfg.regRate);
  for (const k of ["activation", "reg", "optimizer", "loss", "preset", "classes"]) {
    $(k).value = String(cfg[k]);
  }
  for (const k of ["ratio", "noise", "batch", "points"]) {
    $(k).value = cfg[k];
    $(`${k}-v`).textContent = cfg[k];
  }
  $("seed").value = cfg.seed;
  $("layer-count").textContent = cfg.layers.length;
  for (const b of $("datasets").children) b.classList.toggle("on", b.dataset.name === cfg.dataset);
  $("classes-field").hidden = !(cfg.dataset === "gauss" || cfg.dataset === "spiral");
  $("loss").disabled = info.datasets[cfg.dataset] === "regression";
  const note = $("preset-note");
  if (cfg.preset !== "none") {
    note.hidden = false;
    note.textContent = `${info.presets[cfg.preset].title}. The slide: ${info.presets[cfg.preset].says}`;
  } else {
    note.hidden = true;
  }
  const q = toQuery(cfg);
  $("export-checkpoint").href = sid ? `/api/session/${sid}/checkpoint` : "#";
  $("export-script").href = sid ? `/api/session/${sid}/script` : "#";
  syncURL();
  return q;
}

async function change(update) {
  cfg = {...cfg, ...update};
  await applyConfig();
}

async function applyConfig() {
  showConfig();
  trace = null;
  renderTrace();
  try {
    const r = await api(`/api/session/${sid}/config`, {config: cfg});
    cfg = r.config;
    showError("");
  } catch (e) {
    showError(e.message);
  }
  showConfig();
}

async function control(action) {
  try {
    const r = await api(`/api/session/${sid}/control`, {action});
    playing = r.playing;
    showPlaying();
  } catch (e) { showError(e.message); }
}

function showPlaying() {
  $("play").textContent = playing ? "❚❚ pause" : "▶ play";
}

// ------------------------------------------------------------------ upload
let uploaded = false;
async function upload(e) {
  const file = e.target.files[0];
  if (!file) return;
  const msg = $("upload-message");
  if (file.size > info.limits.upload_bytes) {
    msg.textContent = `${file.name}: ${file.size} bytes; the limit is ${info.limits.upload_bytes}`;
    msg.className = "small bad";
    return;
  }
  const text = await file.text();
  try {
    const r = await api(`/api/session/${sid}/upload`, text, "text/csv");
    uploaded = true;
    cfg = r.config;
    msg.textContent = `${file.name}: ${r.points} points, ${r.problem}` +
      (r.problem === "regression" ? "" : `, ${r.classes} classes`);
    msg.className = "small good";
    showConfig();
  } catch (err) {
    msg.textContent = `${file.name}: ${err.message}`;
    msg.className = "small bad";
  }
  e.target.value = "";
}

// ------------------------------------------------------------------ the session
async function start() {
  try {
    const r = await api("/api/session", {config: cfg});
    sid = r.id;
    cfg = r.config;
  } catch (e) {
    showError(`${e.message}; starting from the defaults instead`);
    cfg = structuredClone(info.defaults);
    const r = await api("/api/session", {config: cfg});
    sid = r.id;
  }
  uploaded = false;
  showConfig();
  listen();
}

function listen() {
  if (events) events.close();
  events = new EventSource(`/api/session/${sid}/events`);
  events.onmessage = (m) => render(JSON.parse(m.data));
  events.onerror = () => {
    // The server restarted or dropped this session: start a new one with the same settings.
    if (events.readyState === EventSource.CLOSED || events.readyState === EventSource.CONNECTING) {
      events.close();
      events = null;
      setTimeout(() => { if (!events) start().catch(() => {}); }, 1500);
    }
  };
}

// ------------------------------------------------------------------ drawing
function render(s) {
  last = s;
  if (s.data) points = s.data;
  playing = s.playing;
  showPlaying();
  $("iteration").textContent = s.iteration.toLocaleString("en-US", {minimumIntegerDigits: 6}).replace(/,/g, ",");
  $("train-loss").textContent = fmt(s.train_loss);
  $("test-loss").textContent = fmt(s.test_loss);
  $("grad-norms").textContent = s.grad_norms.map((g, i) => `W${sup(i + 1)} ${g.toPrecision(3)}`).join(" · ");
  const note = $("unit-note");
  note.hidden = !s.note;
  note.textContent = s.note || "";
  drawChart();
  drawRegion();
  drawNetwork();
}

function drawChart() {
  const c = $("chart"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const h = last.history.filter((p) => p[1] !== null);
  if (h.length < 2) return;
  const maxIt = h[h.length - 1][0] || 1;
  let top = 0;
  for (const p of h) top = Math.max(top, p[1], p[2] === null ? 0 : p[2]);
  top = top || 1;
  const line = (k, color) => {
    g.strokeStyle = color; g.lineWidth = 1.5; g.beginPath();
    h.forEach((p, i) => {
      if (p[k] === null) return;
      const x = p[0] / maxIt * (c.width - 2) + 1, y = c.height - 2 - p[k] / top * (c.height - 6);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  };
  line(1, "#999");
  line(2, "#222");
}

function regionColor(s) {
  const v = unpack(s.region.values);
  if (s.problem === "multiclass") {
    const cls = unpackBytes(s.region.classes);
    const k = s.classes;
    return (i) => {
      const conf = (v[i] + 1) / 2;                 // the winning class's probability
      const t = Math.max(0, (conf - 1 / k) / (1 - 1 / k));
      return mix(MID, CLASS_COLORS[cls[i]], 0.15 + 0.6 * t);
    };
  }
  // binary: 2p − 1 (class 1 blue, class 0 orange); regression: the value
  return (i) => s.problem === "binary" ? divergeColor(-v[i] * 0.8) : divergeColor(v[i] * 0.8);
}

function pointColor(label) {
  if (last.problem === "regression") return divergeColor(Math.max(-1, Math.min(1, label)));
  if (last.problem === "binary") return label >= 0.5 ? NEG : POS;
  return CLASS_COLORS[label];
}

function drawRegion() {
  if (!last) return;
  const c = $("region");
  paint(c, last.region.size, regionColor(last));
  if (!points) return;
  const g = c.getContext("2d");
  const [lo, hi] = last.domain;
  const px = (x) => (x - lo) / (hi - lo) * c.width;
  const py = (y) => (hi - y) / (hi - lo) * c.height;
  const dot = (p, test) => {
    const col = pointColor(p[2]);
    g.fillStyle = `rgb(${col})`;
    g.strokeStyle = test ? "#000" : "#fff";
    g.lineWidth = 1;
    g.beginPath(); g.arc(px(p[0]), py(p[1]), 3, 0, 2 * Math.PI); g.fill(); g.stroke();
  };
  points.train.forEach((p) => dot(p, false));
  if ($("show-test").checked) points.test.forEach((p) => dot(p, true));
  // axes ticks: the domain's ends and 0
  g.fillStyle = "#555"; g.font = "10px sans-serif";
  g.fillText(String(lo), 2, c.height - 3);
  g.fillText(String(hi), c.width - 14, c.height - 3);
  const legend = $("legend");
  legend.textContent = last.problem === "regression" ? "colour: the network's output (orange − … blue +)" :
    last.problem === "binary" ? "blue: class 0, orange: class 1 (shade: σ(z))" :
    `${last.classes} classes; shade: the winning softmax probability`;
}

function unitPos(col, i) {
  return {x: col * COLW + 8, y: TOP + i * (UNIT + GAP)};
}

function drawNetwork() {
  const net = $("net");
  const s = last;
  const feats = info.features;
  const sc = s.config;            // what the server trained (the page's cfg may be newer)
  const layers = sc.layers;
  const ncols = layers.length + 2;
  const maxUnits = Math.max(feats.length, ...layers, 1);
  const width = ncols * COLW, height = TOP + maxUnits * (UNIT + GAP) + 10;
  net.style.width = width + "px"; net.style.height = height + "px";
  const svg = $("links");
  svg.setAttribute("width", width); svg.setAttribute("height", height);
  // unit canvases: reuse what exists, keyed by id
  const want = new Set();
  const canvasAt = (id, col, i, title, testid) => {
    want.add(id);
    let cv = document.getElementById(id);
    if (!cv) {
      cv = document.createElement("canvas");
      cv.id = id; cv.width = 20; cv.height = 20; cv.className = "unit";
      net.appendChild(cv);
    }
    cv.dataset.testid = testid;
    const p = unitPos(col, i);
    cv.style.left = p.x + "px"; cv.style.top = p.y + "px";
    cv.title = title;
    return cv;
  };
  // inputs: every feature, the active ones drawn
  let active = 0;
  const activeRow = {};
  feats.forEach((f, i) => {
    const cv = canvasAt(`feat-${f}`, 0, i, f, `feature-${f}`);
    const on = sc.features.includes(f);
    cv.classList.toggle("off", !on);
    if (on) {
      activeRow[active] = i;
      const vals = unpack(s.inputs[active]);
      paint(cv, 20, (k) => divergeColor(vals[k]));
      active++;
    } else {
      cv.getContext("2d").clearRect(0, 0, 20, 20);
    }
    if (!cv.onclick) {
      cv.onclick = () => {
        const has = cfg.features.includes(f);
        const next = has ? cfg.features.filter((x) => x !== f) : [...cfg.features, f];
        if (next.length) change({features: feats.filter((x) => next.includes(x)), preset: "none"});
      };
    }
    labelAt(`featl-${f}`, 0, i, f, want);
  });
  // hidden units
  layers.forEach((n, l) => {
    for (let i = 0; i < n; i++) {
      const cv = canvasAt(`unit-${l}-${i}`, l + 1, i, `layer ${l + 1}, unit ${i + 1}`,
        `unit-${l}-${i}`);
      const m = s.units[l] && s.units[l][i];
      if (m) { const vals = unpack(m); paint(cv, 20, (k) => divergeColor(vals[k])); }
      badgeAt(l, i, want);
    }
    plusMinus(l, want);
  });
  // output
  const outCol = layers.length + 1;
  const out = canvasAt("unit-out", outCol, 0, "output", "unit-out");
  paint(out, last.region.size, regionColor(s));
  labelAt("outl", outCol, 0, "output", want);
  for (const el of [...net.children]) {
    if (el.tagName !== "svg" && !want.has(el.id)) el.remove();
  }
  // links, one per weight: colour by sign, width by size
  svg.innerHTML = "";
  const colRows = [sc.features.map((_, j) => activeRow[j]), ...layers.map((n) => [...Array(n).keys()])];
  s.weights.forEach((w, l) => {
    const srcRows = colRows[l];
    const dstCol = l + 1;
    w.W.forEach((row, r) => {
      row.forEach((v, c) => {
        if (v === null) return;
        const a = unitPos(l, srcRows[c]), b = unitPos(dstCol, dstCol === outCol ? 0 : r);
        const x1 = a.x + UNIT, y1 = a.y + UNIT / 2, x2 = b.x, y2 = b.y + UNIT / 2;
        const d = `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`;
        const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
        path.setAttribute("d", d);
        path.setAttribute("class", "link");
        path.setAttribute("stroke", `rgb(${v < 0 ? NEG : POS})`);
        path.setAttribute("stroke-width", Math.max(0.5, Math.min(6, Math.abs(v) * 2)));
        path.dataset.testid = `link-${l}-${r}-${c}`;
        svg.appendChild(path);
        // a wide transparent twin on top takes the mouse: thin links are hard to hit
        const hit = document.createElementNS("http://www.w3.org/2000/svg", "path");
        hit.setAttribute("d", d);
        hit.setAttribute("class", "hit");
        const label = `W${sup(l + 1)}[${r + 1},${c + 1}] = ${v}`;
        hit.addEventListener("mousemove", (e) => tooltip(e, label));
        hit.addEventListener("mouseleave", () => { $("tooltip").hidden = true; });
        hit.addEventListener("click", (e) => openEditor(e, l, r, c, v, label));
        svg.appendChild(hit);
      });
    });
  });
}

function labelAt(id, col, i, text, want) {
  want.add(id);
  let el = document.getElementById(id);
  if (!el) {
    el = document.createElement("div");
    el.id = id; el.className = "ulabel";
    $("net").appendChild(el);
  }
  const p = unitPos(col, i);
  el.style.left = (col === 0 ? p.x - 2 : p.x) + "px";
  el.style.top = (p.y + UNIT) + "px";
  el.textContent = text;
}

function badgeAt(l, i, want) {
  const id = `badge-${l}-${i}`;
  want.add(id);
  let el = document.getElementById(id);
  if (!el) {
    el = document.createElement("div");
    el.id = id; el.className = "badge"; el.dataset.testid = id;
    $("net").appendChild(el);
  }
  const p = unitPos(l + 1, i);
  el.style.left = (p.x + UNIT + 2) + "px";
  el.style.top = (p.y - 2) + "px";
}

function plusMinus(l, want) {
  for (const [sign, delta] of [["+", 1], ["−", -1]]) {
    const id = `${delta > 0 ? "add" : "remove"}-unit-${l}`;
    want.add(id);
    let b = document.getElementById(id);
    if (!b) {
      b = document.createElement("button");
      b.id = id; b.className = "round small"; b.textContent = sign;
      b.dataset.testid = id;
      b.addEventListener("click", () => {
        const n = cfg.layers[l] + delta;
        if (n < 1 || n > info.limits.units) return;
        const layers = [...cfg.layers]; layers[l] = n;
        change({layers, preset: "none"});
      });
      $("net").appendChild(b);
    }
    const p = unitPos(l + 1, 0);
    b.style.left = (p.x + (delta > 0 ? 0 : 24)) + "px";
    b.style.top = "4px";
  }
}

function tooltip(e, text) {
  const t = $("tooltip");
  t.hidden = false;
  t.textContent = text + "  (click to edit)";
  t.style.left = (e.pageX + 12) + "px";
  t.style.top = (e.pageY + 12) + "px";
}

let editing = null;
function openEditor(e, l, r, c, v, label) {
  editing = {l, r, c};
  const ed = $("weight-editor");
  ed.hidden = false;
  ed.style.left = (e.pageX + 8) + "px";
  ed.style.top = (e.pageY + 8) + "px";
  $("weight-label").textContent = label.split(" = ")[0];
  $("weight-input").value = v;
  $("weight-input").focus();
}

async function setWeight() {
  if (!editing) return;
  const value = parseFloat($("weight-input").value);
  if (!Number.isFinite(value)) { showError("weight: enter a number"); return; }
  try {
    await api(`/api/session/${sid}/weight`, {layer: editing.l, row: editing.r, col: editing.c, value});
    $("weight-editor").hidden = true;
    showError("");
  } catch (err) { showError(err.message); }
}

// ------------------------------------------------------------------ look inside
async function runTrace() {
  const split = $("inspect-split").value;
  const index = parseInt($("inspect-index").value, 10);
  if (!Number.isInteger(index) || index < 0) { showError("example: a non-negative integer"); return; }
  if (playing) await control("pause");
  try {
    trace = await api(`/api/session/${sid}/inspect?split=${split}&index=${index}`);
    showError("");
    showStep(0);
  } catch (e) { showError(e.message); }
}

function traceLines() {
  const fw = trace.forward.map((f) => ({
    phase: "forward", name: f.name, value: f.value,
    text: f.op === null ? `${f.name} = ${show(f.value)}   (${f.kind})`
      : `${f.name} = ${f.rule} = ${show(f.value)}   [${f.op}]`}));
  const bw = trace.backward.map((b) => ({
    phase: "backward", name: b.name, value: b.value,
    text: `${b.bar} = ${b.rule} = ${show(b.value)}` +
      (b.terms.length > 1 ? `   (sum over ${b.terms.length} children)` : "")}));
  return [...fw, ...bw];
}

function show(v) {
  const flat = (a) => Array.isArray(a) ? a.flatMap(flat) : [a];
  const f = flat(v).map((x) => x === null ? "nan" : Number(x.toPrecision(4)));
  return f.length === 1 ? String(f[0]) : `[${f.join(", ")}]`;
}

function showStep(k) {
  if (!trace) return;
  const lines = traceLines();
  traceStep = Math.max(0, Math.min(lines.length - 1, k));
  renderTrace();
}

function renderTrace() {
  const ol = $("inspect-lines");
  ol.innerHTML = "";
  for (const el of document.querySelectorAll(".badge")) { el.textContent = ""; el.className = "badge"; }
  if (!trace) { $("inspect-step").textContent = ""; $("inspect-current").textContent = ""; return; }
  const lines = traceLines();
  lines.slice(0, traceStep + 1).forEach((ln, i) => {
    const li = document.createElement("li");
    li.textContent = ln.text;
    li.className = ln.phase + (i === traceStep ? " cur" : "");
    if (i === trace.forward.length) li.classList.add("first-back");
    ol.appendChild(li);
  });
  if (ol.lastChild) ol.scrollTop = ol.scrollHeight;  // keep the current line in view
  const cur = lines[traceStep];
  $("inspect-step").textContent =
    `step ${traceStep + 1} of ${lines.length} (${cur.phase} pass) · example ${trace.index} of the ` +
    `${trace.split} set at (${trace.point.join(", ")}), target ${trace.target}`;
  $("inspect-current").textContent = cur.text;
  // the values on the units: the latest h⁽ˡ⁾ (forward) or z̄⁽ˡ⁾ (backward) shown so far
  const seen = lines.slice(0, traceStep + 1);
  cfg.layers.forEach((n, l) => {
    const tag = sup(l + 1);
    let fwd = null, bwd = null;
    for (const ln of seen) {
      if (ln.phase === "forward" && (ln.name === "h" + tag || (ln.name === "z" + tag && !fwd))) fwd = ln.value;
      if (ln.phase === "backward" && ln.name === "z" + tag) bwd = ln.value;
    }
    const vals = (bwd || fwd);
    if (!vals) return;
    const flat = vals.flat ? vals.flat(Infinity) : vals;
    for (let i = 0; i < n; i++) {
      const el = document.getElementById(`badge-${l}-${i}`);
      if (!el || flat[i] === undefined) continue;
      el.textContent = (bwd ? "z̄ " : "h ") + Number(flat[i]).toPrecision(3);
      el.className = "badge " + (bwd ? "back" : "fwd");
    }
  });
}

// ------------------------------------------------------------------ boot
async function boot() {
  info = await api("/api/info");
  buildControls();
  const {config, problems} = parseQuery(location.search);
  if (problems.length) {
    showError(`The link's settings were not used: ${problems.join("; ")}`);
    cfg = structuredClone(info.defaults);
  } else {
    cfg = config;
  }
  await start();
}

boot().catch((e) => showError(`The playground could not start: ${e.message}`));
