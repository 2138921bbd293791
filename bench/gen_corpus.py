#!/usr/bin/env python3
"""Generates a realistic, deterministic corpus of Kubernetes manifests for benchmarks.

Mix (per 100 resources, roughly what an application cluster holds): Deployments, StatefulSets,
DaemonSets, CronJobs, Jobs and Pods with varied container counts and security contexts, plus
Services, ConfigMaps, ServiceAccounts, Ingresses, PodDisruptionBudgets, NetworkPolicies,
Namespaces, RBAC objects and an occasional deprecated apiVersion. About a quarter of the
workloads carry the mistakes kspm looks for, so the rules do real work.

usage: gen_corpus.py COUNT OUT_DIR [--per-file 100] [--seed 1]
"""
import argparse
import os
import random

WORKLOADS = ["Deployment", "Deployment", "Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "Pod"]
IMAGES = ["nginx:1.27.2", "ghcr.io/acme/api:v2.3.1", "redis:7.4", "busybox", "registry.local:5000/tool",
          "quay.io/prometheus/node-exporter:v1.8.2", "postgres:16@sha256:" + "ab" * 32, "acme/worker:latest"]


def container(rng, name, bad):
    lines = [f"- name: {name}", f"  image: {rng.choice(IMAGES)}"]
    if rng.random() < 0.7:
        lines.append("  imagePullPolicy: IfNotPresent")
    lines += ["  ports:", f"  - containerPort: {rng.choice([80, 8080, 9090, 5432, 22])}", "    protocol: TCP"]
    if rng.random() < 0.3 or bad:
        lines += ["  env:", "  - name: LOG_LEVEL", "    value: info"]
        if bad and rng.random() < 0.3:
            lines += ["  - name: DB_PASSWORD", "    value: s3cr3t-" + str(rng.randint(1000, 9999))]
        if rng.random() < 0.3:
            lines += ["  - name: API_TOKEN", "    valueFrom:", "      secretKeyRef: {name: api, key: token}"]
    if rng.random() < 0.75:
        lines += ["  resources:", "    requests: {cpu: 100m, memory: 128Mi}", "    limits: {cpu: 500m, memory: 256Mi}"]
    if rng.random() < 0.6:
        lines += ["  livenessProbe:", "    httpGet: {path: /healthz, port: 8080}", "  readinessProbe:",
                  "    httpGet: {path: /ready, port: 8080}"]
    sc = []
    if bad:
        sc += rng.sample(["  privileged: true", "  allowPrivilegeEscalation: true", "  runAsUser: 0",
                          "  capabilities: {add: [SYS_ADMIN, NET_RAW]}", "  procMount: Unmasked",
                          "  readOnlyRootFilesystem: false"], k=2)
    elif rng.random() < 0.6:
        sc += ["  allowPrivilegeEscalation: false", "  readOnlyRootFilesystem: true", "  runAsNonRoot: true",
               "  capabilities: {drop: [ALL]}", "  seccompProfile: {type: RuntimeDefault}"]
    if sc:
        lines.append("  securityContext:")
        lines += ["  " + s for s in sc]
    lines += ["  volumeMounts:", "  - {name: data, mountPath: /data}"]
    return lines


def pod_spec(rng, app, bad, indent):
    lines = []
    if bad:
        lines += rng.sample(["hostNetwork: true", "hostPID: true", "hostIPC: true", "shareProcessNamespace: true"], k=1)
    if rng.random() < 0.5:
        lines.append(f"serviceAccountName: {app}")
        lines.append("automountServiceAccountToken: false")
    if rng.random() < 0.4:
        lines += ["securityContext:", "  runAsNonRoot: true", "  fsGroup: 2000"]
    if rng.random() < 0.2:
        lines += ["initContainers:"] + ["  " + l for l in container(rng, "init", False)]
    lines.append("containers:")
    for i in range(rng.choice([1, 1, 1, 2, 3])):
        lines += ["  " + l for l in container(rng, f"c{i}", bad and i == 0)]
    lines.append("volumes:")
    if bad and rng.random() < 0.5:
        lines.append("- {name: data, hostPath: {path: /var/run/docker.sock}}")
    else:
        lines.append("- {name: data, emptyDir: {}}")
    pad = " " * indent
    return [pad + l for l in lines]


def workload(rng, kind, name, ns, bad):
    api = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "CronJob": "batch/v1",
           "Job": "batch/v1", "Pod": "v1"}[kind]
    if kind == "Deployment" and rng.random() < 0.02:
        api = "extensions/v1beta1"
    out = [f"apiVersion: {api}", f"kind: {kind}", "metadata:", f"  name: {name}", f"  namespace: {ns}",
           "  labels:", f"    app: {name}", "    team: platform"]
    if rng.random() < 0.3:
        out += ["  annotations:", "    example.com/owner: team-a", f"    example.com/revision: \"{rng.randint(1, 99)}\""]
    if kind == "Pod":
        out.append("spec:")
        out += pod_spec(rng, name, bad, 2)
        return out
    if kind == "CronJob":
        out += ["spec:", "  schedule: \"*/5 * * * *\"", "  jobTemplate:", "    spec:", "      template:",
                "        metadata:", f"          labels: {{app: {name}}}", "        spec:",
                "          restartPolicy: OnFailure"]
        out += pod_spec(rng, name, bad, 10)
        return out
    out.append("spec:")
    if kind in ("Deployment", "StatefulSet"):
        out.append(f"  replicas: {rng.choice([1, 2, 3, 5])}")
    if kind != "Job":
        out += ["  selector:", f"    matchLabels: {{app: {name}}}"]
    out += ["  template:", "    metadata:", f"      labels: {{app: {name}, team: platform}}", "    spec:"]
    if kind == "Job":
        out.append("      restartPolicy: Never")
    out += pod_spec(rng, name, bad, 6)
    return out


