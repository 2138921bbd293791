# METADATA
# title: Containers must not run privileged
# description: >-
#   A privileged container has every capability of the host and can take it over.
# custom:
#   id: ORG001
#   severity: critical
#   category: pod-security
#   remediation: Remove securityContext.privileged or set it to false.
#   frameworks:
#     cis: ["5.2.2"]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, Job]
package org.privileged

import rego.v1

pod_spec := input.object.spec if input.object.kind == "Pod"

pod_spec := input.object.spec.template.spec if input.object.kind != "Pod"

prefix := "spec" if input.object.kind == "Pod"

prefix := "spec.template.spec" if input.object.kind != "Pod"

deny contains {"msg": msg, "path": path} if {
	some i, c in pod_spec.containers
	c.securityContext.privileged == true
	msg := sprintf("container %s runs privileged", [c.name])
	path := sprintf("%s.containers[%d].securityContext.privileged", [prefix, i])
}
