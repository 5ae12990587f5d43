// Package reports turns reconciliation runs into the files people and
// scripts read: the workbook for finance staff (WriteXLSX), CSV and JSON
// for scripts (WriteCSV, WriteJSON), and the short webhook notification
// sent after a scheduled run (Notifier).
//
// The package never touches the store: callers hand it a Source, whose item
// iterator streams, so a run with a million discrepancies never sits in
// memory. It reads only domain values (runs, items, actions, audit entries);
// none of them carries a key, password or DSN, and free text that could
// (Run.Error) is left out of every report.
package reports

import (
	"errors"
	"fmt"
	"time"

	"github.com/payrecon/payrecon"
)

// Source is what a report is made of.
type Source struct {
	// Runs to report, in report order (the store's LatestRuns order: day,
	// then account). Each carries its Totals (with ByClass) and Bills.
	Runs []payrecon.Run
	// Items streams one run's classified items in a stable order; fn's
	// error stops it and is returned. Required.
	Items func(runID int64, fn func(payrecon.Item) error) error
	// Actions proposed for the runs' discrepancies; joined to items by
	// Item.Key() == Action.DiscrepancyKey. May be nil.
	Actions []payrecon.Action
	// Audit returns one action's audit trail, oldest first. May be nil
	// (the Actions sheet then has no audit summary).
	Audit func(actionID int64) ([]payrecon.AuditEntry, error)

	// ReviewedItems, when set, is used instead of Items: it streams one
	// run's items in the same order, each with its discrepancy's review
	// (the zero Review when it has none: shown as open). WithReviews sets it.
	ReviewedItems func(runID int64, fn func(payrecon.Item, payrecon.Review) error) error
	// ReviewKey signs each Discrepancies row (payrecon.ReviewMAC) so that
	// `payrecon review import` can verify it; nil leaves the identity and
	// checksum cells empty (such rows cannot be imported).
	ReviewKey []byte
	// ReasonCodes are the write-off reasons the 处理状态 drop-down offers.
	ReasonCodes []string
	// Pending are the open and investigating discrepancies of the report's
	// accounts, for the ageing sheet and section, aged at AsOf.
	Pending []payrecon.Review
	AsOf    payrecon.Day
}

// MaxSheetRows is the number of data rows a detail sheet holds below its
// header row: Excel's limit of 1,048,576 rows minus the header.
const MaxSheetRows = 1_048_575

// Options shape a report. The zero value is a Chinese report with Excel's
// row limit.
type Options struct {
	// Lang is "zh" (default) or "en": the language of headers and labels
	// in the workbook. CSV and JSON always use machine names.
	Lang string
	// MaxSheetRows is how many data rows a detail sheet takes before the
	// rows continue on a next sheet ("差异明细 Discrepancies (2)").
	// 0 means MaxSheetRows; larger values are capped to it.
	MaxSheetRows int
	// TmpDir is where the streaming writer spills sheet data (about 0.5 GB
	// per million rows); "" means the system default.
	TmpDir string
	// Now stamps the report's generation time in the summary; nil leaves it
	// out (which keeps golden files stable).
	Now func() time.Time
}

func (o Options) lang() (string, error) {
	switch o.Lang {
	case "", "zh":
		return "zh", nil
	case "en":
		return "en", nil
	}
	return "", fmt.Errorf("report language %q: want zh or en", o.Lang)
}

func (o Options) maxRows() int {
	if o.MaxSheetRows <= 0 || o.MaxSheetRows > MaxSheetRows {
		return MaxSheetRows
	}
	return o.MaxSheetRows
}

func (s Source) check() error {
	if s.Items == nil {
		return errors.New("report source: no item iterator")
	}
	return nil
}

// actionIndex joins items to their actions: positions in actions by
// discrepancy key, so a million actions are not copied.
type actionIndex struct {
	actions []payrecon.Action
	byKey   map[string][]int32
}

func indexActions(actions []payrecon.Action) actionIndex {
	idx := actionIndex{actions: actions, byKey: make(map[string][]int32, len(actions))}
	for i := range actions {
		k := actions[i].DiscrepancyKey
		idx.byKey[k] = append(idx.byKey[k], int32(i))
	}
	return idx
}

// lookup returns the action for an item with the given key: the one of
// the item's proposed kind when there is one, else the newest (highest ID).
func (idx actionIndex) lookup(it payrecon.Item, key string) (payrecon.Action, bool) {
	var best *payrecon.Action
	for _, i := range idx.byKey[key] {
		a := &idx.actions[i]
		switch {
		case best == nil:
			best = a
		case (a.Kind == it.Action) != (best.Kind == it.Action):
			if a.Kind == it.Action {
				best = a
			}
		case a.ID > best.ID:
			best = a
		}
	}
	if best == nil {
		return payrecon.Action{}, false
	}
	return *best, true
}

// row joins an item to its action, computing its key once.
func (idx actionIndex) row(runID int64, it payrecon.Item) itemRow {
	r := itemRow{runID: runID, it: it, key: it.Key()}
	r.act, r.hasAct = idx.lookup(it, r.key)
	return r
}

// sheetKind sorts items onto the workbook's detail sheets.
type sheetKind int

const (
	sheetDiscrepancies sheetKind = iota
	sheetCarriedOver
	sheetOther
)

func sheetFor(c payrecon.Class) sheetKind {
	switch {
	case c.IsDiscrepancy():
		return sheetDiscrepancies
	case c == payrecon.ClassCarriedOver || c == payrecon.ClassResolvedLate:
		return sheetCarriedOver
	}
	return sheetOther
}
