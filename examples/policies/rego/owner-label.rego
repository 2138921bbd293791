package org.ownerlabel

# An older policy in Rego v0 syntax (no `if`, no `contains`): its sidecar file
# owner-label.meta.yaml says `rego_version: v0`.

deny[msg] {
	not input.object.metadata.labels.owner
	msg := sprintf("%s %s has no owner label", [input.object.kind, input.object.metadata.name])
}
