package evidence

import (
	"maps"
	"slices"
)

// controlMap is the control mapping of section 8 (SOC 2 2017 Trust Services
// Criteria, revised points of focus 2022; HIPAA Security Rule). Shows says
// what this report shows for the control, not that the control is met:
// that judgement is the auditor's.
var controlMap = []Control{
	{Framework: "SOC 2", ID: "A1.2", Title: "Environmental protections, software, data back-up processes, and recovery infrastructure",
		Shows:    "Which DynamoDB tables have point-in-time recovery (and AWS Backup where required) against each tier's requirement, which do not and since when, and the exceptions",
		Sections: []string{"scope", "kpis", "findings", "exceptions", "backup"}},
	{Framework: "SOC 2", ID: "A1.3", Title: "Recovery plan procedures supporting system recovery are tested",
		Shows:    "Restore drills run in the period with their checks and timings, and the protected tables never drilled",
		Sections: []string{"drills"}},
	{Framework: "SOC 2", ID: "CC7.2", Title: "Monitoring of system components for anomalies",
		Shows:    "Audits repeated over the period and their trend, tables found unprotected and for how long, the event handler's reactions, and the guardrails in place",
		Sections: []string{"trend", "findings", "changes", "guardrails"}},
	{Framework: "SOC 2", ID: "CC7.5", Title: "Recovery from identified incidents",
		Shows:    "Changes made to restore protection (who, when, before and after) and the restores performed",
		Sections: []string{"changes", "drills"}},
	{Framework: "HIPAA", ID: "§164.308(a)(7)(ii)(A)", Title: "Data backup plan",
		Shows:    "The protection each table must have (tiers, minimum recovery window), the protection it has, and the exceptions with owner and expiry",
		Sections: []string{"scope", "kpis", "findings", "exceptions", "backup"}},
	{Framework: "HIPAA", ID: "§164.308(a)(7)(ii)(B)", Title: "Disaster recovery plan",
		Shows:    "Restores performed and restore drills, with the time a restore took (MTTR median and p90)",
		Sections: []string{"drills", "changes", "kpis.mttr"}},
	{Framework: "HIPAA", ID: "§164.308(a)(7)(ii)(D)", Title: "Testing and revision procedures",
		Shows:    "Restore drills and their results over the period, and the audits that re-check the estate",
		Sections: []string{"drills", "trend"}},
	{Framework: "HIPAA", ID: "§164.310(d)(2)(iv)", Title: "Data backup and storage",
		Shows:    "Continuous backups (PITR) and AWS Backup coverage of the tables, with their cost",
		Sections: []string{"kpis", "backup"}},
}

// sectionMeasured says which sections hold data; "kpis.mttr" is the MTTR
// part of the KPIs, measured by drills alone (the other KPIs come from audits
// and say nothing about recovery).
func (r *Report) sectionMeasured() map[string]bool {
	return map[string]bool{"scope": r.Scope.Measured, "kpis": r.KPIs.Measured, "kpis.mttr": r.KPIs.MTTR.Measured, "trend": r.Trend.Measured,
		"findings": r.Findings.Measured, "exceptions": r.Exceptions.Measured, "drills": r.Drills.Measured,
		"changes": r.Changes.Measured, "guardrails": r.Guardrails.Measured, "backup": r.Backup.Measured}
}

func (b *builder) controls() {
	m := b.r.sectionMeasured()
	rows := make([]Control, 0, len(controlMap))
	for _, c := range controlMap {
		c.Sections = slices.Clone(c.Sections)
		c.Measured = []string{}
		for _, s := range c.Sections {
			if m[s] {
				c.Measured = append(c.Measured, s)
			}
		}
		rows = append(rows, c)
	}
	b.r.Controls = Controls{Rows: rows, Status: measured("each control with the sections of this report that evidence it; measured lists those that hold data. " +
		"The wording says what the report shows, not whether a control is met")}
	if !slices.Contains(slices.Collect(maps.Values(m)), true) {
		b.r.Controls.Status = notMeasured("no section holds data, so no control is evidenced; run `pitrguard audit` and `pitrguard drill`")
	}
}
