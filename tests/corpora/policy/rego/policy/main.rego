# Shared corpus: evaluated by conftest and by testbed's engines; results must be identical.
package main

import rego.v1

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet"}

containers contains c if {
	workload_kinds[input.kind]
	some c in input.spec.template.spec.containers
}

deny contains msg if {
	some c in containers
	endswith(c.image, ":latest")
	msg := sprintf("%s/%s: container %s uses a latest image", [input.kind, input.metadata.name, c.name])
}

deny contains {"msg": msg, "details": {"container": c.name}} if {
	some c in containers
	not c.resources.limits.memory
	msg := sprintf("%s/%s: container %s has no memory limit", [input.kind, input.metadata.name, c.name])
}

violation_replicas contains msg if {
	input.kind == "Deployment"
	input.spec.replicas > 5
	msg := sprintf("Deployment/%s: %d replicas is more than 5", [input.metadata.name, input.spec.replicas])
}

warn contains msg if {
	input.kind == "Service"
	input.spec.type == "NodePort"
	msg := sprintf("Service/%s is a NodePort", [input.metadata.name])
}

warn_labels contains msg if {
	not input.metadata.labels.team
	msg := sprintf("%s/%s has no team label", [input.kind, input.metadata.name])
}

# conftest exceptions: the names are the rule names without the deny_/violation_/warn_ prefix.
exception contains rules if {
	input.kind == "Deployment"
	input.metadata.name == "legacy"
	rules := ["replicas"]
}

exception contains rules if {
	input.metadata.annotations["example.com/no-team"] == "true"
	rules := ["labels"]
}
