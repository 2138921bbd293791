# METADATA
# title: Every namespace with workloads has a ResourceQuota
# description: >-
#   A cross-resource policy: it reads the other objects of the scan from
#   data.kspm.resources[kind][namespace][name], and the workload's Namespace
#   object from input.namespace.
# custom:
#   id: ORG003
#   severity: medium
#   category: workload
#   remediation: Add a ResourceQuota to the namespace.
#   kinds: [Deployment]
package org.namespacequota

import rego.v1

ns := input.object.metadata.namespace

deny contains {"msg": msg, "path": "metadata.namespace"} if {
	ns
	not input.namespace.metadata.labels["quota.example.com/exempt"] == "true"
	count(object.get(data.kspm.resources, ["ResourceQuota", ns], {})) == 0
	msg := sprintf("namespace %s has workloads but no ResourceQuota", [ns])
}
