// sheetsync-specific checks of one render: every port, probe, env var, address and metrics
// endpoint must match what the binaries accept and serve; the security, scaling, disruption,
// network and monitoring objects must fit together. Returns {errors, warnings}.
import { durationSeconds, GRPC_TIERS, SERVICES } from "./flags.mjs";
import { id, isGrpcTier, matchLabels, matchMap, Model, nsOf, parseHostPort } from "./model.mjs";
import { Policies } from "./netpol.mjs";

const ADDR_FLAGS = { ingest_addr: ["ingest"], resolver_addr: ["resolver"], writer_addr: ["writer"], ready_addrs: GRPC_TIERS };
const EXPOSER_SHUTDOWN_S = 2; // prometheus-cpp's Exposer destructor (TOOLCHAIN.md)
const PROMETHEUS_NS = "monitoring";
const INGRESS_CONTROLLER_NS = "ingress-nginx";

export function checkRender(objs, ctx) {
  const m = new Model(objs, ctx);
  const needed = []; // {src, dst, port, protocol, why}
  checkNamespaces(m);
  for (const pod of m.pods) {
    checkPodSecurity(m, pod);
    for (const a of pod.containers) if (a.svc) checkSheetsyncContainer(m, pod, a, needed);
  }
  checkServices(m);
  checkDeploymentsHaveHpaPdb(m);
  checkIngress(m, needed);
  checkServiceMonitors(m, needed);
  checkMigrationJob(m);
  checkSecrets(m, ctx);
  checkImages(m, ctx);
  checkNetwork(m, needed);
  return { errors: m.errors, warnings: m.warnings, model: m };
}

function checkNamespaces(m) {
  const namespaces = new Set(m.objs.filter((o) => o.kind !== "Namespace" && o.metadata?.namespace).map(nsOf));
  for (const ns of namespaces) {
    const obj = m.kind("Namespace").find((o) => o.metadata?.name === ns);
    if (!obj) continue;
    if (obj.metadata?.labels?.["pod-security.kubernetes.io/enforce"] !== "restricted") {
      m.error(`Namespace/${ns}: label pod-security.kubernetes.io/enforce must be "restricted"`);
    }
  }
  if (namespaces.size > 1) m.error(`objects are spread over namespaces ${[...namespaces].join(", ")}`);
}

function checkPodSecurity(m, pod) {
  const psc = pod.spec.securityContext ?? {};
  if (pod.spec.automountServiceAccountToken !== false) m.error(`${pod.id}: automountServiceAccountToken must be false (no process uses the API)`);
  for (const a of pod.containers) {
    const c = a.c;
    const sc = c.securityContext ?? {};
    const where = a.where;
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) m.error(`${where}: runAsNonRoot must be true`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) m.error(`${where}: runAsUser 0 (root)`);
    if (sc.allowPrivilegeEscalation !== false) m.error(`${where}: allowPrivilegeEscalation must be false`);
    if (sc.readOnlyRootFilesystem !== true) m.error(`${where}: readOnlyRootFilesystem must be true`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) m.error(`${where}: capabilities.drop must include ALL`);
    if ((sc.capabilities?.add ?? []).length) m.error(`${where}: adds capabilities ${sc.capabilities.add.join(", ")}`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (!["RuntimeDefault", "Localhost"].includes(seccomp)) m.error(`${where}: seccompProfile must be RuntimeDefault`);
    for (const kind of ["requests", "limits"]) {
      for (const r of ["cpu", "memory"]) {
        if (!c.resources?.[kind]?.[r]) m.error(`${where}: resources.${kind}.${r} is not set`);
      }
    }
  }
}

function probePortNumber(a, port) {
  if (typeof port === "number") return port;
  return a.ports.find((p) => p.name === port)?.port ?? null;
}

