# --combine: input is a list of {"path", "contents"} for every document.
package combined

import rego.v1

deployments := {name | some doc in input; doc.contents.kind == "Deployment"; name := doc.contents.metadata.name}

services := {name | some doc in input; doc.contents.kind == "Service"; name := doc.contents.spec.selector.app}

deny contains msg if {
	some name in deployments
	not services[name]
	msg := sprintf("Deployment %s has no Service selecting app=%s", [name, name])
}

warn contains msg if {
	count(input) > 3
	msg := sprintf("%d documents in the render", [count(input)])
}
