/**
 * `inspect --svg`: the schema as a standalone SVG picture — tables on a circle (name, key, row
 * count), relations as arrows labelled with their names (edge tables bold, self relations as
 * loops). Deterministic: the same schema gives the same bytes.
 */
import type { TableInfo } from "./source.js";

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Renders tables and their (forward) relations. */
export function schemaSvg(tables: readonly TableInfo[]): string {
  const W = 180;
  const H = 54;
  const n = tables.length;
  const radius = n <= 1 ? 0 : Math.max(160, (n * (W + 40)) / (2 * Math.PI));
  const size = 2 * radius + W + 160;
  const c = size / 2;
  const pos = new Map<string, { x: number; y: number }>();
  tables.forEach((t, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
    pos.set(`${t.namespace}/${t.name}`, { x: c + radius * Math.cos(a), y: c + radius * Math.sin(a) });
  });
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.round(size)}" height="${Math.round(size)}" viewBox="0 0 ${Math.round(size)} ${Math.round(size)}" font-family="sans-serif" font-size="12">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5b6472"/></marker></defs>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
  // Where a line from the centre of a box towards (tx, ty) leaves the box.
  const edgePoint = (p: { x: number; y: number }, tx: number, ty: number): [number, number] => {
    const dx = tx - p.x;
    const dy = ty - p.y;
    const s = Math.min(Math.abs(dx) > 0 ? W / 2 / Math.abs(dx) : Infinity, Math.abs(dy) > 0 ? H / 2 / Math.abs(dy) : Infinity);
    return [p.x + dx * s, p.y + dy * s];
  };
  const seen = new Map<string, number>();
  for (const t of tables) {
    for (const r of t.relations) {
      const from = pos.get(`${t.namespace}/${r.from}`);
      const to = pos.get(`${t.namespace}/${r.to}`);
      if (!from || !to) continue;
      const pair = `${r.from}>${r.to}`;
      const k = seen.get(pair) ?? 0;
      seen.set(pair, k + 1);
      const width = r.kind === "edge" ? 2.5 : 1.5;
      if (r.from === r.to) {
        // A loop over the box's top edge; several loops nest.
        const x = from.x - 24 - k * 10;
        const y = from.y - H / 2;
        const span = 48 + k * 20;
        const rise = 36 + k * 16;
        out.push(`<path d="M${x.toFixed(1)},${y.toFixed(1)} c 0,-${rise} ${span},-${rise} ${span},0" fill="none" stroke="#5b6472" stroke-width="${width}" marker-end="url(#arrow)"/>`);
        out.push(`<text x="${(x + span / 2).toFixed(1)}" y="${(y - rise + 4).toFixed(1)}" text-anchor="middle" fill="#1d2330">${esc(r.name)}</text>`);
        continue;
      }
      // Parallel relations between two tables bend apart.
      const bend = k === 0 ? 0 : (k % 2 === 1 ? 1 : -1) * 36 * Math.ceil(k / 2);
      const [x1, y1] = edgePoint(from, to.x, to.y);
      const [x2, y2] = edgePoint(to, from.x, from.y);
      const mx = (x1 + x2) / 2 + bend;
      const my = (y1 + y2) / 2 - bend;
      out.push(`<path d="M${x1.toFixed(1)},${y1.toFixed(1)} Q${mx.toFixed(1)},${my.toFixed(1)} ${x2.toFixed(1)},${y2.toFixed(1)}" fill="none" stroke="#5b6472" stroke-width="${width}" marker-end="url(#arrow)"/>`);
      out.push(`<text x="${mx.toFixed(1)}" y="${(my - 4).toFixed(1)}" text-anchor="middle" fill="#1d2330">${esc(r.name)}</text>`);
    }
  }
  for (const t of tables) {
    const p = pos.get(`${t.namespace}/${t.name}`)!;
    const x = p.x - W / 2;
    const y = p.y - H / 2;
    out.push(`<g><rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${W}" height="${H}" rx="6" fill="#e8eefc" stroke="#4062bb" stroke-width="1.5"/>`);
    out.push(`<text x="${p.x.toFixed(1)}" y="${(y + 20).toFixed(1)}" text-anchor="middle" font-weight="bold" fill="#1d2330">${esc(t.name)}</text>`);
    out.push(`<text x="${p.x.toFixed(1)}" y="${(y + 40).toFixed(1)}" text-anchor="middle" fill="#5b6472">key: ${esc(t.keyColumns.join(", "))} · ${t.rows} row(s)</text></g>`);
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