function checkSheetsyncContainer(m, pod, a, needed) {
  const { svc, where, c } = a;
  const served = a.served;
  // Declared ports must be the ports the process listens on, and named as such.
  if (pod.longRunning) {
    if (!a.listen) m.error(`${where}: --listen=${a.flags.get("listen")} is not host:port`);
    for (const [label, hp] of [["listen", a.listen], ["metrics_listen", a.metrics]]) {
      if (!hp) continue;
      if (!["0.0.0.0", "[::]", ""].includes(hp.host)) {
        m.error(`${where}: --${label}=${hp.host}:${hp.port} is not reachable from outside the pod (listen on 0.0.0.0)`);
      }
    }
    if (isGrpcTier(svc) && !a.metrics) m.error(`${where}: --metrics_listen=${a.flags.get("metrics_listen")} is not host:port`);
    for (const [port, role] of served) {
      const decl = a.ports.find((p) => p.port === port);
      if (!decl) m.error(`${where}: sheetsync-${svc} serves ${role} on port ${port} (flags) but declares no containerPort ${port}`);
      else if (decl.name !== role) m.error(`${where}: containerPort ${port} is named "${decl.name}", expected "${role}"`);
    }
    for (const p of a.ports) {
      if (!served.has(p.port)) {
        m.error(`${where}: containerPort ${p.port} (${p.name}) is not a port sheetsync-${svc} listens on ` +
          `(listen=${a.flags.get("listen")}${a.metrics ? `, metrics_listen=${a.flags.get("metrics_listen")}` : ""})`);
      }
    }
    checkProbes(m, pod, a);
    checkShutdown(m, pod, a);
  } else {
    if (a.ports.length) m.error(`${where}: a Job container declares ports`);
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) if (c[probe]) m.error(`${where}: a Job container has a ${probe}`);
  }
  if (svc === "gateway") checkGatewayToken(m, pod, a);
  if (svc === "writer") {
    for (const name of ["SHEETSYNC_MYSQL_PASSWORD", "SHEETSYNC_MYSQL_USER"]) {
      const e = a.env.get(name);
      if (!e) m.error(`${where}: ${name} is not set (from the sheetsync-mysql Secret)`);
      else if (!e.from.startsWith("Secret/")) m.error(`${where}: ${name} must come from a Secret (secretKeyRef), not ${e.from}`);
    }
    for (const arg of c.args ?? []) if (/^--mysql_password/.test(arg)) m.error(`${where}: the MySQL password is in args`);
  }
  checkAddresses(m, pod, a, needed);
  m.ctx.dryRun?.(pod, a, m);
}

function checkProbes(m, pod, a) {
  const { svc, where, c } = a;
  for (const name of ["readinessProbe", "livenessProbe"]) if (!c[name]) m.error(`${where}: no ${name}`);
  for (const name of ["readinessProbe", "livenessProbe", "startupProbe"]) {
    const probe = c[name];
    if (!probe) continue;
    const at = `${where}: ${name}`;
    if (probe.exec) m.error(`${at}: exec probes cannot run (the image has no shell and no tools)`);
    if (probe.grpc) {
      if (!isGrpcTier(svc)) m.error(`${at}: grpc probe, but sheetsync-${svc} serves no gRPC health service`);
      else if (probe.grpc.port !== a.listen?.port) {
        m.error(`${at}: grpc port ${probe.grpc.port} is not the gRPC port of sheetsync-${svc} (--listen port ${a.listen?.port})`);
      }
      if (probe.grpc.service) m.error(`${at}: grpc service "${probe.grpc.service}": the servers report health for "" only`);
    }
    if (probe.httpGet) {
      const port = probePortNumber(a, probe.httpGet.port);
      const role = a.served.get(port);
      const path = probe.httpGet.path ?? "/";
      if (!role) m.error(`${at}: httpGet port ${probe.httpGet.port} is no port sheetsync-${svc} serves HTTP on`);
      else if (role === "grpc") m.error(`${at}: httpGet on the gRPC port ${port}`);
      else if (role === "metrics" && path !== "/metrics") m.error(`${at}: the metrics port serves only /metrics, not ${path}`);
      else if (role === "http" && !["/healthz", "/readyz", "/metrics"].includes(path)) m.error(`${at}: path ${path} needs no token only for /healthz, /readyz, /metrics`);
      if (svc === "gateway" && name === "readinessProbe" && path !== "/readyz") m.error(`${at}: the gateway's readiness is /readyz`);
      if (svc === "gateway" && name === "livenessProbe" && path !== "/healthz") m.error(`${at}: the gateway's liveness is /healthz`);
    }
    if (probe.tcpSocket) {
      const port = probePortNumber(a, probe.tcpSocket.port);
      if (!a.served.has(port)) m.error(`${at}: tcpSocket port ${probe.tcpSocket.port} is no port sheetsync-${svc} listens on`);
    }
  }
  if (isGrpcTier(svc) && !c.readinessProbe?.grpc) m.error(`${where}: readinessProbe must be the gRPC health check`);
}

