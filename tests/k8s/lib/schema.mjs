// Schema validation of rendered objects, offline:
//  1. at run time with kubernetes-models (validators compiled from the Kubernetes OpenAPI schema
//     of a current release; @kubernetes-models/prometheus-operator for the CRDs): types, enums,
//     required fields, formats — but unknown fields pass;
//  2. with `tsc --strict`: each object becomes an object literal typed as its kind, once with
//     kubernetes-models' interfaces (current release) and once with kubernetes-types (1.30, the
//     oldest release the manifests support), so an unknown or misspelt field is an excess
//     property error.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export function packageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(HERE, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
}

function splitApiVersion(apiVersion) {
  const i = apiVersion.indexOf("/");
  return i < 0 ? ["", apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
}

// Module of the kubernetes-models class/interface of this apiVersion + kind.
function modelsModule(apiVersion, kind) {
  const [group, version] = splitApiVersion(apiVersion);
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  return `kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`;
}

// Module of kubernetes-types for this apiVersion (null for CRDs).
function typesModule(apiVersion) {
  const [group, version] = splitApiVersion(apiVersion);
  if (group !== "" && !group.endsWith(".k8s.io") && group.includes(".")) return null;
  const short = group === "" ? "core" : group.split(".")[0];
  const file = path.join(HERE, "node_modules", "kubernetes-types", short, `${version}.d.ts`);
  return fs.existsSync(file) ? `kubernetes-types/${short}/${version}` : null;
}

// Is there a declaration file for this deep import? (The packages are ESM-only with "exports"
// maps, so require.resolve cannot answer.)
function hasModule(spec) {
  return fs.existsSync(path.join(HERE, "node_modules", `${spec}.d.ts`));
}

// Validates `obj` with kubernetes-models; returns a list of error strings.
export async function runtimeErrors(obj) {
  const mod = modelsModule(obj.apiVersion ?? "", obj.kind ?? "");
  let cls;
  try {
    cls = (await import(mod))[obj.kind];
  } catch {
    cls = undefined;
  }
  if (!cls) return [`no schema for apiVersion ${obj.apiVersion} kind ${obj.kind} (kubernetes-models has no ${mod})`];
  try {
    new cls(structuredClone(obj)).validate();
    return [];
  } catch (e) {
    return [`schema (kubernetes-models ${packageVersion("kubernetes-models")}): ${e.message}`];
  }
}

// Collects objects for one tsc run. add() returns a key; errorsFor(key) after run().
export class TypeCheck {
  constructor(dir) {
    this.dir = dir;
    this.files = new Map(); // key -> {file, lines, label}
    this.errors = new Map(); // key -> [string]
  }

  add(obj) {
    const json = JSON.stringify(obj, null, 2);
    const key = createHash("sha256").update(`${obj.apiVersion}|${obj.kind}|${json}`).digest("hex").slice(0, 16);
    if (this.files.has(key)) return key;
    const decls = [];
    const imports = [];
    const models = modelsModule(obj.apiVersion ?? "", obj.kind ?? "");
    if (hasModule(models)) {
      imports.push(`import type { I${obj.kind} as Current } from "${models}";`);
      decls.push("Current");
    }
    const types = typesModule(obj.apiVersion ?? "");
    if (types) {
      imports.push(`import type { ${obj.kind} as Minimum } from "${types}";`);
      decls.push("Minimum");
    }
    const body = decls.map((t) => `export const as${t}: ${t} = ${json};`).join("\n");
    const text = `${imports.join("\n")}\n${body}\n`;
    const file = path.join(this.dir, `o_${key}.ts`);
    fs.writeFileSync(file, text);
    this.files.set(key, { file, lines: text.split("\n"), decls });
    return key;
  }

  run() {
    fs.writeFileSync(path.join(this.dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, skipLibCheck: true, target: "es2022", module: "esnext",
        moduleResolution: "bundler", types: [], noErrorTruncation: true,
      },
      include: ["*.ts"],
    }, null, 2));
    const tsc = path.join(HERE, "node_modules", "typescript", "bin", "tsc");
    const run = spawnSync(process.execPath, [tsc, "-p", this.dir, "--pretty", "false"], { encoding: "utf8", maxBuffer: 1 << 28 });
    if (run.error) throw run.error;
    const out = run.stdout + run.stderr;
    // file(line,col): error TSxxxx: message  (+ indented continuation lines)
    let current = null;
    for (const line of out.split("\n")) {
      const m = /^(.*?o_([0-9a-f]{16})\.ts)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
      if (m) {
        const entry = this.files.get(m[2]);
        const lineNo = Number(m[3]);
        const declLine = entry.lines.slice(0, lineNo).reverse().find((l) => l.startsWith("export const as"));
        const which = declLine?.includes("asMinimum")
          ? `kubernetes-types ${packageVersion("kubernetes-types")}`
          : `kubernetes-models ${packageVersion("kubernetes-models")}`;
        current = { key: m[2], text: `types (${which}, tsc --strict): ${m[6]} [at: ${entry.lines[lineNo - 1].trim()}]` };
        if (!this.errors.has(m[2])) this.errors.set(m[2], []);
        this.errors.get(m[2]).push(current.text);
      } else if (current && /^\s+\S/.test(line)) {
        const list = this.errors.get(current.key);
        list[list.length - 1] += ` ${line.trim()}`;
      } else if (/error TS/.test(line)) {
        throw new Error(`tsc failed outside the generated objects: ${line}`);
      }
    }
    if (run.status !== 0 && this.errors.size === 0) throw new Error(`tsc exited ${run.status}: ${out.slice(0, 2000)}`);
  }

  errorsFor(key) {
    return this.errors.get(key) ?? [];
  }
}
