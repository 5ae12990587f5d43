package reports

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/payrecon/payrecon"
)

// machineHeader is the CSV header for cols: money columns give NAME_fen
// (integer fen) and NAME (yuan with two decimals).
func machineHeader(cols []column) []string {
	var out []string
	for _, c := range cols {
		if c.typ == colMoney {
			out = append(out, c.name+"_fen")
		}
		out = append(out, c.name)
	}
	return out
}

// csvRecord renders cells as CSV fields into dst.
func csvRecord(dst []string, cols []column, cells []cell) []string {
	dst = dst[:0]
	for i, c := range cols {
		v := cells[i]
		switch c.typ {
		case colText, colCode, colEnum:
			dst = append(dst, EscapeFormula(v.s))
		case colMoney:
			dst = append(dst, strconv.FormatInt(v.n, 10), payrecon.FormatYuan(v.n))
		case colTime:
			dst = append(dst, machineTime(v.t))
		case colInt:
			if v.n == 0 {
				dst = append(dst, "")
			} else {
				dst = append(dst, strconv.FormatInt(v.n, 10))
			}
		}
	}
	return dst
}

// WriteCSV writes every item of every run (all classes; the class column
// tells them apart) as CSV with a header of machine names: the columns of
// the workbook's detail sheets, with machine values instead of labels,
// each amount as NAME_fen (integer fen) and NAME (yuan, two decimals), and
// times in RFC3339 with +08:00. Text from providers, callbacks and
// operators is escaped with EscapeFormula. UTF-8 without a BOM.
func WriteCSV(w io.Writer, src Source, opts Options) error {
	if err := src.check(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(machineHeader(itemColumns)); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	idx := indexActions(src.Actions)
	cells := make([]cell, len(itemColumns))
	var rec []string
	for _, run := range src.Runs {
		err := src.Items(run.ID, func(it payrecon.Item) error {
			r := idx.row(run.ID, it)
			itemCells(cells, &r)
			rec = csvRecord(rec, itemColumns, cells)
			return cw.Write(rec)
		})
		if err != nil {
			return fmt.Errorf("csv items of run %d (%s %s): %w", run.ID, run.Account, run.Day, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// jsonObject appends cells as one JSON object with machine keys: money as
// NAME_fen (number) and NAME (string), times as RFC3339 strings or null,
// ids as numbers or null, text raw (JSON is not a spreadsheet).
func jsonObject(buf []byte, cols []column, cells []cell) []byte {
	buf = append(buf, '{')
	for i, c := range cols {
		if i > 0 {
			buf = append(buf, ',')
		}
		v := cells[i]
		switch c.typ {
		case colMoney:
			buf = appendKey(buf, c.name+"_fen")
			buf = strconv.AppendInt(buf, v.n, 10)
			buf = append(buf, ',')
			buf = appendKey(buf, c.name)
			buf = appendString(buf, payrecon.FormatYuan(v.n))
		case colTime:
			buf = appendKey(buf, c.name)
			if v.t.IsZero() {
				buf = append(buf, "null"...)
			} else {
				buf = appendString(buf, machineTime(v.t))
			}
		case colInt:
			buf = appendKey(buf, c.name)
			if v.n == 0 {
				buf = append(buf, "null"...)
			} else {
				buf = strconv.AppendInt(buf, v.n, 10)
			}
		default:
			buf = appendKey(buf, c.name)
			buf = appendString(buf, v.s)
		}
	}
	return append(buf, '}')
}

func appendKey(buf []byte, k string) []byte {
	buf = appendString(buf, k)
	return append(buf, ':')
}

func appendString(buf []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(buf, b...)
}

// Machine forms of runs and audit entries in the JSON document.
type (
	jsonRun struct {
		RunID         int64        `json:"run_id"`
		Account       string       `json:"account"`
		Provider      string       `json:"provider"`
		Day           payrecon.Day `json:"day"`
		State         string       `json:"state"`
		StartedAt     *string      `json:"started_at"`
		FinishedAt    *string      `json:"finished_at"`
		Version       string       `json:"version"`
		BillLines     int64        `json:"bill_lines"`
		LedgerLines   int64        `json:"ledger_lines"`
		Matched       int64        `json:"matched"`
		BillTotalFen  int64        `json:"bill_total_fen"`
		BillTotal     string       `json:"bill_total"`
		LedgerTotalFn int64        `json:"ledger_total_fen"`
		LedgerTotal   string       `json:"ledger_total"`
		DifferenceFen int64        `json:"difference_fen"`
		Difference    string       `json:"difference"`
		ExplainedFen  int64        `json:"explained_fen"`
		Explained     string       `json:"explained"`
		Balanced      bool         `json:"balanced"`
		FeesFen       int64        `json:"fees_fen"`
		Fees          string       `json:"fees"`
		SettlementFen int64        `json:"settlement_fen"`
		Settlement    string       `json:"settlement"`
		// Money other than fees the settlement bill says the provider kept
		// (commissions), netted from the trade side too.
		DeductionsFen int64  `json:"deductions_fen"`
		Deductions    string `json:"deductions"`
		// Of the discrepancies: those tolerance rules cover, and the rest.
		ToleratedCount int64          `json:"tolerated_count"`
		ToleratedFen   int64          `json:"tolerated_amount_fen"`
		Tolerated      string         `json:"tolerated_amount"`
		OpenCount      int64          `json:"open_count"`
		OpenFen        int64          `json:"open_amount_fen"`
		Open           string         `json:"open_amount"`
		Classes        []jsonClass    `json:"classes"`
		Bills          []jsonBillFile `json:"bills"`
		LastAttempt    *jsonAttempt   `json:"last_attempt,omitempty"`
	}
	// jsonAttempt is the newest attempt after the run that produced no run.
	// Its free-text reason stays out (like Run.Error); the outcome and the
	// lease holder say what happened.
	jsonAttempt struct {
		At            string                  `json:"at"`
		Outcome       payrecon.AttemptOutcome `json:"outcome"`
		Owner         string                  `json:"owner"`
		Holder        string                  `json:"holder,omitempty"`
		HolderExpires *string                 `json:"holder_expires_at,omitempty"`
	}
	jsonClass struct {
		Class     payrecon.Class `json:"class"`
		Count     int64          `json:"count"`
		AmountFen int64          `json:"amount_fen"`
		Amount    string         `json:"amount"`
	}
	jsonBillFile struct {
		Kind   payrecon.BillKind `json:"kind"`
		Name   string            `json:"name"`
		SHA256 string            `json:"sha256"`
		Lines  int64             `json:"lines"`
	}
	jsonAudit struct {
		At     *string `json:"at"`
		Actor  string  `json:"actor"`
		Step   string  `json:"step"`
		Detail string  `json:"detail"`
	}
)

func optTime(t interface{ IsZero() bool }, s string) *string {
	if t.IsZero() {
		return nil
	}
	return &s
}

func runJSON(r payrecon.Run) jsonRun {
	t := r.Totals
	out := jsonRun{
		RunID: r.ID, Account: r.Account, Provider: r.Provider, Day: r.Day, State: string(r.State),
		StartedAt: optTime(r.StartedAt, machineTime(r.StartedAt)), FinishedAt: optTime(r.FinishedAt, machineTime(r.FinishedAt)),
		Version: r.Version, BillLines: t.BillLines, LedgerLines: t.LedgerLines, Matched: t.Matched,
		BillTotalFen: t.BillTotal, BillTotal: payrecon.FormatYuan(t.BillTotal),
		LedgerTotalFn: t.LedgerTotal, LedgerTotal: payrecon.FormatYuan(t.LedgerTotal),
		DifferenceFen: t.Difference, Difference: payrecon.FormatYuan(t.Difference),
		ExplainedFen: t.Explained, Explained: payrecon.FormatYuan(t.Explained), Balanced: t.Balanced(),
		FeesFen: t.Fees, Fees: payrecon.FormatYuan(t.Fees),
		SettlementFen: t.Settlement, Settlement: payrecon.FormatYuan(t.Settlement),
		DeductionsFen: t.Deductions, Deductions: payrecon.FormatYuan(t.Deductions),
		Classes: []jsonClass{}, Bills: []jsonBillFile{},
	}
	c := countsOf(t)
	out.ToleratedCount, out.ToleratedFen, out.Tolerated = c.tolCount, c.tolAmount, payrecon.FormatYuan(c.tolAmount)
	out.OpenCount, out.OpenFen, out.Open = c.openCount, c.openAmount, payrecon.FormatYuan(c.openAmount)
	for _, cl := range payrecon.Classes {
		if ct, ok := t.ByClass[cl]; ok && (ct.Count != 0 || ct.Amount != 0) {
			out.Classes = append(out.Classes, jsonClass{Class: cl, Count: ct.Count, AmountFen: ct.Amount, Amount: payrecon.FormatYuan(ct.Amount)})
		}
	}
	for _, bf := range r.Bills {
		out.Bills = append(out.Bills, jsonBillFile{Kind: bf.Kind, Name: bf.Name, SHA256: bf.SHA256, Lines: bf.Lines})
	}
	if a := r.LastAttempt; !a.At.IsZero() {
		out.LastAttempt = &jsonAttempt{At: machineTime(a.At), Outcome: a.Outcome, Owner: a.Owner, Holder: a.Holder,
			HolderExpires: optTime(a.HolderExpires, machineTime(a.HolderExpires))}
	}
	return out
}

// WriteJSON writes one JSON document, streamed item by item:
//
//	{"format":"payrecon-report/1",
//	 "runs":[{run_id, account, provider, day, state, totals as NAME_fen and NAME, classes, bills}, …],
//	 "items":[{the CSV's columns, same names}, …],
//	 "actions":[{action columns…, "audit":[{at, actor, step, detail}]}, …],
//	 "ageing":{"as_of", "buckets":["0-1","2-3","4-7","8-30","31+"],
//	           "accounts":[{account, buckets:[{bucket, count, amount_fen, amount}], count, amount_fen, amount, overdue}]}}
//
// The ageing section (open and investigating discrepancies by age) is
// there when the source has review state (WithReviews).
//
// Amounts appear as NAME_fen (integer) and NAME (yuan string, two
// decimals); times as RFC3339 with +08:00 or null. Text is kept raw: JSON
// is read by programs, not spreadsheets, so it is not formula-escaped.
func WriteJSON(w io.Writer, src Source, opts Options) error {
	if err := src.check(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`{"format":"payrecon-report/1"`)
	if opts.Now != nil {
		bw.WriteString(`,"generated_at":`)
		bw.Write(appendString(nil, machineTime(opts.Now())))
	}
	bw.WriteString(",\n\"runs\":[")
	for i, r := range src.Runs {
		if i > 0 {
			bw.WriteByte(',')
		}
		b, err := json.Marshal(runJSON(r))
		if err != nil {
			return fmt.Errorf("json run %d: %w", r.ID, err)
		}
		bw.WriteString("\n")
		bw.Write(b)
	}
	bw.WriteString("],\n\"items\":[")
	idx := indexActions(src.Actions)
	cells := make([]cell, len(itemColumns))
	var buf []byte
	n := 0
	for _, run := range src.Runs {
		err := src.Items(run.ID, func(it payrecon.Item) error {
			r := idx.row(run.ID, it)
			itemCells(cells, &r)
			buf = buf[:0]
			if n > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '\n')
			buf = jsonObject(buf, itemColumns, cells)
			n++
			_, err := bw.Write(buf)
			return err
		})
		if err != nil {
			return fmt.Errorf("json items of run %d (%s %s): %w", run.ID, run.Account, run.Day, err)
		}
	}
	bw.WriteString("],\n\"actions\":[")
	acells := make([]cell, len(actionColumns))
	for i := range src.Actions {
		a := &src.Actions[i]
		actionCells(acells, a)
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		buf = jsonObject(buf, actionColumns, acells)
		buf = buf[:len(buf)-1] // reopen the object for the audit trail
		audit := []jsonAudit{}
		if src.Audit != nil {
			entries, err := src.Audit(a.ID)
			if err != nil {
				return fmt.Errorf("json audit of action %d: %w", a.ID, err)
			}
			for _, e := range entries {
				audit = append(audit, jsonAudit{At: optTime(e.At, machineTime(e.At)), Actor: e.Actor, Step: e.Step, Detail: e.Detail})
			}
		}
		b, err := json.Marshal(audit)
		if err != nil {
			return fmt.Errorf("json audit of action %d: %w", a.ID, err)
		}
		buf = append(buf, `,"audit":`...)
		buf = append(buf, b...)
		buf = append(buf, '}')
		bw.Write(buf)
	}
	bw.WriteString("]")
	if src.AsOf != "" {
		b, err := ageingJSON(src)
		if err != nil {
			return fmt.Errorf("json ageing: %w", err)
		}
		bw.WriteString(",\n\"ageing\":")
		bw.Write(b)
	}
	bw.WriteString("}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// WriteCSVFile and WriteJSONFile write to path through a temporary file,
// renamed into place when complete.
func WriteCSVFile(path string, src Source, opts Options) error {
	return writeFileAtomic(path, func(w io.Writer) error { return WriteCSV(w, src, opts) })
}

// WriteJSONFile: see WriteCSVFile.
func WriteJSONFile(path string, src Source, opts Options) error {
	return writeFileAtomic(path, func(w io.Writer) error { return WriteJSON(w, src, opts) })
}