function checkShutdown(m, pod, a) {
  const drain = durationSeconds(a.flags.get("drain_timeout"));
  const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
  const preStop = a.c.lifecycle?.preStop;
  if (preStop?.exec) m.error(`${a.where}: preStop exec cannot run (the image has no shell); use preStop.sleep`);
  const sleep = preStop?.sleep?.seconds ?? 0;
  if (drain === null) {
    m.error(`${a.where}: drain_timeout ${a.flags.get("drain_timeout")} is not a duration`);
  } else if (grace <= sleep + drain + EXPOSER_SHUTDOWN_S) {
    m.error(`${a.where}: terminationGracePeriodSeconds ${grace} must exceed preStop sleep ${sleep}s + ` +
      `--drain_timeout ${drain}s + ${EXPOSER_SHUTDOWN_S}s (metrics exposer), or in-flight work is killed`);
  }
}

function checkGatewayToken(m, pod, a) {
  const env = a.env;
  const file = env.get("SHEETSYNC_GATEWAY_TOKEN_FILE")?.value ?? a.flags.get("token_file") ?? "";
  const inline = env.get("SHEETSYNC_GATEWAY_TOKEN") ?? env.get("SHEETSYNC_TOKEN");
  if (inline && !inline.from.startsWith("Secret/")) m.error(`${a.where}: the gateway token must come from a Secret, not ${inline.from}`);
  if (!file && !inline) {
    m.error(`${a.where}: no token (SHEETSYNC_GATEWAY_TOKEN_FILE or SHEETSYNC_GATEWAY_TOKEN): the gateway would exit at start-up`);
    return;
  }
  if (!file) return;
  const mount = (a.c.volumeMounts ?? []).find((vm) => file.startsWith(`${vm.mountPath.replace(/\/$/, "")}/`));
  if (!mount) {
    m.error(`${a.where}: token file ${file} is under no volumeMount`);
    return;
  }
  const vol = (pod.spec.volumes ?? []).find((v) => v.name === mount.name);
  const key = file.slice(mount.mountPath.replace(/\/$/, "").length + 1);
  if (!vol?.secret) {
    m.error(`${a.where}: token file ${file} is not on a Secret volume`);
  } else {
    const item = (vol.secret.items ?? []).find((i) => i.path === key);
    const secretKey = item ? item.key : key;
    if (vol.secret.items && !item) m.error(`${a.where}: Secret volume ${mount.name} has no item with path ${key}`);
    else if (!m.secretKnown(vol.secret.secretName, secretKey, pod.ns)) {
      m.error(`${a.where}: Secret ${vol.secret.secretName} has no key ${secretKey} for the token file ${file}`);
    }
  }
}

// Parses an address flag into targets {host, port, dns}.
function targets(flag, value) {
  const lists = flag === "ready_addrs" ? value.split(";").map((s) => s.trim()).filter(Boolean) : [value];
  const out = [];
  for (const list of lists) {
    const dns = /^dns:(?:\/\/[^/]*)?\/([^/]+)$/.exec(list);
    const items = dns ? [dns[1]] : list.split(",").map((s) => s.trim()).filter(Boolean);
    for (const item of items) out.push({ ...parseHostPort(item), dns: Boolean(dns), text: item });
  }
  return out;
}

