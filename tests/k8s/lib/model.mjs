// A small model of a rendered kustomization: pods (from workload templates), services,
// label selectors, port resolution, and what every sheetsync container is configured to do
// (its effective SHEETSYNC_* environment, flags and the ports it really listens on).
import { GRPC_TIERS, valueError } from "./flags.mjs";

export const id = (o) => `${o.kind}/${o.metadata?.name ?? "?"}`;
export const nsOf = (o) => o.metadata?.namespace ?? "default";

const WORKLOAD_TEMPLATE = {
  Deployment: (o) => o.spec?.template,
  StatefulSet: (o) => o.spec?.template,
  DaemonSet: (o) => o.spec?.template,
  ReplicaSet: (o) => o.spec?.template,
  Job: (o) => o.spec?.template,
  CronJob: (o) => o.spec?.jobTemplate?.spec?.template,
};

// Env names a sheetsync container may carry besides SHEETSYNC_*: read by gRPC core itself.
const ALLOWED_OTHER_ENV = new Set(["GRPC_VERBOSITY", "GRPC_TRACE", "GRPC_DNS_RESOLVER", "TZ"]);

export function matchLabels(selector, labels) {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === "In" && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// Service-style selector (a plain map); an empty one selects nothing.
export function matchMap(map, labels) {
  const entries = Object.entries(map ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

export function imageService(image) {
  const m = /(?:^|\/)sheetsync-(gateway|ingest|resolver|writer)(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/.exec(image ?? "");
  return m ? m[1] : null;
}

export function parseHostPort(value) {
  const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(value ?? "");
  return m ? { host: m[1], port: Number(m[2]) } : null;
}

export class Model {
  constructor(objs, ctx) {
    this.objs = objs;
    this.ctx = ctx;
    this.errors = [];
    this.warnings = [];
    this.byKind = new Map();
    for (const o of objs) {
      if (!this.byKind.has(o.kind)) this.byKind.set(o.kind, []);
      this.byKind.get(o.kind).push(o);
    }
    this.pods = [];
    for (const o of objs) {
      const tpl = WORKLOAD_TEMPLATE[o.kind]?.(o);
      if (!tpl) continue;
      const pod = {
        owner: o, id: id(o), ns: nsOf(o), labels: tpl.metadata?.labels ?? {}, spec: tpl.spec ?? {},
        longRunning: !["Job", "CronJob"].includes(o.kind), containers: [],
      };
      for (const c of pod.spec.containers ?? []) pod.containers.push(this.analyze(pod, c));
      pod.ports = pod.containers.flatMap((a) => a.ports);
      pod.services = new Set(pod.containers.map((a) => a.svc).filter(Boolean));
      this.pods.push(pod);
    }
  }

  kind(k) {
    return this.byKind.get(k) ?? [];
  }

  error(msg) {
    this.errors.push(msg);
  }

  find(kind, name, ns) {
    return this.kind(kind).find((o) => o.metadata?.name === name && nsOf(o) === ns);
  }

  nsLabels(ns) {
    const obj = this.kind("Namespace").find((o) => o.metadata?.name === ns);
    return { ...(obj?.metadata?.labels ?? {}), "kubernetes.io/metadata.name": ns };
  }

  // Is there a Secret `name` with `key`, in the render or among the documented templates?
  secretKnown(name, key, ns) {
    const s = this.find("Secret", name, ns);
    if (s) return Object.prototype.hasOwnProperty.call({ ...s.data, ...s.stringData }, key);
    const keys = this.ctx.secretTemplates.get(name);
    return keys ? keys.has(key) : false;
  }

  // Effective environment of container `c`: Map name -> {value|null, from}.
  environment(pod, c, where) {
    const env = new Map();
    for (const src of c.envFrom ?? []) {
      if (src.secretRef) {
        this.error(`${where}: envFrom.secretRef hides which variables the container gets; use env[].valueFrom.secretKeyRef`);
        continue;
      }
      const ref = src.configMapRef;
      if (!ref) continue;
      const cm = this.find("ConfigMap", ref.name, pod.ns);
      if (!cm) {
        if (!ref.optional) this.error(`${where}: envFrom ConfigMap ${ref.name} is not in the render`);
        continue;
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env.set(`${src.prefix ?? ""}${k}`, { value: v, from: `ConfigMap/${ref.name}` });
    }
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env.set(e.name, { value: String(e.value), from: "literal" });
      else if (e.valueFrom?.configMapKeyRef) {
        const r = e.valueFrom.configMapKeyRef;
        const cm = this.find("ConfigMap", r.name, pod.ns);
        if (!cm || !Object.prototype.hasOwnProperty.call(cm.data ?? {}, r.key)) {
          if (!r.optional) this.error(`${where}: env ${e.name} reads ConfigMap ${r.name} key ${r.key}, which is not in the render`);
          continue;
        }
        env.set(e.name, { value: cm.data[r.key], from: `ConfigMap/${r.name}` });
      } else if (e.valueFrom?.secretKeyRef) {
        const r = e.valueFrom.secretKeyRef;
        if (!this.secretKnown(r.name, r.key, pod.ns)) {
          this.error(`${where}: env ${e.name} reads Secret ${r.name} key ${r.key}: neither rendered nor in deploy/k8s/base/secret-templates.yaml`);
        }
        env.set(e.name, { value: null, from: `Secret/${r.name}/${r.key}` });
      } else {
        env.set(e.name, { value: null, from: "field" });
      }
    }
    return env;
  }

  // Analyses one container; for sheetsync images checks env names, flags and values.
  analyze(pod, c) {
    const where = `${pod.id} container ${c.name}`;
    const svc = imageService(c.image);
    const ports = (c.ports ?? []).map((p) => ({ name: p.name, port: p.containerPort, protocol: p.protocol ?? "TCP" }));
    const info = { c, svc, where, ports, env: this.environment(pod, c, where), flags: new Map(), args: [] };
    if (!svc) return info;
    const cat = this.ctx.catalogue[svc];
    const accept = (flag) => cat.flags.has(flag);
    info.flagsFromDefault = new Set();
    for (const [flag, meta] of cat.flags) {
      if (meta.default === null || meta.default === undefined) continue;
      info.flags.set(flag, meta.default);
      info.flagsFromDefault.add(flag);
    }
    for (const [name, { value }] of info.env) {
      if (name.startsWith("SHEETSYNC_")) {
        const flag = name.slice("SHEETSYNC_".length).toLowerCase();
        if (accept(flag)) {
          const bad = valueError(cat.flags.get(flag).type, value);
          if (bad) this.error(`${where}: ${name}=${value} ${bad} (flag --${flag})`);
          info.flags.set(flag, value);
          info.flagsFromDefault.delete(flag);
        } else if (!cat.direct.has(name)) {
          this.error(`${where}: env ${name} is no flag of sheetsync-${svc} (it accepts: ${[...cat.flags.keys()].sort().join(", ")}; per ${cat.source})`);
        }
      } else if (!ALLOWED_OTHER_ENV.has(name)) {
        this.error(`${where}: env ${name} is not read by sheetsync-${svc} (only SHEETSYNC_<FLAG> and ${[...ALLOWED_OTHER_ENV].join(", ")})`);
      }
    }
    if (c.command) {
      if (c.command.length !== 1 || c.command[0] !== `/usr/local/bin/sheetsync-${svc}`) {
        this.error(`${where}: command ${JSON.stringify(c.command)} is not the image's binary (leave command unset; flags go in args)`);
      }
    }
    info.rawArgs = [];
    for (const arg of c.args ?? []) {
      info.rawArgs.push({ arg, flag: /^--?([A-Za-z0-9_]+)/.exec(arg)?.[1] ?? "" });
      const m = /^--?(no)?([A-Za-z0-9_]+)(?:=(.*))?$/s.exec(arg);
      if (!m) {
        this.error(`${where}: argument ${JSON.stringify(arg)} is not a --flag[=value]`);
        continue;
      }
      let flag = `${m[1] ?? ""}${m[2]}`;
      let value = m[3] ?? null;
      if (!accept(flag) && m[1] && value === null && cat.flags.get(m[2])?.type === "bool") {
        flag = m[2]; // --noflag
        value = "false";
      }
      if (!accept(flag)) {
        this.error(`${where}: argument --${flag} is no flag of sheetsync-${svc} (per ${cat.source})`);
        continue;
      }
      const type = cat.flags.get(flag).type;
      if (value === null) {
        if (type !== "bool") this.error(`${where}: --${flag} needs a value (--${flag}=...)`);
        value = "true";
      }
      const bad = valueError(type, value);
      if (bad) this.error(`${where}: --${flag}=${value} ${bad}`);
      info.flags.set(flag, value);
      info.flagsFromDefault.delete(flag);
      info.args.push({ flag, arg });
    }
    info.listen = parseHostPort(info.flags.get("listen"));
    info.metrics = cat.flags.has("metrics_listen") ? parseHostPort(info.flags.get("metrics_listen")) : null;
    // What the process serves: the gateway /metrics next to its API; the tiers on their own port.
    info.served = new Map();
    if (info.listen) info.served.set(info.listen.port, svc === "gateway" ? "http" : "grpc");
    if (info.metrics) info.served.set(info.metrics.port, "metrics");
    info.metricsPort = svc === "gateway" ? info.listen?.port : info.metrics?.port;
    return info;
  }

  // Pods in `ns` whose labels a Service-style selector map selects.
  podsSelectedByMap(map, ns) {
    return this.pods.filter((p) => p.ns === ns && matchMap(map, p.labels));
  }

  // Container port number a Service port reaches on `pod` (null when nothing matches).
  targetPortOn(servicePort, pod) {
    const t = servicePort.targetPort ?? servicePort.port;
    if (typeof t === "number") return pod.ports.some((p) => p.port === t) ? t : null;
    const hit = pod.ports.find((p) => p.name === t);
    return hit ? hit.port : null;
  }

  findService(host, ns) {
    const parts = host.split(".");
    const name = parts[0];
    const svcNs = parts.length > 1 ? parts[1] : ns;
    const suffix = parts.slice(2).join(".");
    if (suffix && !["svc", "svc.cluster.local"].includes(suffix)) return null;
    return this.find("Service", name, svcNs) ?? null;
  }
}

export function isGrpcTier(svc) {
  return GRPC_TIERS.includes(svc);
}
