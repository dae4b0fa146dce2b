# pitrguard: point-in-time recovery on DynamoDB tables in a Terraform plan.
#
# Input: `terraform show -json plan.out` (planned_values + resource_changes).
# Data (optional): {"pitrguard": {"min_recovery_days": N}} — the tier minimum
# for the recovery window; 0 or absent turns the window rule off.
#
#   opa eval -d pitrguard.rego -i plan.json 'data.pitrguard.dynamodb.deny'
#   conftest test --policy . --namespace pitrguard.dynamodb plan.json
#
# It judges, exactly as `pitrguard iac scan` does on plan JSON:
#   - every aws_dynamodb_table (root and child modules): point_in_time_recovery
#     enabled, and recovery_period_in_days (absent/0 = 35) at least the minimum;
#   - every replica {} block of a table: its point_in_time_recovery flag;
#   - every aws_dynamodb_table_replica: its point_in_time_recovery flag.
# A table whose point_in_time_recovery is known only after apply is UNKNOWN
# (reported by `warn`, not `deny`).
#
# What it cannot see: tables created outside Terraform, or changed after apply
# (use `pitrguard audit` and the event handler), and PITR set by a separate
# resource or a provisioner.
package pitrguard.dynamodb

default min_recovery_days := 0

min_recovery_days := data.pitrguard.min_recovery_days if is_number(data.pitrguard.min_recovery_days)

# Module nodes: the root module and every child module, at any depth.
modules contains m if {
	walk(input.planned_values.root_module, [path, m])
	is_module_path(path)
}

is_module_path(path) if count(path) == 0

is_module_path(path) if {
	count(path) >= 2
	path[count(path) - 2] == "child_modules"
}

managed contains r if {
	some m in modules
	some r in m.resources
	object.get(r, "mode", "managed") == "managed"
}

unknown_after(address) := au if {
	some c in input.resource_changes
	c.address == address
	au := object.get(c, ["change", "after_unknown"], {})
} else := {}

truthy(x) if x == true

truthy(x) if x == "true"

pitr_block(r) := b if {
	p := r.values.point_in_time_recovery
	is_array(p)
	count(p) > 0
	b := p[0]
}

# A missing or empty point_in_time_recovery block means disabled.
table_enabled(r) if truthy(object.get(pitr_block(r), "enabled", false))

table_days(r) := d if {
	d := object.get(pitr_block(r), "recovery_period_in_days", 0)
	is_number(d)
	d > 0
} else := 35

table_verdict(r) := ["UNKNOWN", "point_in_time_recovery is known only after apply"] if {
	object.get(unknown_after(r.address), "point_in_time_recovery", false) == true
} else := ["FAIL", "point-in-time recovery is not enabled"] if {
	not table_enabled(r)
} else := ["FAIL", sprintf("recovery period is %d days, below the minimum of %d", [table_days(r), min_recovery_days])] if {
	min_recovery_days > 0
	table_days(r) < min_recovery_days
} else := ["PASS", ""]

flag_verdict(v) := ["PASS", ""] if truthy(v) else := ["FAIL", "point-in-time recovery is not enabled"]

replica_region(rep, i) := rep.region_name if is_string(rep.region_name) else := sprintf("replica[%d]", [i])

# findings maps "address|replica region" to [verdict, reason]; the region is
# empty for the table itself and for aws_dynamodb_table_replica.
findings[key] := v if {
	some r in managed
	r.type == "aws_dynamodb_table"
	key := sprintf("%s|", [r.address])
	v := table_verdict(r)
}

findings[key] := v if {
	some r in managed
	r.type == "aws_dynamodb_table"
	reps := r.values.replica
	is_array(reps)
	some i, rep in reps
	key := sprintf("%s|%s", [r.address, replica_region(rep, i)])
	v := flag_verdict(object.get(rep, "point_in_time_recovery", false))
}

findings[key] := v if {
	some r in managed
	r.type == "aws_dynamodb_table_replica"
	key := sprintf("%s|", [r.address])
	v := flag_verdict(object.get(r.values, "point_in_time_recovery", false))
}

deny contains msg if {
	some key, v in findings
	v[0] == "FAIL"
	msg := sprintf("%s: %s (pitrguard/pitr-enabled)", [trim_suffix(key, "|"), v[1]])
}

warn contains msg if {
	some key, v in findings
	v[0] == "UNKNOWN"
	msg := sprintf("%s: %s; check it after apply with pitrguard audit", [trim_suffix(key, "|"), v[1]])
}