function checkAddresses(m, pod, a, needed) {
  for (const [flag, expected] of Object.entries(ADDR_FLAGS)) {
    if (!m.ctx.catalogue[a.svc].flags.has(flag)) continue;
    const value = a.flags.get(flag);
    if (!value) continue;
    for (const t of targets(flag, value)) {
      const at = `${a.where}: --${flag} target ${t.text}`;
      if (!t.host) {
        m.error(`${at} is not host:port`);
        continue;
      }
      const service = m.findService(t.host, pod.ns);
      if (!service) {
        const unset = a.flagsFromDefault?.has(flag) ? ` (the binary's default: set SHEETSYNC_${flag.toUpperCase()})` : "";
        m.error(`${at}: no Service ${t.host} in the render${unset}`);
        continue;
      }
      if (!t.dns) m.error(`${at}: use dns:///${t.host}:${t.port} so that round_robin spreads calls over every pod`);
      if (service.spec?.clusterIP !== "None") m.error(`${at}: Service ${service.metadata.name} must be headless (clusterIP: None) for dns:/// balancing`);
      const sp = (service.spec?.ports ?? []).find((p) => p.port === t.port);
      if (!sp) {
        m.error(`${at}: Service ${service.metadata.name} has no port ${t.port}`);
        continue;
      }
      const dsts = m.podsSelectedByMap(service.spec?.selector, nsOf(service));
      if (dsts.length === 0) m.error(`${at}: Service ${service.metadata.name} selects no pod`);
      for (const dst of dsts) {
        const backend = dst.containers.find((x) => x.svc);
        if (!backend || !expected.includes(backend.svc)) {
          m.error(`${at}: Service ${service.metadata.name} selects ${dst.id}, which does not run sheetsync-${expected.join("/")}`);
          continue;
        }
        const port = m.targetPortOn(sp, dst);
        if (port !== backend.listen?.port) {
          m.error(`${at}: Service port ${t.port} reaches port ${port} of ${dst.id}, but sheetsync-${backend.svc} listens for gRPC on ${backend.listen?.port}`);
        } else {
          needed.push({ src: pod, dst, port, why: `--${flag}` });
        }
      }
    }
  }
  if (a.svc === "writer") {
    const host = a.flags.get("mysql_host");
    const port = Number(a.flags.get("mysql_port") ?? 3306);
    const service = host ? m.findService(host, pod.ns) : null;
    if (service) {
      const sp = (service.spec?.ports ?? []).find((p) => p.port === port);
      if (!sp) m.error(`${a.where}: MySQL Service ${host} has no port ${port}`);
      for (const dst of m.podsSelectedByMap(service.spec?.selector, nsOf(service))) {
        const tp = sp ? m.targetPortOn(sp, dst) : null;
        if (sp && tp === null) m.error(`${a.where}: MySQL Service ${host} port ${port} reaches no containerPort of ${dst.id}`);
        if (tp !== null) needed.push({ src: pod, dst, port: tp, why: "MySQL" });
      }
    } else {
      needed.push({ src: pod, external: true, port, why: `MySQL at ${host}:${port}` });
    }
  }
}

function checkServices(m) {
  for (const s of m.kind("Service")) {
    const where = id(s);
    const pods = m.podsSelectedByMap(s.spec?.selector, nsOf(s)).filter((p) => p.longRunning);
    if (pods.length === 0) {
      m.error(`${where}: selector ${JSON.stringify(s.spec?.selector ?? {})} selects no workload`);
      continue;
    }
    for (const sp of s.spec?.ports ?? []) {
      for (const pod of pods) {
        const port = m.targetPortOn(sp, pod);
        if (port === null) {
          m.error(`${where}: port ${sp.name ?? sp.port} targets ${sp.targetPort ?? sp.port}, which is no containerPort of ${pod.id}`);
          continue;
        }
        const a = pod.containers.find((x) => x.svc);
        if (a && !a.served.has(port)) m.error(`${where}: port ${sp.port} reaches ${port}, where sheetsync-${a.svc} does not listen`);
      }
    }
    const tier = pods.flatMap((p) => [...p.services]).find(isGrpcTier);
    if (tier && s.spec?.clusterIP !== "None") m.error(`${where}: Services of gRPC tiers (${tier}) must be headless (clusterIP: None)`);
  }
}

