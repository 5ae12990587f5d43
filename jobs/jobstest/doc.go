// Package jobstest is the ground-truth harness shared by the engine's own
// tests (package jobs) and the cross-layer end-to-end tests (package e2e):
// a generated Plan of what happened at a provider and in the ledger, with
// the class every planted item must end in; a Provider that serves the
// plan's scenario without HTTP; a settable Clock; and CheckDay, which
// compares a stored run with the plan (recall, precision, totals, balance,
// one proposed action per repairable item).
//
//	p := jobstest.NewPlan(42, 150)
//	p.Load(t, db)
//	clk := &jobstest.Clock{}
//	clk.RunAfter(jobstest.DayD)
//	run, err := jobstest.NewRunner(t, db, &jobstest.Provider{Sc: p.Sc}, clk, jobs.Options{}).RunDay(ctx, jobstest.Account, jobstest.DayD)
//	jobstest.CheckDay(t, db, p, jobstest.DayD, run)
package jobstest
