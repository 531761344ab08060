# Every required check must have passed.
package slipway.gate.checks_passed

import rego.v1

deny contains msg if {
	some check in input.checks
	not check.passed
	msg := sprintf("required check %q did not pass", [check.name])
}