function checkDeploymentsHaveHpaPdb(m) {
  const hpas = m.kind("HorizontalPodAutoscaler");
  for (const h of hpas) {
    const ref = h.spec?.scaleTargetRef ?? {};
    const target = m.find(ref.kind, ref.name, nsOf(h));
    if (!target) m.error(`${id(h)}: scaleTargetRef ${ref.kind}/${ref.name} is not in the render`);
    if (h.apiVersion !== "autoscaling/v2") m.error(`${id(h)}: use autoscaling/v2`);
    if ((h.spec?.minReplicas ?? 1) > h.spec?.maxReplicas) m.error(`${id(h)}: minReplicas > maxReplicas`);
    for (const metric of h.spec?.metrics ?? []) {
      const res = metric.resource?.name;
      if (metric.type !== "Resource" || !target) continue;
      const pod = m.pods.find((p) => p.owner === target);
      for (const a of pod?.containers ?? []) {
        if (!a.c.resources?.requests?.[res]) m.error(`${id(h)}: scales on ${res} but ${a.where} has no ${res} request`);
      }
    }
  }
  for (const pod of m.pods.filter((p) => p.owner.kind === "Deployment" && p.services.size)) {
    const d = pod.owner;
    const hpa = hpas.filter((h) => h.spec?.scaleTargetRef?.kind === "Deployment" && h.spec.scaleTargetRef.name === d.metadata.name && nsOf(h) === pod.ns);
    if (hpa.length !== 1) m.error(`${pod.id}: needs exactly one HorizontalPodAutoscaler, has ${hpa.length}`);
    if (hpa.length && d.spec?.replicas !== undefined) m.error(`${pod.id}: sets replicas although an HPA owns the count (every apply would reset the scale)`);
    const pdbs = m.kind("PodDisruptionBudget").filter((b) => nsOf(b) === pod.ns && matchLabels(b.spec?.selector, pod.labels));
    if (pdbs.length !== 1) m.error(`${pod.id}: needs exactly one PodDisruptionBudget, has ${pdbs.length}`);
    for (const b of pdbs) {
      const min = hpa[0]?.spec?.minReplicas ?? 1;
      if (typeof b.spec?.minAvailable === "number" && b.spec.minAvailable >= min) {
        m.error(`${id(b)}: minAvailable ${b.spec.minAvailable} >= minReplicas ${min} blocks every node drain`);
      }
    }
    const strategy = d.spec?.strategy?.rollingUpdate;
    if (d.spec?.strategy?.type === "Recreate" || (strategy && strategy.maxUnavailable !== 0)) {
      m.error(`${pod.id}: rollouts must keep every pod until its replacement is ready (rollingUpdate.maxUnavailable: 0)`);
    }
  }
  for (const b of m.kind("PodDisruptionBudget")) {
    if (!m.pods.some((p) => p.ns === nsOf(b) && matchLabels(b.spec?.selector, p.labels))) m.error(`${id(b)}: selects no pod`);
  }
}

// Does an Ingress path (type, path) route request path `req`?
function routes(p, req) {
  if (p.pathType === "Exact") return req === p.path;
  const base = p.path.replace(/\/$/, "");
  return base === "" || req === base || req.startsWith(`${base}/`);
}

function checkIngress(m, needed) {
  for (const ing of m.kind("Ingress")) {
    const where = id(ing);
    if (!(ing.spec?.tls ?? []).length) m.error(`${where}: no TLS`);
    const tlsHosts = new Set((ing.spec?.tls ?? []).flatMap((t) => t.hosts ?? []));
    for (const rule of ing.spec?.rules ?? []) {
      if (rule.host && !tlsHosts.has(rule.host)) m.error(`${where}: host ${rule.host} is not covered by tls.hosts`);
      for (const p of rule.http?.paths ?? []) {
        for (const internal of ["/metrics", "/healthz", "/readyz"]) {
          if (routes(p, internal)) m.error(`${where}: path ${p.path} (${p.pathType}) exposes ${internal} outside the cluster`);
        }
        const b = p.backend?.service;
        const s = b && m.find("Service", b.name, nsOf(ing));
        if (!s) {
          m.error(`${where}: backend Service ${b?.name} is not in the render`);
          continue;
        }
        const sp = (s.spec?.ports ?? []).find((x) => (b.port?.name ? x.name === b.port.name : x.port === b.port?.number));
        if (!sp) {
          m.error(`${where}: Service ${b.name} has no port ${b.port?.name ?? b.port?.number}`);
          continue;
        }
        for (const pod of m.podsSelectedByMap(s.spec?.selector, nsOf(s))) {
          const a = pod.containers.find((x) => x.svc === "gateway");
          const port = m.targetPortOn(sp, pod);
          if (!a || port !== a.listen?.port) m.error(`${where}: backend ${b.name}:${sp.port} does not reach the gateway's --listen port`);
          else needed.push({ src: { synthetic: true, ns: INGRESS_CONTROLLER_NS, labels: {} }, dst: pod, port, why: "Ingress controller" });
        }
      }
    }
  }
}

