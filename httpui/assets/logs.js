// apilog Logs page. The route "rows" draws a new view's parts with the
// page's templates; the script puts them in place and draws no row. Data
// reaches the page only as the server escaped it, or as textContent.
document.documentElement.classList.add("js");
const $ = (s, el = document) => el.querySelector(s);
const $$ = (s, el = document) => Array.from(el.querySelectorAll(s));
const root = $("#logs"), filters = $("#filters"), rowsForm = $("#rows"), bar = $("#bar");
const fmtLocal = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const fmtUTC = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long", timeZone: "UTC" });
const utcBox = $("#utc");
const fmtMS = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3, timeZoneName: "short" });
function showTimes(scope = document) {
  const fmt = utcBox.checked ? fmtUTC : fmtLocal;
  for (const t of $$("time[datetime]", scope)) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) t.textContent = (t.hasAttribute("data-ms") ? fmtMS : fmt).format(d);
  }
}
utcBox.checked = localStorage.getItem("apilog-utc") === "1";
utcBox.addEventListener("change", () => { localStorage.setItem("apilog-utc", utcBox.checked ? "1" : "0"); showTimes(); });
showTimes();

// Fullscreen, with a CSS fallback where the API is refused.
$("#fullscreen").addEventListener("click", async () => {
  if (document.fullscreenElement) return document.exitFullscreen();
  if (root.classList.contains("fullscreen-fallback")) return root.classList.remove("fullscreen-fallback");
  try { await root.requestFullscreen(); } catch { root.classList.add("fullscreen-fallback"); }
});

// The headers stick under the toolbar, whose height varies.
new ResizeObserver(() => root.style.setProperty("--bar-h", bar.offsetHeight + "px")).observe(bar);

const sayBox = $("#said");
const say = (text) => { sayBox.textContent = ""; requestAnimationFrame(() => { sayBox.textContent = text; }); };

// Selection; Shift and a click select from the last row clicked.
const selected = $("#selected"), boxes = () => $$("#tbody input[name=id]");
let lastBox = null;
function updateSelection() {
  const all = boxes(), n = all.filter((b) => b.checked).length, head = $("#select-all");
  selected.textContent = n.toLocaleString() + " selected";
  head.checked = n > 0 && n === all.length;
  head.indeterminate = n > 0 && n < all.length;
}
rowsForm.addEventListener("click", (e) => {
  const box = e.target.closest("#tbody input[name=id]");
  if (box) {
    if (e.shiftKey && lastBox && lastBox !== box && lastBox.isConnected) {
      const all = boxes(), a = all.indexOf(lastBox), b = all.indexOf(box);
      for (const x of all.slice(Math.min(a, b), Math.max(a, b) + 1)) x.checked = box.checked;
    }
    lastBox = box;
    return;
  }
  const ip = e.target.closest("td[data-col=ip] code[title]");
  if (ip) return copyText(ip.parentNode, ip.title);
  const tr = e.target.closest("#tbody tr");
  if (tr && !e.target.closest("a, button, input, label") && !getSelection().toString()) openDetail(tr);
});
rowsForm.addEventListener("keydown", (e) => {
  const box = e.target.closest("#tbody input[name=id]");
  if (box && e.key === "Enter") { e.preventDefault(); openDetail(box.closest("tr")); }
});

