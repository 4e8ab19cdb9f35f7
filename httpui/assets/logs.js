// apilog Logs page: updates the table in place from the JSON API, so that
// search, filters, sort, paging, selection and export work without a page
// load (and so without leaving fullscreen). Data only ever reaches the page
// through textContent and attribute setters, never as HTML.
(() => {
  "use strict";
  document.documentElement.classList.add("js");
  const $ = (s, el = document) => el.querySelector(s);
  const $$ = (s, el = document) => Array.from(el.querySelectorAll(s));
  const root = $("#logs"), filters = $("#filters"), rowsForm = $("#rows"), tbody = $("#tbody");
  const fmtLocal = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  const fmtUTC = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long", timeZone: "UTC" });
  const utcBox = $("#utc");

  // Copy buttons for the IP hashes: added here, since without script
  // they could not work, and 500 of them would weigh on the page.
  function addCopyButtons(scope) {
    for (const code of $$("td[data-col=ip] code[title]", scope)) {
      if (!code.title) continue;
      const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg"), use = document.createElementNS("http://www.w3.org/2000/svg", "use");
      use.setAttribute("href", "#i-copy");
      svg.append(use);
      const b = document.createElement("button");
      b.type = "button"; b.className = "copy"; b.title = "Copy IP hash"; b.setAttribute("aria-label", "Copy IP hash");
      b.append(svg);
      code.after(b);
    }
  }

  function showTimes(scope = document) {
    const utc = utcBox && utcBox.checked;
    for (const t of $$("time[datetime]", scope)) {
      const d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = (utc ? fmtUTC : fmtLocal).format(d);
    }
  }
  if (utcBox) {
    utcBox.checked = localStorage.getItem("apilog-utc") === "1";
    utcBox.addEventListener("change", () => { localStorage.setItem("apilog-utc", utcBox.checked ? "1" : "0"); showTimes(); });
  }
  showTimes();
  if ($("#tbody")) addCopyButtons($("#tbody"));

  // Fullscreen, with a CSS fallback where the API is refused.
  const fsButton = $("#fullscreen");
  if (fsButton) {
    fsButton.addEventListener("click", async () => {
      if (document.fullscreenElement || root.classList.contains("fullscreen-fallback")) {
        if (document.fullscreenElement) await document.exitFullscreen();
        root.classList.remove("fullscreen-fallback");
        return;
      }
      try { await root.requestFullscreen(); } catch { root.classList.add("fullscreen-fallback"); }
    });
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") root.classList.remove("fullscreen-fallback"); });
  }
  if (!filters || !rowsForm) return; // the error state

  // Selection of the current page's rows.
  const selectAll = $("#select-all"), selected = $("#selected");
  function updateSelection() {
    const boxes = $$("input[name=id]", tbody), n = boxes.filter((b) => b.checked).length;
    selected.textContent = n.toLocaleString() + " selected";
    selectAll.checked = n > 0 && n === boxes.length;
    selectAll.indeterminate = n > 0 && n < boxes.length;
  }
  selectAll.addEventListener("change", () => {
    for (const b of $$("input[name=id]", tbody)) b.checked = selectAll.checked;
    updateSelection();
  });
  tbody.addEventListener("change", (e) => { if (e.target.name === "id") updateSelection(); });
  tbody.addEventListener("click", (e) => {
    const b = e.target.closest("button.copy");
    if (b && navigator.clipboard) navigator.clipboard.writeText(b.previousElementSibling.title);
  });

  // The view's state is the URL's query.
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

  let controller = null, timer = 0;
  async function load(params, push) {
    clearTimeout(timer); // a pending search must not undo this view
    if (livePending) livePending.abort();
    liveWait = 2000; // a slow view's back-off is not this one's
    if (controller) controller.abort();
    // A chart still being counted would hold a turn these rows wait for.
    if (volCtl) { volCtl.abort(); volCtl = null; volKey = null; }
    const mine = controller = new AbortController();
    // Dimming the table repaints it: only for a load slow enough to see.
    const dim = setTimeout(() => root.classList.add("loading"), 300);
    try {
      const res = await fetch("api/logs?" + params.toString(), { signal: mine.signal, headers: { Accept: "application/json" } });
      if (!(res.headers.get("Content-Type") || "").startsWith("application/json")) {
        throw new Error("the logs could not be read (HTTP " + res.status + "); reload the page");
      }
      const body = await res.json();
      if (!res.ok) throw new Error(body.error || "the logs could not be read");
      render(body, params);
      clearError();
      const url = params.toString() ? "?" + params.toString() : location.pathname;
      // A burst of typing is one history entry: the first search of it
      // pushes an entry marked as typed, the next ones replace it.
      if (push === "typed" && history.state && history.state.typed) history.replaceState({ typed: true }, "", url);
      else if (push) history.pushState(push === "typed" ? { typed: true } : null, "", url);
    } catch (err) {
      if (err.name !== "AbortError") showError(err.message);
    } finally {
      if (controller === mine) controller = null;
      clearTimeout(dim);
      root.classList.remove("loading");
    }
  }

  function showError(msg) {
    let bar = $("#js-error");
    if (!bar) {
      bar = document.createElement("div");
      bar.id = "js-error"; bar.className = "error"; bar.setAttribute("role", "alert");
      filters.after(bar);
    }
    bar.textContent = msg;
  }
  function clearError() { const bar = $("#js-error"); if (bar) bar.remove(); }

  function el(tag, props = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === "text") e.textContent = v; else if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }

  // The table's columns, in order, as the server rendered the header:
  // [data-col] names each, [data-dir] is its first click's direction.
  const heads = $$("thead th[data-col]"), table = $("table.table");
  // The cells with markup of their own, drawn as the server's "cell"
  // template draws them (the browser test compares the two). Every other
  // column is the text the server sends in the row's cells.
  const draw = {
    api: (r) => r.key.name
      ? [el("span", { class: "ks k-" + r.key.color + " i-" + r.key.icon, role: "img", title: r.key.label }), " ", r.key.name, " ", el("code", { class: "prefix", text: r.key.prefix })]
      : [el("span", { class: "muted", text: "No key" })],
    endpoint: (r) => [el("code", { text: r.endpoint })],
    status: (r) => [el("span", { class: "b b-" + r.status_color, text: String(r.status) }, el("span", { class: "visually-hidden", text: " " + r.status_meaning }))],
    ip: (r) => [el("code", { title: r.ip_hash, text: r.ip_hash.slice(0, 12) })],
    time: (r) => [el("time", { datetime: r.time, title: "request " + r.request_id, text: r.time })],
  };

  function row(r) {
    const tr = el("tr", { "data-id": String(r.id) });
    tr.append(el("td", {}, el("input", { type: "checkbox", name: "id", value: String(r.id), "aria-label": "Select row " + r.id })));
    for (const th of heads) {
      const col = th.dataset.col, td = el("td", { "data-col": col });
      // hasOwn: a column named like an Object method is still a column.
      if (Object.hasOwn(draw, col)) td.append(...draw[col](r));
      else {
        td.textContent = r.cells && Object.hasOwn(r.cells, col) ? r.cells[col] : "";
        if (th.classList.contains("num")) td.className = "num";
      }
      tr.append(td);
    }
    return tr;
  }

  // withPin returns params with the pin of a page set (links to its other
  // pages, its exports) or, with no pin, removed (a new view).
  function withPin(params, pin, keep) {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(pin)) if (keep && v) p.set(k, v); else p.delete(k);
    return p;
  }

  let renders = 0;
  // render shows body, the view of params. With fresh, the count of its
  // first rows that are new above the rows shown (a live page's), only
  // those are added and as many are dropped from the end; live says Live
  // brought the rows.
  function render(body, params, fresh = 0, live = false) {
    shown = { params, total: body.total_rows, maxID: body.max_id };
    liveSince = body.max_id;
    liveShow.hidden = true;
    const gen = ++renders;
    if (fresh) {
      const frag = document.createDocumentFragment();
      frag.append(...body.rows.slice(0, fresh).map(row));
      showTimes(frag);
      addCopyButtons(frag);
      tbody.prepend(frag);
      while (tbody.rows.length > body.rows.length) tbody.lastElementChild.remove();
    } else {
      // The first screenful now, the rest in the next frame: a sort or a
      // page change shows as soon as the rows in view are drawn.
      const rows = body.rows.map(row), first = 60;
      tbody.replaceChildren(...rows.slice(0, first));
      showTimes(tbody);
      addCopyButtons(tbody);
      const rest = rows.slice(first);
      if (rest.length) requestAnimationFrame(() => {
        if (gen !== renders) return; // a newer view replaced this one
        const frag = document.createDocumentFragment();
        frag.append(...rest);
        showTimes(frag);
        addCopyButtons(frag);
        if (selectAll.checked) for (const b of $$("input[name=id]", frag)) b.checked = true;
        tbody.append(frag);
        updateSelection();
      });
    }
    updateSelection();
    // The export form carries the view and its pin, so an export is of
    // this page as it is shown.
    for (const h of $$("input[type=hidden]", rowsForm)) h.remove();
    for (const [k, v] of withPin(params, body.pin, true)) if (k !== "id") rowsForm.prepend(el("input", { type: "hidden", name: k, value: v }));
    const all = $("#export-all");
    all.hidden = !body.export_all;
    $("#export-all-text", all).textContent = body.export_all;
    for (const b of $$("button", all)) b.disabled = !body.export_all_ok;
    // Sort headers: a click sorts by the column, a second flips it. A sort
    // is a new view, of the newest rows: no page, no pin.
    for (const th of heads) {
      const a = $("a.sort", th), col = th.dataset.col;
      if (!a) continue; // not sortable: an operator's account column
      const on = body.sort === col;
      th.setAttribute("aria-sort", on ? (body.dir === "asc" ? "ascending" : "descending") : "none");
      $(".arrow", a).textContent = on ? (body.dir === "asc" ? "▲" : "▼") : "";
      const p = withPin(params, body.pin, false);
      p.delete("page");
      const dir = on ? (body.dir === "asc" ? "desc" : "asc") : th.dataset.dir;
      if (col === table.dataset.defaultSort && dir === table.dataset.defaultDir) { p.delete("sort"); p.delete("dir"); } else { p.set("sort", col); p.set("dir", dir); }
      a.setAttribute("href", "?" + p.toString());
    }
    // Pager: the other pages of this view, page 1 included, keep its pin.
    const pager = $(".pager");
    const link = (label, rel, page) => {
      if (!page) return el("span", { class: "disabled", text: label });
      const p = withPin(params, body.pin, true);
      if (page > 1) p.set("page", String(page)); else p.delete("page");
      return el("a", { href: "?" + p.toString(), rel, text: label });
    };
    const n = body.page, last = body.total_pages;
    pager.replaceChildren(
      link("« First", "first", n > 1 && 1), link("‹ Previous", "prev", n > 1 && Math.min(n - 1, last)),
      el("span", { id: "page-text", text: body.page_text }),
      link("Next ›", "next", n < last && n + 1), link("Last »", "last", n < last && last),
      el("span", { id: "range-text", class: "muted", text: body.range_text + " rows" }));
    const empty = $("#empty");
    const filtered = ["q", "slow", "status", "method", "key", "range", "from", "to"].some((k) => params.has(k));
    empty.hidden = body.total_rows !== 0;
    empty.textContent = !filtered ? "No API requests yet" : params.get("q") && !params.has("slow") ? "No rows match “" + params.get("q") + "”" : "No rows match these filters";
    // The chart of these rows, once they are painted (its drawing would
    // delay their frame); a live page's catches up now and then.
    const pinned = withPin(params, body.pin, true);
    if (!live || (!volCtl && Date.now() - volAsked > 10000)) requestAnimationFrame(() => setTimeout(() => loadVolume(pinned)));
    liveSchedule();
  }

  // Live: new rows as they are recorded. The page polls its view's first
  // page with since=, the row-ID bound of what it shows; the server answers
  // "unchanged" from the scope's last row ID when nothing came, at the
  // cost of a total. New rows go in only where that moves nothing: the
  // newest-first view's first page, scrolled to its top, with nothing
  // selected. Elsewhere a bar counts them, and shows them on a click. A
  // poll waits 2 s, or 20 times as long as the last one took, so that a
  // slow search costs the server at most a twentieth of its time per
  // page; none runs while the tab is hidden.
  const liveShow = $("#live-show"), liveBox = filters.elements.live;
  let shown = { params: new URLSearchParams(location.search), total: +table.dataset.totalRows, maxID: +table.dataset.maxId };
  let liveSince = shown.maxID, liveTimer = 0, liveWait = 2000, liveView = null, livePending = null, liveFailed = false;
  const scroller = () => document.fullscreenElement || (root.classList.contains("fullscreen-fallback") ? root : document.scrollingElement);
  function liveSchedule() {
    clearTimeout(liveTimer);
    if (liveBox.checked && !document.hidden) liveTimer = setTimeout(livePoll, liveWait);
  }
  async function livePoll() {
    const view = withPin(shown.params, { max_id: "", asof: "" }, false);
    view.delete("page");
    const q = new URLSearchParams(view);
    if (liveSince > 0) q.set("since", String(liveSince));
    const t0 = performance.now(), gen = renders, ac = livePending = new AbortController();
    try {
      const res = await fetch("api/logs?" + q.toString(), { signal: ac.signal, headers: { Accept: "application/json" } });
      if (!(res.headers.get("Content-Type") || "").startsWith("application/json")) throw new Error("not JSON");
      const body = await res.json();
      // An error (a session ended, a search stopped) is shown, and tried
      // again later; the page's own errors are the loads'.
      if (!res.ok) throw new Error("Live is paused: " + (body.error || "the server answered " + res.status));
      liveWait = Math.max(2000, 20 * (performance.now() - t0));
      // Not if the view changed meanwhile: this poll was of the old one.
      if (!body.unchanged && liveBox.checked && gen === renders && !controller) liveArrived(body, view);
      if (liveFailed) { liveFailed = false; clearError(); }
    } catch (err) {
      // Later each time, up to a minute: a server that is down is not
      // asked many times a second by every open page.
      liveWait = Math.min(60000, Math.max(2000, 2 * liveWait));
      if (err.name !== "AbortError") { liveFailed = true; showError(err.message.startsWith("Live") ? err.message : "Live is paused: the server did not answer; trying again"); }
    }
    if (livePending === ac) livePending = null;
    liveSchedule();
  }
  function liveArrived(body, view) {
    liveSince = body.max_id;
    const fresh = body.rows.filter((r) => r.id > shown.maxID).length;
    const n = Math.max(body.total_rows - shown.total, fresh);
    if (n <= 0) return;
    const atTop = !shown.params.has("page") && !shown.params.has("sort") && scroller().scrollTop < 40 &&
      !$$("input[name=id]", tbody).some((b) => b.checked);
    if (atTop) {
      // Prepended when the rows shown follow the new ones, else redrawn.
      const ids = Array.from(tbody.rows, (tr) => tr.dataset.id), k = body.rows.findIndex((r) => r.id <= shown.maxID);
      const fits = k > 0 && body.rows.slice(k).every((r, i) => String(r.id) === ids[i]);
      const same = location.search.slice(1) === shown.params.toString();
      render(body, view, fits ? k : 0, true);
      if (same) history.replaceState(history.state, "", view.toString() ? "?" + view.toString() : location.pathname);
      return;
    }
    liveView = view;
    liveShow.textContent = n.toLocaleString() + (n === 1 ? " new request" : " new requests") + " — show";
    liveShow.hidden = false;
  }
  liveShow.addEventListener("click", async () => {
    scroller().scrollTo(0, 0);
    // Focus stays on the table, not on the button that goes.
    table.tabIndex = -1;
    table.focus({ preventScroll: true });
    await load(liveView, liveView.toString() !== location.search.slice(1));
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) liveWait = 0; liveSchedule(); });

  // The custom range's inputs are in the user's zone; the URL and the
  // server's first render are in UTC.
  const pad = (n) => String(n).padStart(2, "0");
  const toLocalInput = (iso) => {
    const d = new Date(/[Zz]|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + "Z"); // the server reads no zone as UTC
    if (isNaN(d)) return "";
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  };
  const zone = $("#range-zone");
  if (zone) zone.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

  // setControls shows the view of params in the filter form; hidden fields
  // carry what it has no control for (keys, the sort).
  function setControls(params) {
    const f = filters.elements;
    f.q.value = params.get("q") || "";
    const statuses = params.getAll("status").flatMap((s) => s.split(","));
    for (const b of $$("input[name=status]", filters)) b.checked = statuses.includes(b.value);
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
    for (const h of $$("input[type=hidden]", filters)) h.remove();
    for (const k of ["key", "sort", "dir"]) for (const v of params.getAll(k)) filters.append(el("input", { type: "hidden", name: k, value: v }));
  }
  // The chart of the rows the table shows (the view and its pin), counted
  // by the server: asked for once the rows are drawn, so that they never
  // wait for it, and again only when the view or its pin change (not for
  // another page of it). A click, a drag, or Enter on bars picked with the
  // arrow keys makes their span the view's range.
  const plot = $("#chart-plot"), tip = $("#chart-tip"), said = $("#chart-said"), NS = "http://www.w3.org/2000/svg";
  let vol = null, volKey = null, volCtl = null, volAsked = 0, pick = -1, anchor = -1, drag = null;
  const svgEl = (tag, attrs) => { const e = document.createElementNS(NS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; };
  const sum = (c) => c.reduce((a, b) => a + b, 0);
  const order = [1, 2, 3, 4, 0]; // 2xx at the bottom, "other" on top
  const fmts = {};
  // Bars start at UTC midnight; labels are local (or UTC) to the minute.
  const fmtTick = (d) => {
    const utc = utcBox && utcBox.checked, year = vol.years, k = +utc + 2 * !!year;
    return (fmts[k] ||= new Intl.DateTimeFormat(undefined, { year: year ? "numeric" : undefined, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: utc ? "UTC" : undefined })).format(d);
  };
  const at = (i) => new Date(Date.parse(vol.start) + i * vol.step_ms);
  const spanText = (a, b) => fmtTick(at(a)) + " – " + fmtTick(at(b + 1));
  function loadVolume(params) {
    const p = new URLSearchParams(params);
    for (const k of ["page", "sort", "dir", "live", "since", "id"]) p.delete(k);
    const key = p.toString();
    if (!plot || key === volKey) return;
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
    const year = (d) => utcBox && utcBox.checked ? d.getUTCFullYear() : d.getFullYear();
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
        svg.append(svgEl("rect", { class: "f-" + vol.classes[k].color, x: i + 0.1, y, width: 0.8, height: h }));
      }
    });
    plot.replaceChildren(svg, tip);
    if (drag) plot.append(drag.sel);
    if (!vol.total) plot.append(el("div", { class: "chart-empty", text: vol.empty }));
    const step = vol.step_ms;
    $("#chart-total").textContent = vol.total.toLocaleString() + " requests, " + (step >= 864e5 ? step / 864e5 + " d" : step >= 36e5 ? step / 36e5 + " h" : step / 6e4 + " min") + " a bar";
    $("#chart-legend").replaceChildren(...order.map((k) => el("span", {}, el("i", { class: "f-" + vol.classes[k].color }), vol.classes[k].name)));
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
  // choose makes bars a to b the view's range, within the range counted
  // (the first and last bars may reach past it); not bars without requests.
  function choose(a, b) {
    if (!sum(vol.counts.slice(a, b + 1).flat())) return;
    const p = new URLSearchParams(shown.params);
    for (const k of ["page", "max_id", "asof"]) p.delete(k);
    const from = Math.max(+at(a), Date.parse(vol.from)), to = Math.min(+at(b + 1), Date.parse(vol.to));
    p.set("range", "custom"); p.set("from", new Date(from).toISOString()); p.set("to", new Date(to).toISOString());
    pick = anchor = -1;
    tip.hidden = true;
    setControls(p);
    load(p, true);
  }
  if (plot) {
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
    if (utcBox) utcBox.addEventListener("change", () => vol && drawVolume());
    loadVolume(new FormData(rowsForm)); // the view and its pin, as the server drew them
  }
  setControls(new URLSearchParams(location.search));
  liveSchedule();

  filters.addEventListener("submit", (e) => { e.preventDefault(); load(stateFromFilters(), true); });
  filters.addEventListener("input", (e) => {
    if (e.target.name !== "q") return;
    clearTimeout(timer);
    // One history entry for a burst of typing, not one per pause.
    timer = setTimeout(() => load(stateFromFilters(), "typed"), 250);
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
    const p = new URLSearchParams(liveBox.checked ? "live=1" : ""); // a mode, not a filter: Live stays on
    setControls(p);
    load(p, true);
  });
  document.addEventListener("click", (e) => {
    const a = e.target.closest("thead a.sort, .pager a");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    const p = new URLSearchParams(a.getAttribute("href").slice(1));
    setControls(p);
    load(p, true);
  });
  window.addEventListener("popstate", () => {
    const p = new URLSearchParams(location.search);
    setControls(p);
    load(p, false);
  });
  updateSelection();
})();
