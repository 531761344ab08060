# The artifact must be signed and have no critical vulnerabilities; high ones are reported.
package slipway.gate.signed_artifact

import rego.v1

artifact := input.rollout.artifact

deny contains msg if {
	not artifact.signed
	msg := sprintf("artifact %s is not signed", [artifact.digest])
}

deny contains msg if {
	artifact.vulnerabilities.critical > 0
	msg := sprintf("artifact %s has %d critical vulnerabilities", [artifact.digest, artifact.vulnerabilities.critical])
}

warn contains msg if {
	artifact.vulnerabilities.high > 0
	msg := sprintf("artifact %s has %d high vulnerabilities", [artifact.digest, artifact.vulnerabilities.high])
}
