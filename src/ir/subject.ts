/**
 * Subjects and link syntax as the codec and the constructors need them (PROFILE §1, reference
 * wire-format §1.4, §1.6): `$name`, `$name/a/b`, a path link `/a/b`, or an absolute link
 * `http(s)://host[:port]/a/b`. Every name and segment must be an `Id`; `.` is refused as a segment.
 * (The full URI surface — roots, components, versions — lives in `uri.ts`.)
 */
import { idProblem } from "./id.js";
import type { Link, Subject } from "./types.js";

/**
 * `idProblem` with a small memo: the same few names (steps, params, columns, routes) recur in
 * every op, and the regex check dominates decoding otherwise.
 */
const idMemo = new Map<string, string | undefined>();
const MEMO_LIMIT = 8192;
export function idIssue(name: unknown): string | undefined {
  if (typeof name !== "string") return idProblem(name);
  const hit = idMemo.get(name);
  if (hit !== undefined || idMemo.has(name)) return hit;
  const problem = idProblem(name);
  if (name.length <= 128) {
    if (idMemo.size >= MEMO_LIMIT) idMemo.clear();
    idMemo.set(name, problem);
  }
  return problem;
}

/** A Subject parsed from its string form, or the reason it is not one. */
export type SubjectParse = { ok: true; subject: Subject } | { ok: false; problem: string };

const ABSOLUTE = /^(https?):\/\/([^/]*)(\/.*)?$/;
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const HOST_V6 = /^\[[0-9A-Fa-f:.]+\]$/;

/** Why `segment` is not a valid path segment, or `undefined`. */
export function segmentIssue(segment: string): string | undefined {
  if (segment.length === 0) return "empty segment (no '//' and no trailing '/')";
  if (segment === ".") return "'.' is not a segment";
  return idIssue(segment);
}

function pathIssue(path: string, allowEmpty: boolean): string | undefined {
  if (path.length === 0) return allowEmpty ? undefined : "a link path must not be empty";
  if (path.charCodeAt(0) !== 47) return "a link path must start with '/'";
  let start = 1;
  for (;;) {
    const end = path.indexOf("/", start);
    const seg = end < 0 ? path.slice(start) : path.slice(start, end);
    const problem = segmentIssue(seg);
    if (problem) return `segment ${JSON.stringify(seg)}: ${problem}`;
    if (end < 0) return undefined;
    start = end + 1;
  }
}

/**
 * Why `href` is not a valid link, or `undefined` when it is. A path link needs at least one
 * segment; an absolute link is `http(s)://host[:port]` followed by an optional path.
 */
export function linkIssue(href: unknown): string | undefined {
  if (typeof href !== "string") return "a link must be a string";
  if (href.charCodeAt(0) === 47) return pathIssue(href, false);
  const m = ABSOLUTE.exec(href);
  if (!m) return "a link must be a path (/a/b) or an absolute http(s)://host[:port]/... URL";
  const authority = m[2] ?? "";
  const colon = authority.startsWith("[") ? authority.indexOf("]:") + 1 : authority.lastIndexOf(":");
  const host = colon > 0 ? authority.slice(0, colon) : authority;
  if (!HOST_NAME.test(host) && !HOST_V6.test(host)) return `invalid host ${JSON.stringify(host)}`;
  if (colon > 0) {
    const port = authority.slice(colon + 1);
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) return `invalid port ${JSON.stringify(port)}`;
  }
  return pathIssue(m[3] ?? "", true);
}

/**
 * Paths the codec reserves for typed values, OpDefs and references. A link under one of these
 * cannot be written as `{"<link>": ...}` (it would decode as the reserved form), so the encoder
 * writes such links in the typed or explicit form.
 */
export function isReservedHref(href: string): boolean {
  return (
    href.startsWith("/state/scalar/value/") ||
    href.startsWith("/state/scalar/op/") ||
    href.startsWith("/state/scalar/ref/")
  );
}

/** True when an op call on `subject` can only be written in the explicit form. */
export function needsExplicit(subject: Subject): boolean {
  return subject.kind === "link" && (subject.href.charCodeAt(0) !== 47 || isReservedHref(subject.href));
}

const subjectMemo = new Map<string, SubjectParse>();

/**
 * Parses `$name[/a/b]` or a link. Results are memoised and frozen (IR nodes are immutable), so
 * decoding the same subject twice yields the same object.
 */
export function parseSubject(text: string): SubjectParse {
  const hit = subjectMemo.get(text);
  if (hit !== undefined) return hit;
  const parsed = parseSubjectUncached(text);
  if (text.length <= 256) {
    if (subjectMemo.size >= MEMO_LIMIT) subjectMemo.clear();
    if (parsed.ok) {
      if (parsed.subject.kind === "ref") Object.freeze(parsed.subject.path);
      Object.freeze(parsed.subject);
    }
    subjectMemo.set(text, Object.freeze(parsed));
  }
  return parsed;
}

function parseSubjectUncached(text: string): SubjectParse {
  if (text.charCodeAt(0) === 36 /* $ */) {
    const slash = text.indexOf("/");
    const name = slash < 0 ? text.slice(1) : text.slice(1, slash);
    const nameProblem = idIssue(name);
    if (nameProblem) return { ok: false, problem: `reference name ${JSON.stringify(name)}: ${nameProblem}` };
    if (slash < 0) return { ok: true, subject: { kind: "ref", name, path: [] } };
    const path = text.slice(slash + 1).split("/");
    for (const seg of path) {
      const problem = segmentIssue(seg);
      if (problem) return { ok: false, problem: `segment ${JSON.stringify(seg)}: ${problem}` };
    }
    return { ok: true, subject: { kind: "ref", name, path } };
  }
  const problem = linkIssue(text);
  if (problem) return { ok: false, problem };
  const link: Link = { kind: "link", href: text };
  return { ok: true, subject: link };
}

/** The string form of a subject: `$name/a/b` or the link's href. */
export function subjectText(subject: Subject): string {
  if (subject.kind === "link") return subject.href;
  return subject.path.length === 0 ? `$${subject.name}` : `$${subject.name}/${subject.path.join("/")}`;
}
