package k8s.extra

import rego.v1

deny_privileged contains msg if {
	some c in input.spec.template.spec.containers
	c.securityContext.privileged == true
	msg := sprintf("%s/%s: container %s is privileged", [input.kind, input.metadata.name, c.name])
}

warn contains msg if {
	input.kind == "ConfigMap"
	count(object.keys(input.data)) > 2
	msg := sprintf("ConfigMap/%s has %d keys", [input.metadata.name, count(object.keys(input.data))])
}