function checkServiceMonitors(m, needed) {
  const scraped = new Set(); // `${pod.id}:${port}`
  for (const sm of m.kind("ServiceMonitor")) {
    const where = id(sm);
    const nsSel = sm.spec?.namespaceSelector;
    const namespaces = nsSel?.any ? null : nsSel?.matchNames ?? [nsOf(sm)];
    const services = m.kind("Service").filter((s) => (!namespaces || namespaces.includes(nsOf(s))) && matchLabels(sm.spec?.selector ?? {}, s.metadata?.labels ?? {}));
    if (services.length === 0) m.error(`${where}: selects no Service`);
    for (const ep of sm.spec?.endpoints ?? []) {
      if (!ep.port) {
        m.error(`${where}: endpoint without a port name`);
        continue;
      }
      const withPort = services.filter((s) => (s.spec?.ports ?? []).some((p) => p.name === ep.port));
      if (withPort.length === 0) m.error(`${where}: endpoint port "${ep.port}" is no port name of the selected Services`);
      if ((ep.path ?? "/metrics") !== "/metrics") m.error(`${where}: endpoint path ${ep.path}: sheetsync serves /metrics`);
      if (ep.scheme && ep.scheme !== "http") m.error(`${where}: scheme ${ep.scheme}: metrics are plain HTTP`);
      for (const s of withPort) {
        const sp = s.spec.ports.find((p) => p.name === ep.port);
        for (const pod of m.podsSelectedByMap(s.spec?.selector, nsOf(s))) {
          const a = pod.containers.find((x) => x.svc);
          const port = m.targetPortOn(sp, pod);
          if (!a) continue;
          if (port !== a.metricsPort) {
            m.error(`${where}: endpoint "${ep.port}" of Service ${s.metadata.name} reaches port ${port} of ${pod.id}; sheetsync-${a.svc} serves /metrics on ${a.metricsPort}`);
          } else {
            scraped.add(`${pod.id}:${port}`);
            needed.push({ src: { synthetic: true, ns: PROMETHEUS_NS, labels: {} }, dst: pod, port, why: "Prometheus scrape" });
          }
        }
      }
    }
  }
  for (const pod of m.pods.filter((p) => p.longRunning)) {
    for (const a of pod.containers.filter((x) => x.svc)) {
      if (a.metricsPort && !scraped.has(`${pod.id}:${a.metricsPort}`)) {
        m.error(`${pod.id}: /metrics of sheetsync-${a.svc} (port ${a.metricsPort}) is scraped by no ServiceMonitor`);
      }
    }
  }
}

function checkMigrationJob(m) {
  const writers = m.pods.filter((p) => p.longRunning && p.services.has("writer"));
  if (writers.length === 0) return;
  const jobs = m.pods.filter((p) => p.owner.kind === "Job" && p.containers.some((a) => a.svc === "writer" && a.flags.get("migrate_only") === "true"));
  if (jobs.length === 0) {
    m.error("no Job runs sheetsync-writer --migrate_only (schema migrations before the writers start)");
    return;
  }
  const mysqlEnv = (a) => JSON.stringify([...a.env].filter(([k]) => /^SHEETSYNC_(MYSQL_|TABLES$)/.test(k))
    .map(([k, v]) => [k, v.value ?? v.from]).sort());
  const writer = writers[0].containers.find((a) => a.svc === "writer");
  for (const job of jobs) {
    const a = job.containers.find((x) => x.svc === "writer");
    if (mysqlEnv(a) !== mysqlEnv(writer)) m.error(`${job.id}: its MySQL settings differ from ${writers[0].id}'s`);
    if (!["Never", "OnFailure"].includes(job.spec.restartPolicy)) m.error(`${job.id}: restartPolicy must be Never or OnFailure`);
    if (!(job.owner.spec?.backoffLimit >= 1)) m.error(`${job.id}: backoffLimit must allow retries while MySQL comes up`);
  }
}

function checkSecrets(m, ctx) {
  for (const s of m.kind("Secret")) {
    for (const [k, v] of Object.entries({ ...s.data, ...s.stringData })) {
      if (!/pass|token|secret|key|cert/i.test(k)) continue; // e.g. a user name
      const text = s.stringData?.[k] !== undefined ? String(v) : Buffer.from(String(v), "base64").toString("utf8");
      if (!/not-a-secret/.test(text)) {
        m.error(`${id(s)}: key ${k} holds a value that is not obviously fake; real secrets are created out of band (secret-templates.yaml)`);
      }
    }
  }
  if (ctx.production && m.kind("Secret").length) m.error(`a production render contains Secrets: ${m.kind("Secret").map(id).join(", ")}`);
}

