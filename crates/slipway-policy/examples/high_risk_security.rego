# A high- or critical-risk change needs an approval from someone in the security group.
package slipway.gate.high_risk_security

import rego.v1

security_approvers contains approval.approver if {
	some approval in input.change.approvals
	"security" in approval.groups
}

deny contains msg if {
	input.change.risk.level in {"high", "critical"}
	count(security_approvers) == 0
	msg := sprintf("change %s is %s risk and has no approval from the security group", [input.change.id, input.change.risk.level])
}

deny contains "the rollout has no change request" if {
	input.change == null
}

warn contains msg if {
	input.change.risk.level == "medium"
	count(security_approvers) == 0
	msg := sprintf("change %s is medium risk; consider a security review", [input.change.id])
}
