# Whoever requested the change or triggers the deployment cannot be the one who approved it.
package slipway.gate.no_self_approval

import rego.v1

deny contains msg if {
	some approval in input.change.approvals
	approval.approver in {input.change.requester, input.actor.name}
	msg := sprintf("%s approved change %s and also requested or triggered it", [approval.approver, input.change.id])
}
