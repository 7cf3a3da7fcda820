// NetworkPolicy semantics (networking.k8s.io/v1) over the model: may `src` open a connection to
// `dst` on `port`? Pods are rendered pod templates; peers outside the render are synthetic
// pods ({ns, labels, synthetic: true}) or addresses ({ip}). ipBlock peers match addresses only.
import { matchLabels, nsOf } from "./model.mjs";

function ipv4ToInt(ip) {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((n) => !(n >= 0 && n <= 255))) return null;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function cidrContains(cidr, ip) {
  const [net, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  const a = ipv4ToInt(net);
  const b = ipv4ToInt(ip);
  if (a === null || b === null) return false;
  if (bits === 0) return true;
  const mask = (~0 << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

function policyTypes(p) {
  if (p.spec?.policyTypes) return p.spec.policyTypes;
  return p.spec?.egress ? ["Ingress", "Egress"] : ["Ingress"];
}

function portMatches(rulePorts, port, protocol, dst) {
  if (!rulePorts || rulePorts.length === 0) return true;
  return rulePorts.some((rp) => {
    if ((rp.protocol ?? "TCP") !== protocol) return false;
    if (rp.port === undefined) return true;
    if (typeof rp.port === "number") return rp.endPort ? port >= rp.port && port <= rp.endPort : port === rp.port;
    return (dst.ports ?? []).some((p) => p.name === rp.port && p.port === port);
  });
}

export class Policies {
  constructor(model) {
    this.model = model;
    this.list = model.kind("NetworkPolicy");
  }

  selecting(pod, type) {
    if (pod.synthetic || pod.ip) return [];
    return this.list.filter((p) => nsOf(p) === pod.ns && policyTypes(p).includes(type) &&
      matchLabels(p.spec?.podSelector ?? {}, pod.labels));
  }

  peerMatches(peer, policyNs, target) {
    if (peer.ipBlock) {
      if (!target.ip) return false;
      return cidrContains(peer.ipBlock.cidr, target.ip) &&
        !(peer.ipBlock.except ?? []).some((c) => cidrContains(c, target.ip));
    }
    if (target.ip) return false;
    const nsOk = peer.namespaceSelector
      ? matchLabels(peer.namespaceSelector, target.nsLabels ?? this.model.nsLabels(target.ns))
      : target.ns === policyNs;
    const podOk = peer.podSelector ? matchLabels(peer.podSelector, target.labels) : true;
    return nsOk && podOk;
  }

  egressAllowed(src, dst, port, protocol) {
    const pols = this.selecting(src, "Egress");
    if (src.synthetic || pols.length === 0) return true;
    return pols.some((p) => (p.spec.egress ?? []).some((r) => portMatches(r.ports, port, protocol, dst) &&
      (!r.to || r.to.length === 0 || r.to.some((peer) => this.peerMatches(peer, nsOf(p), dst)))));
  }

  ingressAllowed(src, dst, port, protocol) {
    if (dst.ip) return true;
    const pols = this.selecting(dst, "Ingress");
    if (dst.synthetic || pols.length === 0) return true;
    return pols.some((p) => (p.spec.ingress ?? []).some((r) => portMatches(r.ports, port, protocol, dst) &&
      (!r.from || r.from.length === 0 || r.from.some((peer) => this.peerMatches(peer, nsOf(p), src)))));
  }

  allowed(src, dst, port, protocol = "TCP") {
    return this.egressAllowed(src, dst, port, protocol) && this.ingressAllowed(src, dst, port, protocol);
  }

  // Egress rules of policies selecting `pod` that allow `port` at all (any peer).
  egressRulesForPort(pod, port, protocol = "TCP") {
    return this.selecting(pod, "Egress").flatMap((p) => (p.spec.egress ?? [])
      .filter((r) => portMatches(r.ports, port, protocol, { ports: [] }))
      .map((r) => ({ policy: p, rule: r })));
  }
}