// A row's detail panel, drawn by the route "row"; its URL is a permalink.
let detailFrom = null, detailCtl = null;
async function openDetail(tr) {
  if (controller) return; // a new view is coming: not this row's
  const p = new URLSearchParams(location.search), t = $("time[datetime]", tr);
  p.set("row", tr.dataset.id);
  p.set("at", t.getAttribute("datetime"));
  if (detailCtl) detailCtl.abort();
  const mine = detailCtl = new AbortController();
  try {
    const panel = parse(await parts("row", p, mine.signal));
    showTimes(panel);
    $("#detail").replaceWith(panel.firstElementChild);
    $("#detail-title").focus();
  } catch (err) {
    if (err.name !== "AbortError") showError(err, () => openDetail(tr));
    return;
  }
  detailFrom = $("input[name=id]", tr);
  const a = $("#detail .permalink"); // none: "Request not found"
  if (a) history.pushState(null, "", a.getAttribute("href"));
}
function closeDetail() {
  const d = $("#detail"), url = new URL($(".close", d).getAttribute("href"), location.href).href;
  d.hidden = true;
  d.replaceChildren();
  if (url !== location.href) history.pushState(null, "", url);
  if (detailFrom && detailFrom.isConnected) detailFrom.focus();
}
root.addEventListener("click", (e) => {
  if (!e.target.closest("#detail")) return;
  const copy = e.target.closest("button[data-copy], button[data-copy-link]");
  if (copy) copyText(copy, copy.hasAttribute("data-copy-link") ? $("#detail .permalink").href : copy.dataset.copy);
  if (e.target.closest(".close") && !e.ctrlKey && !e.metaKey) { e.preventDefault(); closeDetail(); }
});
rowsForm.addEventListener("change", (e) => {
  if (e.target.id === "select-all") for (const b of boxes()) b.checked = e.target.checked;
  updateSelection();
});
// copyText copies text, and says so beside el.
function copyText(el, text) {
  const done = (ok) => {
    say(ok ? "Copied" : "Could not copy: select the text and copy it");
    if (el.tagName !== "BUTTON") return el.classList.toggle("copied", ok), setTimeout(() => el.classList.remove("copied"), 1500);
    const was = el.dataset.was ||= el.textContent;
    el.textContent = ok ? "Copied" : "Not copied";
    setTimeout(() => { el.textContent = was; }, 1500);
  };
  (navigator.clipboard ? navigator.clipboard.writeText(text) : Promise.reject()).then(() => done(true), () => done(false));
}

function stateFromFilters() {
  const p = new URLSearchParams();
  const fd = new FormData(filters);
  const range = fd.get("range") || "";
  for (const [k, v] of fd) {
    if (v === "" || ((k === "from" || k === "to") && range !== "custom")) continue;
    if (k === "from" || k === "to") {
      const d = new Date(v); // datetime-local is the user's local time
      if (!isNaN(d)) p.append(k, d.toISOString());
      continue;
    }
    p.append(k, v);
  }
  return p;
}

// parts fetches what route draws for params ("": nothing new).
async function parts(route, params, signal) {
  let res;
  try {
    res = await fetch(route + "?" + params.toString(), { signal, headers: { Accept: "text/html" } });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw Object.assign(new Error("The server did not answer."), { retry: true });
  }
  if (res.status === 204) return "";
  if (res.redirected) throw new Error("The server answered with another page (has your session ended?): reload this one.");
  const type = res.headers.get("Content-Type") || "";
  if (res.ok && type.startsWith("text/html")) return res.text();
  const body = type.startsWith("application/json") ? await res.json().catch(() => ({})) : {};
  throw Object.assign(new Error(body.error || "The server answered " + res.status + "."), { param: body.param, detail: body.message, retry: res.status >= 500 || !body.error });
}

let controller = null, timer = 0;
async function load(params, push) {
  clearTimeout(timer); // a pending search must not undo this view
  if (livePending) livePending.abort();
  liveWait = 2000; // a slow view's back-off is not this one's
  if (controller) controller.abort();
  if (detailCtl) detailCtl.abort();
  // A chart being counted holds a turn these rows would wait for.
  if (volCtl) { volCtl.abort(); volCtl = null; volKey = null; }
  const mine = controller = new AbortController();
  // Dimmed only if slow: dimming repaints.
  const dim = setTimeout(() => root.classList.add("loading"), 300);
  try {
    place(parse(await parts("rows", params, mine.signal)));
    clearError();
    if (!$("#detail").hidden) $("#detail-title").focus(); // Back to a panel
    // A new view shows its first rows: up to the table's top.
    if (rowsForm.getBoundingClientRect().top < bar.getBoundingClientRect().bottom - 1) rowsForm.scrollIntoView();
    const url = params.toString() ? "?" + params.toString() : location.pathname;
    // A burst of typing is one history entry.
    if (push === "typed" && history.state && history.state.typed) history.replaceState({ typed: true }, "", url);
    else if (push) history.pushState(push === "typed" ? { typed: true } : null, "", url);
  } catch (err) {
    if (err.name !== "AbortError") showError(err, () => load(params, push));
  } finally {
    if (controller === mine) controller = null;
    clearTimeout(dim);
    root.classList.remove("loading");
  }
}

