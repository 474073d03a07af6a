# regopy (rego-cpp) crashes natively on `with` combined with a builtin; OPA evaluates this fine.
package main

import rego.v1

kind_length := count(input.kind)

deny contains msg if {
	n := kind_length with input as {"kind": "Replaced"}
	n > 100
	msg := "unreachable"
}
