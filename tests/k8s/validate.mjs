#!/usr/bin/env node
// Offline validation of deploy/k8s (run by tests/k8s/run.sh, registered with ctest, label k8s).
//
//   node tests/k8s/validate.mjs --root REPO [--gateway BIN --ingest BIN --resolver BIN --writer BIN]
//
// For deploy/k8s/base, every deploy/k8s/overlays/*, deploy/k8s/base/secret-templates.yaml and
// every negative fixture in tests/k8s/fixtures/*:
//   1. renders it with `kubectl kustomize`;
//   2. validates every object against the Kubernetes OpenAPI schemas (kubernetes-models, run
//      time) and as TypeScript (`tsc --strict`, kubernetes-models + kubernetes-types), the CRDs
//      ServiceMonitor / PrometheusRule with @kubernetes-models/prometheus-operator;
//   3. checks it against what the binaries accept (lib/checks.mjs): flags and SHEETSYNC_* env
//      names (from the binaries' --helpfull, else from ABSL_FLAG in the sources), listen and
//      metrics ports, probes, addresses, Services, ServiceMonitor, NetworkPolicies, HPAs, PDBs,
//      shutdown timing; with the binaries given, each container's effective flags and env are
//      also parsed by the real binary (`--helpfull` after them: a bad one makes it fail);
//   4. compares the PrometheusRule with deploy/prometheus/alerts.yaml when that file exists.
// The real renders must pass; each fixture must fail with the error its `expect` file names, so
// the run fails if validation ever became a no-op.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import YAML from "yaml";