// showError: beside the search box if the search is wrong, else above
// the rows, with Try again if that may help; the rows dim.
const search = filters.elements.q, searchError = $("#search-error");
function showError(err, retry) {
  clearError();
  root.classList.add("stale");
  if (err.param === "q") {
    search.setAttribute("aria-invalid", "true");
    searchError.textContent = err.detail;
    searchError.hidden = false;
    return;
  }
  const box = el("div", { id: "js-error", class: "error", role: "alert", text: err.message });
  if (err.retry && retry) { const b = el("button", { type: "button", text: "Try again" }); b.onclick = retry; box.append(" ", b); }
  bar.append(box);
}
function clearError() {
  root.classList.remove("stale");
  search.removeAttribute("aria-invalid");
  searchError.hidden = true;
  const box = $("#js-error");
  if (box) box.remove();
}

// place puts the parts in html in place. With fresh (Live's new rows
// above those shown) only those go in, and as many go from the end.
let renders = 0, shown = null;
const first = () => Math.ceil(innerHeight / 25) + 10;
const parse = (html) => { const t = document.createElement("template"); t.innerHTML = html; return t.content; };
function place(parts, fresh = 0, live = false) {
  showTimes(parts);
  renders++;
  const rows = parts.getElementById("tbody"), n = rows.rows.length;
  let rest = null;
  if (fresh) {
    const tbody = $("#tbody");
    tbody.prepend(...Array.from(rows.rows).slice(0, fresh));
    while (tbody.rows.length > n) tbody.lastElementChild.remove();
    rows.remove();
  } else if (n > first()) {
    // The rows in view now, the others after that paint: laying out 500
    // rows takes ~100 ms on 2 slow cores, the budget of the whole click.
    const r = document.createRange();
    r.setStartBefore(rows.rows[first()]);
    r.setEndAfter(rows.lastChild);
    rest = r.extractContents();
    rows.setAttribute("aria-busy", "true");
  }
  // The focus stays on what had it (a chip, a pager link), redrawn.
  const f = document.activeElement, r = f.closest("[data-region]"), c = f.closest("[data-col]");
  const again = r && "#" + r.id + " " + (f.name ? `[name="${f.name}"][value="${CSS.escape(f.value)}"]` : f.rel ? `[rel=${f.rel}]` : c ? `[data-col=${c.dataset.col}] a` : "a");
  if (live) for (const id of ["detail", "key-list"]) parts.getElementById(id).remove(); // an open panel or list stays
  for (const part of $$("[data-region]", parts)) document.getElementById(part.id).replaceWith(part);
  if (r) ($(again) || $("#" + r.id + " a"))?.focus();
  lastBox = null;
  updateSelection();
  if (rest) {
    const gen = renders;
    requestAnimationFrame(() => setTimeout(function more() {
      if (gen !== renders) return; // a newer view replaced this one
      const some = document.createDocumentFragment(), all = $("#select-all").checked;
      for (let i = 0; i < 150 && rest.firstChild; i++) some.append(rest.firstChild);
      if (all) for (const b of $$("input[name=id]", some)) b.checked = true;
      $("#tbody").append(some);
      if (rest.firstChild) return void setTimeout(more); // a click between two batches is not kept waiting
      $("#tbody").removeAttribute("aria-busy");
      updateSelection();
    }));
  }
  readState();
  // The chart once the rows are painted; a live page's now and then.
  if (!live || (!volCtl && Date.now() - volAsked > 10000)) requestAnimationFrame(() => setTimeout(() => loadVolume(new FormData(rowsForm))));
  liveSchedule();
}
function readState() {
  const st = $("#state").dataset;
  shown = { total: +st.totalRows, maxID: +st.maxId, newest: st.newest };
  liveSince = shown.maxID;
  liveShow.hidden = true;
}

