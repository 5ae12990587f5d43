package jobs

import (
	"github.com/payrecon/payrecon"
)

// ReviewPolicy is what a run applies to its discrepancies after
// classification: the SLA that sets each one's due day, and the tolerance
// rules. A nil *ReviewPolicy sets nothing.
type ReviewPolicy struct {
	// SLA tiers, highest MinAmount first; the first one the amount at stake
	// reaches gives the days, else DefaultDays (0: no due day).
	SLA         []SLATier
	DefaultDays int
	Tolerances  []ToleranceRule
}

// SLATier is one amount tier of the SLA.
type SLATier struct {
	MinAmount int64 // fen
	Days      int
}

// ToleranceRule tolerates discrepancies of Classes on Accounts (all when
// empty) whose amount at stake (payrecon.ItemAmount) is at most MaxPerLine,
// up to DailyMaxCount items and DailyMaxAmount fen of amount at stake per
// run (an account's day); 0 means no cap.
type ToleranceRule struct {
	Name           string
	Accounts       []string
	Classes        []payrecon.Class
	MaxPerLine     int64
	DailyMaxCount  int
	DailyMaxAmount int64
}

func (t *ToleranceRule) covers(it *payrecon.Item) bool {
	if len(t.Accounts) > 0 && !contains(t.Accounts, it.Account) {
		return false
	}
	return contains(t.Classes, it.Class) && payrecon.ItemAmount(*it) <= t.MaxPerLine
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// apply sets the due day of every discrepancy and marks those a tolerance
// rule covers (the first rule in order whose caps still allow it; items in
// the engine's order, so a re-run tolerates the same ones). Tolerated items
// keep their class and Delta, so the run's balance is unchanged; the run's
// Totals.Tolerated counts them.
func (p *ReviewPolicy) apply(run *payrecon.Run, items []payrecon.Item) {
	run.Totals.Tolerated = payrecon.ClassTotal{}
	if p == nil {
		return
	}
	type used struct{ count, amount int64 }
	caps := make([]used, len(p.Tolerances))
	for i := range items {
		it := &items[i]
		it.Tolerance = ""
		if !it.Class.IsDiscrepancy() {
			continue
		}
		it.DueDay = p.due(run.Day, it)
		amount := payrecon.ItemAmount(*it)
		for j := range p.Tolerances {
			rule := &p.Tolerances[j]
			if !rule.covers(it) {
				continue
			}
			if rule.DailyMaxCount > 0 && caps[j].count+1 > int64(rule.DailyMaxCount) {
				continue
			}
			if rule.DailyMaxAmount > 0 && caps[j].amount+amount > rule.DailyMaxAmount {
				continue
			}
			caps[j].count++
			caps[j].amount += amount
			it.Tolerance = rule.Name
			run.Totals.Tolerated.Count++
			run.Totals.Tolerated.Amount += it.Delta
			break
		}
	}
}

// due is the SLA's due day: counted from the day the item was first seen.
func (p *ReviewPolicy) due(day payrecon.Day, it *payrecon.Item) payrecon.Day {
	from := day
	if it.OriginDay != "" && it.OriginDay < from {
		from = it.OriginDay
	}
	amount := payrecon.ItemAmount(*it)
	for _, t := range p.SLA {
		if amount >= t.MinAmount {
			return from.Add(t.Days)
		}
	}
	if p.DefaultDays <= 0 {
		return ""
	}
	return from.Add(p.DefaultDays)
}
