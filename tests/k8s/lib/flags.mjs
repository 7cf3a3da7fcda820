// What each sheetsync binary really accepts: its flags (from `--helpfull` of the built binary,
// else from the ABSL_FLAG definitions in its sources), their types and defaults (sources), and
// the SHEETSYNC_* variables its code reads directly (e.g. SHEETSYNC_GATEWAY_TOKEN_FILE).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const SERVICES = ["gateway", "ingest", "resolver", "writer"];
export const GRPC_TIERS = ["ingest", "resolver", "writer"];

// Flags the deployment relies on that the C++ side has promised but may not have landed yet:
// missing ones are reported as warnings (and left out of the binary's dry run), not errors.
export const PENDING_FLAGS = { writer: { migrate_only: "bool" } };

// Returns the sanitizer settings of this run ({} outside scripts/test_sanitized.sh). The binaries
// otherwise run with an empty environment; these carry log_path, so a sanitizer report from a
// --helpfull run fails the sanitized suite like any other.
export function sanitizerEnv() {
  const env = {};
  for (const k of ["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"]) {
    if (process.env[k] !== undefined) env[k] = process.env[k];
  }
  return env;
}

function sourceDirs(svc) {
  return [svc === "gateway" ? "gateway" : `services/${svc}`, "services/common"];
}

function sourceTexts(root, svc) {
  const texts = [];
  for (const dir of sourceDirs(svc)) {
    const abs = path.join(root, dir);
    if (!fs.existsSync(abs)) continue;
    for (const name of fs.readdirSync(abs).sort()) {
      if (!/\.(cc|h)$/.test(name) || /_test\.cc$/.test(name)) continue;
      texts.push({ file: path.join(dir, name), text: fs.readFileSync(path.join(abs, name), "utf8") });
    }
  }
  return texts;
}

function typeOf(cppType) {
  const t = cppType.replace(/\s+/g, "");
  if (t === "std::string" || t === "string") return "string";
  if (/^(u?int(8|16|32|64)?(_t)?|long|size_t|unsignedint)$/.test(t)) return "int";
  if (t === "absl::Duration") return "duration";
  if (t === "bool") return "bool";
  if (t === "double" || t === "float") return "number";
  return "unknown";
}

// Returns Map flag -> {type, default, file} from ABSL_FLAG(type, name, default, help).
export function flagsFromSource(root, svc) {
  const flags = new Map();
  const re = /ABSL_FLAG\(\s*([\w:<> ]+?)\s*,\s*(\w+)\s*,\s*([^,]+?)\s*,/g;
  for (const { file, text } of sourceTexts(root, svc)) {
    for (const m of text.matchAll(re)) {
      flags.set(m[2], { type: typeOf(m[1]), default: cppDefault(m[3], typeOf(m[1])), file });
    }
  }
  return flags;
}

function cppDefault(expr, type) {
  let m;
  if (type === "string" && (m = /^"(.*)"$/.exec(expr))) return m[1];
  if (type === "int" && /^-?\d+$/.test(expr)) return expr;
  if (type === "bool" && /^(true|false)$/.test(expr)) return expr;
  if (type === "duration" && (m = /^absl::(Seconds|Milliseconds|Minutes|Hours)\((\d+)\)$/.exec(expr))) {
    return { Seconds: `${m[2]}s`, Milliseconds: `${m[2]}ms`, Minutes: `${m[2]}m`, Hours: `${m[2]}h` }[m[1]];
  }
  return null;
}

// Returns the set of flag names `BIN --helpfull` lists outside Abseil's own files.
export function flagsFromBinary(bin) {
  const run = spawnSync(bin, ["--helpfull"], { encoding: "utf8", env: sanitizerEnv(), timeout: 20000 });
  if (run.error) throw new Error(`cannot run ${bin} --helpfull: ${run.error.message}`);
  const out = `${run.stdout}\n${run.stderr}`;
  const names = new Set();
  let ours = false;
  for (const line of out.split("\n")) {
    const section = /^\s*Flags from (.+):$/.exec(line);
    if (section) {
      ours = !/(^|\/)absl\//.test(section[1]);
      continue;
    }
    const flag = /^ {4}--([A-Za-z0-9_]+) /.exec(line);
    if (ours && flag) names.add(flag[1]);
  }
  if (names.size === 0) throw new Error(`${bin} --helpfull listed no flags (exit ${run.status})`);
  return names;
}

// Returns the SHEETSYNC_* names the service's code reads as whole string literals.
export function directEnvNames(root, svc) {
  const names = new Set();
  for (const { text } of sourceTexts(root, svc)) {
    for (const m of text.matchAll(/"(SHEETSYNC_[A-Z0-9_]+)"/g)) names.add(m[1]);
  }
  return names;
}

// Builds the catalogue of every service: {svc: {flags: Map name->{type,default}, source,
// direct: Set, pending: Set, bin}}. `bins` maps svc -> binary path (optional).
export function loadCatalogue(root, bins, warn) {
  const catalogue = {};
  for (const svc of SERVICES) {
    const fromSource = flagsFromSource(root, svc);
    let names;
    let source;
    const bin = bins[svc];
    if (bin && fs.existsSync(bin)) {
      names = flagsFromBinary(bin);
      source = `${path.relative(root, bin) || bin} --helpfull`;
    } else {
      names = new Set(fromSource.keys());
      source = `ABSL_FLAG in ${sourceDirs(svc).join(", ")}`;
    }
    const flags = new Map();
    for (const name of names) flags.set(name, fromSource.get(name) ?? { type: "unknown", default: null });
    const pending = new Set();
    for (const [name, type] of Object.entries(PENDING_FLAGS[svc] ?? {})) {
      if (flags.has(name)) continue;
      pending.add(name);
      flags.set(name, { type, default: null, pending: true });
      warn(`sheetsync-${svc} does not accept --${name} yet (per ${source}); ` +
        `the manifests use it and the C++ side must add it`);
    }
    catalogue[svc] = { flags, source, direct: directEnvNames(root, svc), pending, bin: bins[svc] };
  }
  return catalogue;
}

// Value checks by flag type, as Abseil parses them.
const DURATION = /^[-+]?(0|inf|((\d+(\.\d*)?|\.\d+)(ns|us|ms|s|m|h))+)$/;
export function valueError(type, value) {
  if (value === null || value === undefined) return null;
  switch (type) {
    case "int": return /^[-+]?\d+$/.test(value) ? null : "is not an integer";
    case "bool": return /^(true|false|t|f|yes|no|y|n|1|0)$/i.test(value) ? null : "is not a boolean";
    case "duration": return DURATION.test(value) ? null : 'is not an Abseil duration (e.g. "10s", "1m30s")';
    case "number": return /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(value) ? null : "is not a number";
    default: return null;
  }
}

// Returns seconds of an Abseil duration string, or null.
export function durationSeconds(value) {
  if (typeof value !== "string" || !DURATION.test(value) || /inf/.test(value)) return null;
  const unit = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|ms|s|m|h)/g)) total += parseFloat(m[1]) * unit[m[2]];
  return value.startsWith("-") ? -total : total;
}