// Live polls the view's first page with since= (204: nothing new). New
// rows go in only where that moves nothing (newest first, at the top,
// nothing selected); elsewhere a bar counts them. A poll waits 2 s, or 20
// times the last one's time; none while the tab is hidden.
const liveShow = $("#live-show"), liveBox = filters.elements.live;
let liveSince = 0, liveTimer = 0, liveWait = 2000, liveView = null, livePending = null, liveFailed = false;
readState();
const scroller = () => document.fullscreenElement || (root.classList.contains("fullscreen-fallback") ? root : document.scrollingElement);
function liveSchedule() {
  clearTimeout(liveTimer);
  if (liveBox.checked && !document.hidden) liveTimer = setTimeout(livePoll, liveWait);
}
async function livePoll() {
  const q = new URLSearchParams(shown.newest), newest = shown.newest;
  if (liveSince > 0) q.set("since", String(liveSince));
  const t0 = performance.now(), gen = renders, ac = livePending = new AbortController();
  try {
    const html = await parts("rows", q, ac.signal);
    liveWait = Math.max(2000, 20 * (performance.now() - t0));
    // Not if the view changed meanwhile.
    if (html && liveBox.checked && gen === renders && !controller) liveArrived(html, newest);
    if (liveFailed) { liveFailed = false; clearError(); }
  } catch (err) {
    // Back off, up to a minute, from a server that is down.
    liveWait = Math.min(60000, Math.max(2000, 2 * liveWait));
    if (err.name !== "AbortError") { liveFailed = true; showError(Object.assign(new Error("Live is paused: " + err.message + " Trying again shortly."), { param: "" })); }
  }
  if (livePending === ac) livePending = null;
  liveSchedule();
}
function liveArrived(html, newest) {
  if ($("#tbody[aria-busy]")) return; // rows still coming; the next poll
  const parts = parse(html), st = parts.getElementById("state").dataset, ids = Array.from(parts.getElementById("tbody").rows, (tr) => +tr.dataset.id);
  liveSince = +st.maxId;
  const n = Math.max(+st.totalRows - shown.total, ids.filter((id) => id > shown.maxID).length);
  if (n <= 0) return;
  const here = new URLSearchParams(location.search), first = new URLSearchParams(newest);
  here.sort(); first.sort();
  const atTop = first.toString() === here.toString() && !here.has("sort") && scroller().scrollTop < 40 && !boxes().some((b) => b.checked);
  if (atTop) {
    // Prepended when the rows shown follow them, else redrawn.
    const was = Array.from($("#tbody").rows, (tr) => +tr.dataset.id), k = ids.findIndex((id) => id <= shown.maxID);
    place(parts, k > 0 && ids.slice(k).every((id, i) => id === was[i]) ? k : 0, true);
    return;
  }
  liveView = new URLSearchParams(newest);
  liveShow.textContent = n.toLocaleString() + (n === 1 ? " new request" : " new requests") + " — show";
  liveShow.hidden = false;
}
liveShow.addEventListener("click", async () => {
  scroller().scrollTo(0, 0);
  rowsForm.tabIndex = -1;
  rowsForm.focus({ preventScroll: true });
  await load(liveView, liveView.toString() !== location.search.slice(1));
});
document.addEventListener("visibilitychange", () => { if (!document.hidden) liveWait = 0; liveSchedule(); });

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v; else if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

// The custom range's inputs are local; the URL's and the server's UTC.
const pad = (n) => String(n).padStart(2, "0");
const toLocalInput = (iso) => {
  const d = new Date(/[Zz]|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + "Z"); // the server reads no zone as UTC
  if (isNaN(d)) return "";
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
};
const zone = $("#range-zone");
zone.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

