/**
 * The Studio's one page (HTML, CSS and a plain script; cytoscape is loaded from
 * `/vendor/cytoscape.min.js`, served from the package's dependency). It talks to the JSON API of
 * studio.ts. Element ids are stable: the browser tests drive the page by them.
 */
export const STUDIO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tinychain-orm studio</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { padding: 10px 16px; background: #1d2330; color: #fff; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 16px; margin: 0; }
  main { display: grid; grid-template-columns: 260px 1fr; gap: 12px; padding: 12px; }
  section { background: #fff; border: 1px solid #d9dde3; border-radius: 6px; padding: 10px; margin-bottom: 12px; }
  h2 { font-size: 14px; margin: 0 0 8px; }
  #schema-graph, #trav-graph { height: 320px; border: 1px solid #e3e6ea; background: #fff; }
  #table-list { list-style: none; padding: 0; margin: 0; }
  #table-list li { padding: 4px 6px; cursor: pointer; border-radius: 4px; display: flex; justify-content: space-between; }
  #table-list li:hover, #table-list li.active { background: #e8eefc; }
  table.grid { border-collapse: collapse; width: 100%; margin-top: 6px; }
  table.grid th, table.grid td { border: 1px solid #e3e6ea; padding: 3px 6px; text-align: left; white-space: nowrap; }
  table.grid th { background: #f0f2f5; cursor: pointer; user-select: none; }
  pre { background: #f0f2f5; padding: 6px; white-space: pre-wrap; font-size: 12px; max-height: 200px; overflow: auto; }
  .row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; margin: 4px 0; }
  .chip { background: #e8eefc; border-radius: 10px; padding: 1px 8px; }
  .error { color: #b00020; }
  input[type=number] { width: 56px; }
</style>
</head>
<body>
<header><h1>tinychain-orm studio</h1><span id="source"></span><span id="mode"></span><span id="status" class="error"></span></header>
<main>
  <aside>
    <section><h2>Tables</h2><ul id="table-list"></ul><p id="relations-from"></p></section>
  </aside>
  <div>
    <section><h2>Schema</h2><div id="schema-graph"></div></section>
    <section>
      <h2>Browse</h2>
      <div class="row">
        <select id="browse-table"></select>
        <select id="filter-col"></select>
        <select id="filter-op"><option>=</option><option>!=</option><option>&lt;</option><option>&lt;=</option><option>&gt;</option><option>&gt;=</option><option>in</option><option>isNull</option><option>isNotNull</option></select>
        <input id="filter-value" placeholder="value (in: a,b,c)">
        <button id="filter-add">add filter</button>
        <span id="filters"></span>
      </div>
      <div class="row"><button id="prev">‹ prev</button><span id="page-info"></span><button id="next">next ›</button></div>
      <table id="rows" class="grid"></table>
      <pre id="rows-explain"></pre>
    </section>
    <section>
      <h2>Traverse</h2>
      <div class="row">start <select id="trav-start"></select> where <select id="trav-match-col"></select> = <input id="trav-match-value" placeholder="(any row)"></div>
      <div class="row">hop <select id="hop-dir"><option>out</option><option>in</option><option>both</option></select>
        <select id="hop-rel"></select> hops <input id="hop-min" type="number" value="1" min="0"> .. <input id="hop-max" type="number" value="1" min="1"> <button id="hop-add">add hop</button></div>
      <div class="row">where <select id="where-col"></select>
        <select id="where-op"><option>=</option><option>!=</option><option>&lt;</option><option>&lt;=</option><option>&gt;</option><option>&gt;=</option><option>in</option></select>
        <input id="where-value"> <button id="where-add">add where</button></div>
      <ol id="trav-steps"></ol>
      <div class="row"><label><input id="trav-distinct" type="checkbox"> distinct</label> limit <input id="trav-limit" type="number" value="100" min="1">
        <button id="trav-run">run</button> <button id="trav-clear">clear steps</button> <span id="trav-error" class="error"></span></div>
      <table id="trav-rows" class="grid"></table>
      <div id="trav-graph"></div>
      <pre id="trav-explain"></pre>
    </section>
  </div>
</main>
<script src="/vendor/cytoscape.min.js"></script>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const state = { schema: null, table: null, offset: 0, limit: 25, order: null, dir: "asc", filters: [], steps: [] };
const COLORS = ["#4062bb", "#59c3c3", "#f45b69", "#e0a458", "#6b4e71", "#2a9d8f", "#8ab17d", "#e76f51"];
const STYLE = [
  { selector: "node", style: { "background-color": "data(color)", label: "data(label)", "font-size": 11, "text-valign": "bottom", "text-margin-y": 4, width: 28, height: 28 } },
  { selector: "edge", style: { width: 2, "line-color": "#9aa4b2", "target-arrow-color": "#9aa4b2", "target-arrow-shape": "triangle", "curve-style": "bezier", label: "data(label)", "font-size": 9 } },
];

async function api(path, body) {
  const res = await fetch(path, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(json.error || res.statusText);
  return json;
}
function status(msg) { $("status").textContent = msg || ""; }
function options(select, values) { select.innerHTML = ""; for (const v of values) { const o = document.createElement("option"); o.value = o.textContent = v; select.appendChild(o); } }
function info(name) { return state.schema.tables.find((t) => t.name === name); }
function colorOf(name) { const i = state.schema.tables.findIndex((t) => t.name === name); return COLORS[(i < 0 ? 0 : i) % COLORS.length]; }
function cell(v) { return v === null ? "null" : typeof v === "object" ? JSON.stringify(v) : String(v); }

function renderGrid(table, columns, rows, sortable) {
  table.innerHTML = "";
  const head = table.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement("th");
    th.textContent = c + (sortable && state.order === c ? (state.dir === "asc" ? " ▲" : " ▼") : "");
    th.dataset.column = c;
    if (sortable) th.onclick = () => { state.dir = state.order === c && state.dir === "asc" ? "desc" : "asc"; state.order = c; state.offset = 0; loadRows(); };
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const r of rows) { const tr = body.insertRow(); for (const c of columns) tr.insertCell().textContent = cell(r[c]); }
}

function drawSchema() {
  const elements = [];
  for (const t of state.schema.tables) elements.push({ data: { id: t.name, label: t.name + " (" + t.rows + ")", color: colorOf(t.name) } });
  for (const t of state.schema.tables) for (const r of t.relations) elements.push({ data: { id: t.name + "." + r.name, source: r.from, target: r.to, label: r.name } });
  window.schemaGraph = cytoscape({ container: $("schema-graph"), elements, style: STYLE, layout: { name: "circle", padding: 30 } });
  window.schemaGraph.on("tap", "node", (e) => selectTable(e.target.id()));
}

async function loadSchema() {
  state.schema = await api("/api/schema");
  $("source").textContent = state.schema.source;
  $("mode").textContent = state.schema.writable ? "read-write" : "read-only";
  $("relations-from").textContent = "relations " + state.schema.relationsFrom;
  const list = $("table-list");
  list.innerHTML = "";
  for (const t of state.schema.tables) {
    const li = document.createElement("li");
    li.dataset.table = t.name;
    li.innerHTML = "<span></span><span></span>";
    li.firstChild.textContent = t.name;
    li.lastChild.textContent = String(t.rows);
    li.onclick = () => selectTable(t.name);
    list.appendChild(li);
  }
  const names = state.schema.tables.map((t) => t.name);
  options($("browse-table"), names);
  options($("trav-start"), names);
  drawSchema();
  if (names.length > 0) { selectTable(names[0]); travReset(); }
  document.body.dataset.ready = "schema";
}

function selectTable(name) {
  state.table = name; state.offset = 0; state.order = null; state.filters = [];
  $("browse-table").value = name;
  for (const li of $("table-list").children) li.classList.toggle("active", li.dataset.table === name);
  options($("filter-col"), info(name).columns.map((c) => c.name));
  renderFilters();
  loadRows();
}
function renderFilters() {
  const box = $("filters"); box.innerHTML = "";
  state.filters.forEach((f, i) => { const s = document.createElement("span"); s.className = "chip"; s.textContent = f.join(" ") + " ×"; s.onclick = () => { state.filters.splice(i, 1); state.offset = 0; renderFilters(); loadRows(); }; box.appendChild(s); });
}
async function loadRows() {
  try {
    const q = new URLSearchParams({ table: state.table, offset: state.offset, limit: state.limit, filter: JSON.stringify(state.filters) });
    if (state.order) { q.set("order", state.order); q.set("dir", state.dir); }
    const page = await api("/api/rows?" + q);
    renderGrid($("rows"), page.columns, page.rows, true);
    $("page-info").textContent = page.total === 0 ? "no rows" : "rows " + (page.offset + 1) + "–" + (page.offset + page.rows.length) + " of " + page.total;
    $("prev").disabled = page.offset === 0;
    $("next").disabled = page.offset + page.rows.length >= page.total;
    $("rows-explain").textContent = JSON.stringify(page.explain, null, 2);
    document.body.dataset.rows = String(page.rows.length);
    status("");
  } catch (e) { status(e.message); }
}

// ---- traversals: the current table follows the steps added so far
function travCurrent() {
  let cur = $("trav-start").value;
  for (const s of state.steps) if (s.dir) cur = s.to;
  return cur;
}
function relationsFor(dir, table) {
  const rels = state.schema.relations;
  if (dir === "out") return rels.filter((r) => r.source === table).map((r) => ({ name: r.name, to: r.target }));
  if (dir === "in") return rels.filter((r) => r.target === table).map((r) => ({ name: r.name, to: r.source }));
  return rels.filter((r) => r.source === table && r.target === table).map((r) => ({ name: r.name, to: table }));
}
function travRefresh() {
  const cur = travCurrent();
  const rels = relationsFor($("hop-dir").value, cur);
  const seen = new Set();
  $("hop-rel").innerHTML = "";
  for (const r of rels) { if (seen.has(r.name)) continue; seen.add(r.name); const o = document.createElement("option"); o.value = r.name; o.textContent = r.name + " → " + r.to; o.dataset.to = r.to; $("hop-rel").appendChild(o); }
  options($("where-col"), info(cur).columns.map((c) => c.name));
  const list = $("trav-steps"); list.innerHTML = "";
  for (const s of state.steps) { const li = document.createElement("li"); li.textContent = s.dir ? "." + s.dir + "(" + s.rel + (s.hops ? ", hops " + s.hops.join("..") : "") + ") → " + s.to : ".where(" + s.where.join(" ") + ")"; list.appendChild(li); }
}
function travReset() {
  state.steps = [];
  options($("trav-match-col"), info($("trav-start").value).columns.map((c) => c.name));
  travRefresh();
}
async function travRun() {
  $("trav-error").textContent = "";
  const body = { start: $("trav-start").value, steps: state.steps.map((s) => s.dir ? { dir: s.dir, rel: s.rel, ...(s.hops ? { hops: s.hops } : {}) } : { where: s.where }), distinct: $("trav-distinct").checked, limit: Number($("trav-limit").value) || 100 };
  if ($("trav-match-value").value !== "") body.match = [[$("trav-match-col").value, "=", $("trav-match-value").value]];
  try {
    const r = await api("/api/traverse", body);
    renderGrid($("trav-rows"), r.columns, r.rows, false);
    $("trav-explain").textContent = r.explain + (r.pathError ? "\\n(subgraph: " + r.pathError + ")" : "");
    const elements = r.subgraph.nodes.map((n) => ({ data: { id: n.id, label: n.label, color: colorOf(n.table) } })).concat(r.subgraph.edges.map((e) => ({ data: { id: e.id, source: e.source, target: e.target, label: "" } })));
    if (window.travGraph) window.travGraph.destroy();
    window.travGraph = cytoscape({ container: $("trav-graph"), elements, style: STYLE, layout: { name: "breadthfirst", directed: true, padding: 20 } });
    document.body.dataset.traversal = String(r.rows.length);
  } catch (e) { $("trav-error").textContent = e.message; document.body.dataset.traversal = "error"; }
}

$("browse-table").onchange = () => selectTable($("browse-table").value);
$("filter-add").onclick = () => { const op = $("filter-op").value; state.filters.push(op === "isNull" || op === "isNotNull" ? [$("filter-col").value, op, null] : [$("filter-col").value, op, $("filter-value").value]); state.offset = 0; renderFilters(); loadRows(); };
$("prev").onclick = () => { state.offset = Math.max(0, state.offset - state.limit); loadRows(); };
$("next").onclick = () => { state.offset += state.limit; loadRows(); };
$("trav-start").onchange = travReset;
$("hop-dir").onchange = travRefresh;
$("hop-add").onclick = () => {
  const opt = $("hop-rel").selectedOptions[0]; if (!opt) { $("trav-error").textContent = "no relation to take from " + travCurrent(); return; }
  const min = Number($("hop-min").value), max = Number($("hop-max").value);
  state.steps.push({ dir: $("hop-dir").value, rel: opt.value, to: $("hop-dir").value === "both" ? travCurrent() : opt.dataset.to, ...(min === 1 && max === 1 ? {} : { hops: [min, max] }) });
  travRefresh();
};
$("where-add").onclick = () => { state.steps.push({ where: [$("where-col").value, $("where-op").value, $("where-value").value] }); travRefresh(); };
$("trav-clear").onclick = travReset;
$("trav-run").onclick = travRun;
loadSchema().catch((e) => status(e.message));
</script>
</body>
</html>
`;