def other(rng, i, ns):
    name = f"obj{i}"
    choice = rng.random()
    if choice < 0.30:
        t = rng.choice(["ClusterIP", "ClusterIP", "ClusterIP", "NodePort", "LoadBalancer"])
        return ["apiVersion: v1", "kind: Service", "metadata:", f"  name: {name}", f"  namespace: {ns}", "spec:",
                f"  type: {t}", f"  selector: {{app: app{i - 1}}}", "  ports:", "  - port: 80", "    targetPort: 8080"]
    if choice < 0.50:
        return ["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}", f"  namespace: {ns}", "data:",
                "  LOG_LEVEL: info", "  FEATURE_FLAGS: a,b,c", "  config.yaml: |", "    server:", "      port: 8080"]
    if choice < 0.62:
        return ["apiVersion: v1", "kind: ServiceAccount", "metadata:", f"  name: {name}", f"  namespace: {ns}",
                f"automountServiceAccountToken: {rng.choice(['true', 'false'])}"]
    if choice < 0.72:
        tls = ["  tls:", f"  - hosts: [{name}.example.com]", "    secretName: tls"] if rng.random() < 0.6 else []
        return ["apiVersion: networking.k8s.io/v1", "kind: Ingress", "metadata:", f"  name: {name}",
                f"  namespace: {ns}", "spec:"] + tls + [
                "  rules:", f"  - host: {name}.example.com", "    http:", "      paths:", "      - path: /",
                "        pathType: Prefix", "        backend:", f"          service: {{name: {name}, port: {{number: 80}}}}"]
    if choice < 0.82:
        return ["apiVersion: policy/v1", "kind: PodDisruptionBudget", "metadata:", f"  name: {name}",
                f"  namespace: {ns}", "spec:", "  minAvailable: 1", "  selector:", f"    matchLabels: {{app: app{i - 1}}}"]
    if choice < 0.90:
        return ["apiVersion: networking.k8s.io/v1", "kind: NetworkPolicy", "metadata:", f"  name: {name}",
                f"  namespace: {ns}", "spec:", "  podSelector: {}", "  policyTypes: [Ingress]"]
    if choice < 0.95:
        return ["apiVersion: rbac.authorization.k8s.io/v1", "kind: Role", "metadata:", f"  name: {name}",
                f"  namespace: {ns}", "rules:", "- apiGroups: [\"\"]", "  resources: [pods, configmaps]",
                "  verbs: [get, list, watch]"]
    return ["apiVersion: v1", "kind: Namespace", "metadata:", f"  name: ns-{i}", "  labels:",
            "    pod-security.kubernetes.io/enforce: restricted"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("count", type=int)
    ap.add_argument("out")
    ap.add_argument("--per-file", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    docs = []
    file_no = 0

    def flush():
        nonlocal docs, file_no
        if docs:
            with open(os.path.join(args.out, f"manifests-{file_no:05}.yaml"), "w") as f:
                f.write("\n---\n".join("\n".join(d) for d in docs) + "\n")
            file_no += 1
            docs = []

    # About 200 objects a namespace, as in real clusters (a few namespaces holding thousands of
    # PodDisruptionBudgets each would make the per-namespace rules look slower than they are).
    namespaces = max(5, args.count // 200)
    for i in range(args.count):
        ns = f"team-{i % namespaces}"
        if rng.random() < 0.45:
            kind = rng.choice(WORKLOADS)
            docs.append(workload(rng, kind, f"app{i}", ns, rng.random() < 0.25))
        else:
            docs.append(other(rng, i, ns))
        if len(docs) >= args.per_file:
            flush()
    flush()


if __name__ == "__main__":
    main()