import { checkRender } from "./lib/checks.mjs";
import { loadCatalogue, sanitizerEnv, SERVICES } from "./lib/flags.mjs";
import { packageVersion, runtimeErrors, TypeCheck } from "./lib/schema.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = { root: path.resolve(HERE, "../.."), bins: {}, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--root") opts.root = path.resolve(argv[++i]);
    else if (a === "--verbose" || a === "-v") opts.verbose = true;
    else if (SERVICES.includes(a.replace(/^--/, ""))) opts.bins[a.replace(/^--/, "")] = path.resolve(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const ROOT = opts.root;
const K8S = path.join(ROOT, "deploy/k8s");
const warnings = [];
const warn = (msg) => warnings.push(msg);

function parseYamlDocs(text, where) {
  const docs = YAML.parseAllDocuments(text);
  const objs = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${where}: YAML: ${d.errors[0].message}`);
    const o = d.toJS();
    if (o) objs.push(o);
  }
  return objs;
}

function render(dir) {
  try {
    const out = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "pipe"] });
    return { objs: parseYamlDocs(out, dir) };
  } catch (e) {
    return { error: `kubectl kustomize ${path.relative(ROOT, dir)}: ${(e.stderr || e.message).trim()}` };
  }
}

// --- what to validate --------------------------------------------------------------------------
const targets = [];
targets.push({ name: "deploy/k8s/base", dir: path.join(K8S, "base"), expect: null, overlay: false });
for (const o of fs.readdirSync(path.join(K8S, "overlays")).sort()) {
  targets.push({ name: `deploy/k8s/overlays/${o}`, dir: path.join(K8S, "overlays", o), expect: null, overlay: true, production: o.startsWith("prod") });
}
const templatesFile = path.join(K8S, "base/secret-templates.yaml");
targets.push({ name: "deploy/k8s/base/secret-templates.yaml", file: templatesFile, expect: null, schemaOnly: true });
const fixturesDir = path.join(HERE, "fixtures");
for (const f of fs.readdirSync(fixturesDir).sort()) {
  const dir = path.join(fixturesDir, f);
  if (!fs.statSync(dir).isDirectory()) continue;
  const expect = fs.readFileSync(path.join(dir, "expect"), "utf8").split("\n").map((s) => s.trim()).filter((s) => s && !s.startsWith("#"));
  const requiresBinaries = expect.includes("requires-binaries");
  targets.push({ name: `tests/k8s/fixtures/${f}`, dir, expect: expect.filter((e) => e !== "requires-binaries"), requiresBinaries, overlay: false });
}

// --- the binaries ------------------------------------------------------------------------------
const catalogue = loadCatalogue(ROOT, opts.bins, warn);
const secretTemplates = new Map();
for (const s of parseYamlDocs(fs.readFileSync(templatesFile, "utf8"), templatesFile)) {
  if (s.kind === "Secret") secretTemplates.set(s.metadata.name, new Set(Object.keys({ ...s.data, ...s.stringData })));
}

// Runs the container's binary with its effective SHEETSYNC_* env and flag args plus --helpfull:
// Abseil parses both (a bad name or value is an error) and then prints help instead of serving.
const dryRuns = new Map();
function dryRun(pod, a, m) {
  const cat = catalogue[a.svc];
  if (!cat.bin || !fs.existsSync(cat.bin)) return;
  const env = sanitizerEnv();
  for (const [k, v] of a.env) if (k.startsWith("SHEETSYNC_")) env[k] = v.value ?? "secret-placeholder";
  // Every argument as written (the binary judges unknown ones too), but not flags still pending.
  const args = a.rawArgs.filter((x) => !cat.pending.has(x.flag)).map((x) => x.arg);
  const key = JSON.stringify([a.svc, env, args]);
  if (!dryRuns.has(key)) {
    const run = spawnSync(cat.bin, [...args, "--helpfull"], { encoding: "utf8", env, timeout: 20000 });
    const out = `${run.stdout ?? ""}${run.stderr ?? ""}`;
    const bad = out.split("\n").filter((l) => /ERROR|bad value|bad configuration|Unknown command line flag|Illegal value/i.test(l));
    dryRuns.set(key, run.status > 1 || run.error || bad.length ? `exit ${run.status}: ${bad.join(" | ") || out.slice(-300)}` : null);
  }
  const failure = dryRuns.get(key);
  if (failure) m.error(`${a.where}: sheetsync-${a.svc} rejects its configuration (${cat.bin} ${args.join(" ")} with its env): ${failure}`);
}

// --- alerts.yaml -------------------------------------------------------------------------------
const alertsFile = path.join(ROOT, "deploy/prometheus/alerts.yaml");
let alerts = null;
if (fs.existsSync(alertsFile)) alerts = YAML.parse(fs.readFileSync(alertsFile, "utf8"));
else warn("deploy/prometheus/alerts.yaml does not exist yet: PrometheusRule comparison skipped");

function checkAlerts(objs, errors) {
  if (!alerts) return;
  for (const r of objs.filter((o) => o.kind === "PrometheusRule")) {
    if (!isDeepStrictEqual(r.spec?.groups, alerts.groups)) {
      errors.push(`PrometheusRule/${r.metadata.name}: its groups differ from deploy/prometheus/alerts.yaml; run scripts/k8s_sync_alerts.sh`);
    }
  }
}

function promtoolCheck(objs, errors) {
  const rules = objs.filter((o) => o.kind === "PrometheusRule");
  if (!rules.length) return;
  const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  if (promtool.error) return;
  for (const r of rules) {
    const file = path.join(os.tmpdir(), `sheetsync-rules-${process.pid}.yaml`);
    fs.writeFileSync(file, YAML.stringify({ groups: r.spec.groups }));
    const run = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
    fs.rmSync(file, { force: true });
    if (run.status !== 0) errors.push(`PrometheusRule/${r.metadata.name}: promtool check rules: ${(run.stdout + run.stderr).trim()}`);
  }
}

// --- run ---------------------------------------------------------------------------------------
const genDir = fs.mkdtempSync(path.join(HERE, ".out-"));
const types = new TypeCheck(genDir);
try {
  for (const t of targets) {
    const r = t.file ? { objs: parseYamlDocs(fs.readFileSync(t.file, "utf8"), t.file) } : render(t.dir);
    t.errors = [];
    if (r.error) {
      t.errors.push(r.error);
      t.objs = [];
      continue;
    }
    t.objs = r.objs;
    t.keys = t.objs.map((o) => types.add(o));
  }
  types.run();
  for (const t of targets) {
    for (const [i, o] of t.objs.entries()) {
      const where = `${o.kind}/${o.metadata?.name}`;
      for (const e of await runtimeErrors(o)) t.errors.push(`${where}: ${e}`);
      for (const e of types.errorsFor(t.keys[i])) t.errors.push(`${where}: ${e}`);
    }
    if (t.schemaOnly || !t.objs.length) continue;
    const ctx = { catalogue, secretTemplates, overlay: t.overlay, production: t.production, dryRun };
    const result = checkRender(t.objs, ctx);
    t.errors.push(...result.errors);
    checkAlerts(t.objs, t.errors);
    promtoolCheck(t.objs, t.errors);
  }
} finally {
  fs.rmSync(genDir, { recursive: true, force: true });
}

// --- verdicts ----------------------------------------------------------------------------------
let passed = 0;
let failed = 0;
console.log(`schemas: kubernetes-models ${packageVersion("kubernetes-models")}, kubernetes-types ${packageVersion("kubernetes-types")}, ` +
  `@kubernetes-models/prometheus-operator ${packageVersion("@kubernetes-models/prometheus-operator")}, typescript ${packageVersion("typescript")}`);
for (const svc of SERVICES) console.log(`flags of sheetsync-${svc} (${catalogue[svc].source}): ${[...catalogue[svc].flags.keys()].sort().join(" ")}`);
for (const t of targets) {
  const count = `${t.objs.length} objects`;
  if (!t.expect) {
    if (t.errors.length === 0) {
      passed++;
      console.log(`ok   ${t.name} (${count})`);
    } else {
      failed++;
      console.log(`FAIL ${t.name} (${count}):`);
      for (const e of t.errors) console.log(`       - ${e}`);
    }
    continue;
  }
  if (t.requiresBinaries && !SERVICES.every((s) => catalogue[s].bin && fs.existsSync(catalogue[s].bin))) {
    console.log(`skip ${t.name}: needs the built binaries (--gateway/--ingest/--resolver/--writer)`);
    continue;
  }
  // Negative fixture: must fail, with an error naming every expected fragment.
  const hit = t.errors.find((e) => t.expect.every((frag) => e.includes(frag)));
  if (hit) {
    passed++;
    console.log(`ok   ${t.name} rejected as expected: ${hit.length > 220 ? `${hit.slice(0, 220)}...` : hit}`);
    if (opts.verbose) for (const e of t.errors) console.log(`       - ${e}`);
  } else {
    failed++;
    console.log(`FAIL ${t.name}: expected an error containing ${JSON.stringify(t.expect)}, got ${t.errors.length ? "" : "none"}`);
    for (const e of t.errors) console.log(`       - ${e}`);
  }
}
for (const w of warnings) console.log(`WARNING: ${w}`);
console.log(`\nk8s manifests: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
