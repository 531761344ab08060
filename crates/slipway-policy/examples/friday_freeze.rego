# No production deploys on Friday from 16:00 UTC.
package slipway.gate.friday_freeze

import rego.v1

now_ns := time.parse_rfc3339_ns(input.now)

deny contains msg if {
	input.rollout.environment == "production"
	time.weekday(now_ns) == "Friday"
	[hour, _, _] := time.clock(now_ns)
	hour >= 16
	msg := sprintf("no production deploys on Friday after 16:00 UTC (now is %s)", [input.now])
}