const go = (p, push) => { setControls(p); load(p, push); };
// setControls shows params in the filter form (the chips and keys come
// with the view's parts).
function setControls(params) {
  const f = filters.elements;
  f.q.value = params.get("q") || "";
  f.slow.checked = params.get("slow") === "1";
  f.live.checked = params.get("live") === "1";
  const methods = params.getAll("method").flatMap((m) => m.split(",")).filter(Boolean).map((m) => m.toUpperCase());
  const m = methods.join(",");
  if (m && ![...f.method.options].some((o) => o.value === m)) f.method.append(el("option", { value: m, text: methods.join(", ") }));
  f.method.value = m;
  f.range.value = params.get("range") || ((params.has("from") || params.has("to")) ? "custom" : "");
  f.from.value = params.get("from") ? toLocalInput(params.get("from")) : "";
  f.to.value = params.get("to") ? toLocalInput(params.get("to")) : "";
  $(".custom-range").classList.toggle("hidden-until-custom", f.range.value !== "custom");
  for (const h of $$(":scope > input[type=hidden]", filters)) h.remove();
  for (const k of ["sort", "dir"]) for (const v of params.getAll(k)) filters.append(el("input", { type: "hidden", name: k, value: v }));
}
// The chart of the view and pin, asked for after the rows (they never wait
// for it). A click, a drag, or Enter on bars picked with the arrow keys
// makes their span the view's range.
const plot = $("#chart-plot"), tip = $("#chart-tip"), said = $("#chart-said"), NS = "http://www.w3.org/2000/svg";
let vol = null, volKey = null, volCtl = null, volAsked = 0, pick = -1, anchor = -1, drag = null;
const svgEl = (tag, attrs) => { const e = document.createElementNS(NS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; };
const sum = (c) => c.reduce((a, b) => a + b, 0);
const order = [1, 2, 3, 4, 0]; // 2xx at the bottom, "other" on top
const fmts = {};
// Bars start at UTC midnight; labels are local (or UTC) to the minute.
const fmtTick = (d) => {
  const utc = utcBox.checked, year = vol.years, k = +utc + 2 * !!year;
  return (fmts[k] ||= new Intl.DateTimeFormat(undefined, { year: year ? "numeric" : undefined, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: utc ? "UTC" : undefined })).format(d);
};
const at = (i) => new Date(Date.parse(vol.start) + i * vol.step_ms);
const spanText = (a, b) => fmtTick(at(a)) + " – " + fmtTick(at(b + 1));
function loadVolume(params) {
  const p = new URLSearchParams(params);
  for (const k of ["page", "sort", "dir", "live", "since", "id"]) p.delete(k);
  const key = p.toString();
  if (key === volKey) return;
  volKey = key;
  if (volCtl) volCtl.abort();
  const mine = volCtl = new AbortController();
  volAsked = Date.now();
  fetch("api/volume?" + key, { signal: mine.signal, headers: { Accept: "application/json" } })
    .then(async (res) => {
      const body = await res.json();
      if (volCtl !== mine) return;
      volCtl = null;
      if (!res.ok) throw new Error(body.error || "the server answered " + res.status);
      // New bars: a pick or drag of the old means nothing.
      if (!vol || vol.start !== body.start || vol.step_ms !== body.step_ms) {
        pick = anchor = -1;
        if (drag) drag.sel.remove();
        drag = null;
      }
      vol = body;
      drawVolume();
    })
    .catch((err) => {
      if (err.name === "AbortError") return;
      if (volCtl === mine) volCtl = null;
      volKey = null; vol = null; pick = anchor = -1;
      $("#chart-total").textContent = "The chart could not be drawn: " + (err instanceof TypeError ? "the server did not answer" : err instanceof SyntaxError ? "the server's answer could not be read" : err.message);
      for (const e of [$("#chart-legend"), $("#chart-axis"), $("#chart-table")]) e.replaceChildren();
      tip.hidden = true;
      plot.replaceChildren(tip);
    });
}
const picked = () => [Math.min(anchor, pick), Math.max(anchor, pick)];
function drawVolume() {
  const n = vol.counts.length, max = Math.max(1, ...vol.counts.map(sum));
  const year = (d) => utcBox.checked ? d.getUTCFullYear() : d.getFullYear();
  vol.years = n > 0 && year(at(0)) !== year(at(n));
  const svg = svgEl("svg", { viewBox: "0 0 " + n + " 100", preserveAspectRatio: "none", "aria-hidden": "true" });
  if (Math.max(pick, anchor) >= n) pick = anchor = -1;
  if (pick >= 0) { const [a, b] = picked(); svg.append(svgEl("rect", { class: "chart-pick", x: a, y: 0, width: b - a + 1, height: 100 })); }
  vol.counts.forEach((c, i) => {
    let y = 100;
    for (const k of order) {
      const h = c[k] / max * 96;
      if (!h) continue;
      y -= h;
      svg.append(svgEl("rect", { class: "b-" + vol.classes[k].color, x: i + 0.1, y, width: 0.8, height: h }));
    }
  });
  plot.replaceChildren(svg, tip);
  if (drag) plot.append(drag.sel);
  if (!vol.total) plot.append(el("div", { class: "chart-empty", text: vol.empty }));
  const step = vol.step_ms;
  $("#chart-total").textContent = vol.total.toLocaleString() + " requests, " + (step >= 864e5 ? step / 864e5 + " d" : step >= 36e5 ? step / 36e5 + " h" : step / 6e4 + " min") + " a bar";
  $("#chart-legend").replaceChildren(...order.map((k) => el("span", {}, el("i", { class: "b-" + vol.classes[k].color }), vol.classes[k].name)));
  $("#chart-axis").replaceChildren(...(n ? [0, n >> 1, n].map((i) => el("span", { text: fmtTick(at(i)) })) : []));
  // The text equivalent: every bar with requests, for screen readers.
  const head = el("tr", {}, el("th", { text: "Time" }), el("th", { text: "Requests" }), ...vol.classes.map((c) => el("th", { text: c.name })));
  const rows = vol.counts.map((c, i) => sum(c) && el("tr", {}, el("td", { text: spanText(i, i) }), el("td", { text: sum(c) }), ...c.map((v) => el("td", { text: v }))));
  $("#chart-table").replaceChildren(el("caption", { text: "Requests over time, " + vol.total + " in all" }), head, ...rows.filter(Boolean));
  if (pick >= 0) showTip(...picked());
}
// showTip shows bars a to b's counts, and returns them as text.
function showTip(a, b = a) {
  const c = [0, 0, 0, 0, 0];
  for (const bar of vol.counts.slice(a, b + 1)) bar.forEach((v, k) => { c[k] += v; });
  const text = sum(c).toLocaleString() + " requests" + order.filter((k) => c[k]).map((k) => " · " + vol.classes[k].name + " " + c[k].toLocaleString()).join("");
  tip.replaceChildren(el("b", { text: spanText(a, b) }), text);
  tip.hidden = false;
  const x = (a + b + 1) / 2 / vol.counts.length;
  tip.style.left = x * 100 + "%";
  tip.style.transform = "translateX(" + (x < 0.2 ? 0 : x > 0.8 ? -100 : -50) + "%)";
  return spanText(a, b) + ": " + text;
}
const indexAt = (e) => { const r = plot.getBoundingClientRect(); return Math.max(0, Math.min(vol.counts.length - 1, Math.floor((e.clientX - r.left) / r.width * vol.counts.length))); };
// choose makes bars a to b the view's range, within the range counted.
function choose(a, b) {
  if (!sum(vol.counts.slice(a, b + 1).flat())) return;
  const p = new URLSearchParams(shown.newest);
  const from = Math.max(+at(a), Date.parse(vol.from)), to = Math.min(+at(b + 1), Date.parse(vol.to));
  p.set("range", "custom"); p.set("from", new Date(from).toISOString()); p.set("to", new Date(to).toISOString());
  pick = anchor = -1;
  tip.hidden = true;
  go(p, true);
}
plot.addEventListener("pointermove", (e) => {
  if (!vol || !vol.counts.length) return;
  const i = indexAt(e);
  if (!drag) return void showTip(i);
  drag.to = i;
  const n = vol.counts.length, lo = Math.min(drag.from, i), hi = Math.max(drag.from, i);
  showTip(lo, hi);
  drag.sel.style.left = lo / n * 100 + "%"; drag.sel.style.width = (hi - lo + 1) / n * 100 + "%";
});
plot.addEventListener("pointerleave", () => { if (!drag && pick < 0) tip.hidden = true; });
plot.addEventListener("pointerdown", (e) => {
  if (!vol || !vol.counts.length || e.button !== 0) return;
  plot.setPointerCapture(e.pointerId);
  const i = indexAt(e);
  drag = { from: i, to: i, sel: el("div", { class: "chart-sel" }) };
  plot.append(drag.sel);
});
plot.addEventListener("pointercancel", () => { if (drag) drag.sel.remove(); drag = null; });
plot.addEventListener("pointerup", () => {
  if (!drag || !vol) return;
  const d = drag, a = Math.min(d.from, d.to), b = Math.max(d.from, d.to);
  drag = null;
  d.sel.remove();
  choose(a, b);
});
plot.addEventListener("keydown", (e) => {
  if (!vol || !vol.counts.length) return;
  const n = vol.counts.length, step = { ArrowLeft: -1, ArrowRight: 1, Home: -n, End: n }[e.key];
  if (step) {
    pick = Math.max(0, Math.min(n - 1, (pick < 0 ? n : pick) + step));
    if (!e.shiftKey || anchor < 0) anchor = pick;
  } else if ((e.key === "Enter" || e.key === " ") && pick >= 0) return e.preventDefault(), choose(...picked());
  else if (e.key === "Escape" && pick >= 0) pick = anchor = -1;
  else return;
  e.preventDefault();
  drawVolume();
  tip.hidden = pick < 0;
  said.textContent = pick < 0 ? "" : showTip(...picked());
});
plot.addEventListener("blur", () => { pick = anchor = -1; tip.hidden = true; if (vol) drawVolume(); });
utcBox.addEventListener("change", () => vol && drawVolume());
loadVolume(new FormData(rowsForm)); // the view and its pin, as the server drew them
setControls(new URLSearchParams(location.search));
liveSchedule();

filters.addEventListener("submit", (e) => { e.preventDefault(); load(stateFromFilters(), true); });
filters.addEventListener("input", (e) => {
  if (e.target.name !== "q") return;
  clearTimeout(timer);
  // One history entry for a burst of typing, not one per pause.
  timer = setTimeout(() => load(stateFromFilters(), "typed"), 150);
});
filters.addEventListener("change", (e) => {
  if (e.target.name === "q") return;
  const custom = $(".custom-range");
  custom.classList.toggle("hidden-until-custom", filters.elements.range.value !== "custom");
  if (e.target.name === "range" && e.target.value === "custom") return; // wait for the dates
  load(stateFromFilters(), true);
});
$(".clear").addEventListener("click", (e) => {
  e.preventDefault();
  const p = new URLSearchParams(liveBox.checked ? "live=1" : ""); // Live is a mode: it stays
  go(p, true);
});
document.addEventListener("click", (e) => {
  const a = e.target.closest("thead a.sort, .pager a, #empty a");
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  const p = new URL(a.href).searchParams;
  go(p, true);
});
// Keys: / searches; p: the pager; Esc closes the panel, clears the search
// or leaves the fullscreen fallback.
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const typing = e.target.closest("input, select, textarea, [contenteditable]");
  if (e.key === "Escape") {
    if (!$("#detail").hidden) closeDetail();
    else if (root.classList.contains("fullscreen-fallback")) root.classList.remove("fullscreen-fallback");
    else if (e.target === search && search.value) { search.value = ""; load(stateFromFilters(), true); }
  } else if (typing && e.target.type !== "checkbox") return;
  else if (e.key === "/") { e.preventDefault(); search.focus(); search.select(); }
  else if (e.key === "p") { const a = $("#pager a[rel=next]") || $("#pager a"); if (a) { e.preventDefault(); a.focus(); } }
});
window.addEventListener("popstate", () => {
  const p = new URLSearchParams(location.search);
  go(p, false);
});
updateSelection();
if (!$("#detail").hidden) $("#detail-title").focus(); // a permalink
