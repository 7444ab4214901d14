/**
 * The per-table template cache: a node's signature (everything that shapes its op, no values)
 * maps to the op compiled for the first node of that shape. A later node of the same shape gets
 * the same op object (the kernel's and the HTTP client's caches then hit by identity) and only
 * binds its own values, by slot.
 */
import type { Json } from "../ir/types.js";
import type { Compiled, CompileOptions } from "./compile-types.js";
import type { TableMeta } from "./meta.js";
import type { Operand, Predicate, QueryNode } from "./nodes.js";
import { insertPayloads, wireValue, type SlotOperand } from "./param-binder.js";

const SEP = "\u0001"; // control characters never occur in Ids, so keys cannot collide

function amountSig(a: Operand | null): string {
  return a === null ? "-" : a.kind === "param" ? `$${a.name}` : "?";
}

/** The shape of predicates (a module function, not a closure: signatures are made per statement). */
function preds(ps: readonly Predicate[]): string {
  let out = "";
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    if (i > 0) out += SEP + SEP;
    out += `${p.column}${SEP}${p.op}${SEP}${p.operand === null ? "" : p.operand.kind === "param" ? `$${p.operand.name}` : "?"}`;
  }
  return out;
}

/** Everything about a node that shapes its op, and nothing else (no values). */
export function signature(node: QueryNode, options: CompileOptions): string {
  const head = `${options.prefix ?? "_"}${SEP}${node.kind}${SEP}${options.coreFilter === true}${options.coreSort === true}${SEP}`;
  switch (node.kind) {
    case "select":
      return `${head}${preds(node.where)}${SEP}|${node.orderBy ? `${node.orderBy.column}${SEP}${node.orderBy.direction}` : "-"}${SEP}${amountSig(node.limit)}${SEP}${amountSig(node.offset)}${SEP}${node.columns ? node.columns.join(SEP) : "*"}${SEP}${node.count}`;
    case "insert":
      return `${head}${node.onConflict}${SEP}${node.rows.length === 1 ? "one" : "many"}${SEP}${options.coreInsert === true}`;
    case "update":
      return `${head}${node.set.map(([c, o]) => `${c}${SEP}${amountSig(o)}`).join(SEP)}${SEP}|${preds(node.where)}`;
    case "delete":
      return `${head}${preds(node.where)}`;
  }
}

/** A compiled shape: the op and everything but the values, plus the slots its values fill. */
export interface Template extends Omit<Compiled, "bound"> {
  readonly usedSlots: readonly number[];
}

const TEMPLATES = new WeakMap<TableMeta, Map<string, Template>>();
const MAX_TEMPLATES_PER_TABLE = 512;

/** The templates of one table by signature (made on first use). */
export function templatesOf(meta: TableMeta): Map<string, Template> {
  let perTable = TEMPLATES.get(meta);
  if (!perTable) {
    perTable = new Map();
    TEMPLATES.set(meta, perTable);
  }
  return perTable;
}

/**
 * A template bound to the values of `node` (a node of the template's shape): the template's op
 * object, this node's values in the slots the op uses.
 */
export function fromTemplate(hit: Template, node: QueryNode, slots: readonly SlotOperand[], prefix: string, options: CompileOptions): Compiled {
  const bound: Record<string, Json> = {};
  if (node.kind === "insert") {
    const payloads = insertPayloads(node, options);
    for (const i of hit.usedSlots) bound[`${prefix}${i}`] = payloads[i]!;
  } else {
    for (const i of hit.usedSlots) {
      const s = slots[i]!;
      bound[`${prefix}${i}`] = wireValue((s.operand as { value: unknown }).value, s.column, s.shape);
    }
  }
  return { op: hit.op, params: hit.params, decode: hit.decode, explain: hit.explain, userParams: hit.userParams, bound };
}

/** Stores `compiled` as the template of its shape; a full table's templates are dropped at once. */
export function rememberTemplate(perTable: Map<string, Template>, key: string, compiled: Compiled, usedSlots: ReadonlySet<number>): void {
  if (perTable.size >= MAX_TEMPLATES_PER_TABLE) perTable.clear();
  perTable.set(key, { ...compiled, usedSlots: [...usedSlots].sort((x, y) => x - y) });
}