function checkImages(m, ctx) {
  if (!ctx.overlay) return;
  for (const pod of m.pods) {
    for (const a of pod.containers) {
      const image = a.c.image ?? "";
      const tag = /@sha256:/.test(image) ? "digest" : /:([\w.-]+)$/.exec(image.split("/").pop())?.[1];
      if (!tag || tag === "latest") m.error(`${a.where}: image ${image} needs a fixed tag or digest`);
    }
  }
}

function checkNetwork(m, needed) {
  const pol = new Policies(m);
  if (pol.list.length === 0) {
    m.error("no NetworkPolicy");
    return;
  }
  const dns = { synthetic: true, ns: "kube-system", labels: { "k8s-app": "kube-dns" }, ports: [] };
  const outside = { synthetic: true, ns: "sheetsync-outside-probe", labels: {} };
  const internet = { ip: "203.0.113.7", ports: [] };
  const key = (src, dst, port) => `${src.id ?? `${src.ns}/*`}>${dst.id}:${port}`;
  const need = new Set();
  for (const n of needed) {
    if (n.external) continue;
    need.add(key(n.src, n.dst, n.port));
    if (!pol.allowed(n.src, n.dst, n.port)) {
      m.error(`NetworkPolicies block ${n.src.id ?? `namespace ${n.src.ns}`} -> ${n.dst.id}:${n.port}, which ${n.why} needs`);
    }
  }
  for (const pod of m.pods) {
    if (!pol.allowed(pod, dns, 53, "UDP")) m.error(`NetworkPolicies block DNS (UDP 53 to kube-dns) for ${pod.id}`);
    if (pol.allowed(pod, internet, 443)) m.error(`${pod.id} may open connections to any address (no egress policy)`);
    // Nothing but the gateway's port is reachable from another namespace.
    for (const p of pod.ports) {
      const gatewayPort = pod.containers.some((a) => a.svc === "gateway" && a.listen?.port === p.port);
      if (!gatewayPort && pol.allowed(outside, pod, p.port)) {
        m.error(`${pod.id}:${p.port} (${p.name}) is reachable from outside the namespace (only the gateway may be)`);
      }
      if (gatewayPort && !pol.allowed({ ...outside, ns: INGRESS_CONTROLLER_NS }, pod, p.port)) {
        m.error(`${pod.id}:${p.port}: the gateway is not reachable from the Ingress controller's namespace ${INGRESS_CONTROLLER_NS}`);
      }
    }
    // Inside the namespace, exactly the connections some flag needs.
    for (const dst of m.pods) {
      if (dst === pod) continue;
      for (const p of dst.ports) {
        if (pol.allowed(pod, dst, p.port) && !need.has(key(pod, dst, p.port))) {
          m.error(`NetworkPolicies allow ${pod.id} -> ${dst.id}:${p.port} (${p.name}), which no flag needs`);
        }
      }
    }
  }
  // The MySQL port: only the writer binary (Deployment and migration Job) may leave for it.
  const mysqlPorts = new Set(needed.filter((n) => n.why.startsWith("MySQL")).map((n) => n.port));
  for (const port of mysqlPorts) {
    for (const pod of m.pods) {
      const isWriter = pod.services.has("writer");
      const rules = pol.egressRulesForPort(pod, port);
      const external = rules.some(({ rule }) => !rule.to || rule.to.length === 0 || rule.to.some((peer) => peer.ipBlock || peer.namespaceSelector));
      if (!isWriter && external) m.error(`${pod.id} (not the writer) may connect to MySQL port ${port} outside the namespace`);
      if (!isWriter && m.pods.some((dst) => dst !== pod && dst.ports.some((p) => p.port === port) && pol.allowed(pod, dst, port))) {
        m.error(`${pod.id} (not the writer) may connect to the MySQL pod`);
      }
    }
  }
  for (const n of needed.filter((x) => x.external)) {
    const rules = pol.egressRulesForPort(n.src, n.port);
    if (pol.selecting(n.src, "Egress").length && !rules.some(({ rule }) => !rule.to || rule.to.some((peer) => peer.ipBlock || peer.namespaceSelector))) {
      m.error(`NetworkPolicies block ${n.src.id} -> ${n.why} (no egress rule for port ${n.port} outside the namespace)`);
    }
  }
}

export { SERVICES };
