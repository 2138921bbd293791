#!/usr/bin/env python3
"""Generates custom policies for the policy benchmark: N Rego files and N CEL policies.

The policies are the kind users write: walk every container of a pod spec (images, registries,
privileged, host ports, resources), read labels and annotations, compare replica counts. Each one
is a variation of five shapes with its own parameters (index i), so no two are identical. About
half judge workloads only (as most real policies do), the rest every object.

usage: gen_policies.py COUNT OUT_DIR   (writes OUT_DIR/rego/*.rego and OUT_DIR/cel/*.yaml)
"""
import os
import sys

REGO_HELPERS = """
pod_spec := input.object.spec if input.object.kind == "Pod"

pod_spec := input.object.spec.template.spec if input.object.kind in {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}

pod_spec := input.object.spec.jobTemplate.spec.template.spec if input.object.kind == "CronJob"

containers contains c if some c in pod_spec.containers

containers contains c if some c in pod_spec.initContainers
"""

WORKLOADS = "[Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob]"


def rego(i):
    shape = i % 5
    head = f"""# METADATA
# title: Benchmark Rego policy {i}
# custom:
#   id: BR{i:03d}
#   severity: {["low", "medium", "high"][i % 3]}
#   category: custom
"""
    if shape == 0:
        return head + f"""#   kinds: {WORKLOADS}
package bench.r{i}

import rego.v1
{REGO_HELPERS}
deny contains msg if {{
	some c in containers
	startswith(c.image, "registry-{i}.invalid/")
	msg := sprintf("container %s pulls from a banned registry", [c.name])
}}
"""
    if shape == 1:
        return head + f"""package bench.r{i}

import rego.v1

deny contains msg if {{
	some key, _ in object.get(input.object.metadata, "annotations", {{}})
	key == "bench.example.com/forbidden-{i}"
	msg := "forbidden annotation"
}}
"""
    if shape == 2:
        return head + f"""#   kinds: {WORKLOADS}
package bench.r{i}

import rego.v1
{REGO_HELPERS}
deny contains {{"msg": msg, "path": "metadata.labels"}} if {{
	not input.object.metadata.labels.app
	msg := sprintf("%s has no app label", [input.object.metadata.name])
}}

deny contains msg if {{
	some c in containers
	endswith(c.image, ":latest")
	msg := sprintf("container %s uses a latest tag ({i})", [c.name])
}}
"""
    if shape == 3:
        return head + f"""#   kinds: {WORKLOADS}
package bench.r{i}

import rego.v1
{REGO_HELPERS}
deny contains msg if {{
	some c in containers
	some p in object.get(c, "ports", [])
	p.hostPort == {30000 + i}
	msg := sprintf("container %s binds host port %d", [c.name, p.hostPort])
}}
"""
    return head + f"""package bench.r{i}

import rego.v1

deny contains {{"msg": msg, "path": "spec.replicas"}} if {{
	input.object.spec.replicas > {100 + i}
	msg := sprintf("%d replicas", [input.object.spec.replicas])
}}
"""


CEL_CONTAINERS = (
    "object.kind == 'Pod' ? object.spec.containers : "
    "(object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec.containers : "
    "object.spec.template.spec.containers)"
)


def cel(i):
    shape = i % 5
    head = f"""apiVersion: kspm.io/v1alpha1
kind: CELPolicy
metadata:
  name: bench-cel-{i}
spec:
  id: BC{i:03d}
  title: Benchmark CEL policy {i}
  severity: {["low", "medium", "high"][i % 3]}
"""
    workloads = "  match:\n    kinds: [Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob]\n"
    variables = f"  variables:\n    - name: containers\n      expression: \"{CEL_CONTAINERS}\"\n"
    if shape == 0:
        return head + workloads + variables + f"""  validations:
    - expression: "variables.containers.all(c, !c.image.startsWith('registry-{i}.invalid/'))"
      message: a container pulls from a banned registry
"""
    if shape == 1:
        return head + f"""  validations:
    - expression: "!has(object.metadata.annotations) || !('bench.example.com/forbidden-{i}' in object.metadata.annotations)"
      message: forbidden annotation
"""
    if shape == 2:
        return head + workloads + variables + f"""  validations:
    - expression: "has(object.metadata.labels) && 'app' in object.metadata.labels"
      messageExpression: "object.metadata.name + ' has no app label'"
      fieldPath: metadata.labels
    - expression: "variables.containers.all(c, !c.image.endsWith(':latest'))"
      message: a container uses a latest tag ({i})
"""
    if shape == 3:
        return head + workloads + variables + f"""  validations:
    - expression: "variables.containers.all(c, !has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort != {30000 + i}))"
      message: a container binds a banned host port
"""
    return head + f"""  matchConstraints:
    resourceRules:
      - apiGroups: ["apps"]
        apiVersions: ["*"]
        resources: ["deployments", "statefulsets"]
  validations:
    - expression: "!has(object.spec.replicas) || object.spec.replicas <= {100 + i}"
      message: too many replicas
      fieldPath: spec.replicas
"""


def main():
    count, out = int(sys.argv[1]), sys.argv[2]
    for sub in ("rego", "cel"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    for i in range(count):
        with open(os.path.join(out, "rego", f"bench{i:03d}.rego"), "w") as f:
            f.write(rego(i))
        with open(os.path.join(out, "cel", f"bench{i:03d}.yaml"), "w") as f:
            f.write(cel(i))


if __name__ == "__main__":
    main()
