package main

import (
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/jobs"
)

// reviewPolicy is the review section as a run applies it: due days from
// the SLA and the tolerance rules.
func reviewPolicy(c config.Review) *jobs.ReviewPolicy {
	p := &jobs.ReviewPolicy{DefaultDays: c.DefaultDays}
	for _, t := range c.SLA {
		p.SLA = append(p.SLA, jobs.SLATier{MinAmount: t.MinAmountFen, Days: t.Days})
	}
	for _, t := range c.Tolerances {
		p.Tolerances = append(p.Tolerances, jobs.ToleranceRule{Name: t.Name, Accounts: t.Accounts, Classes: t.Classes,
			MaxPerLine: t.MaxPerLineFen, DailyMaxCount: t.DailyMaxCount, DailyMaxAmount: t.DailyMaxAmountFen})
	}
	return p
}
