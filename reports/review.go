package reports

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
)

// The Discrepancies sheet's review columns: 处理状态 (a drop-down of the
// review states), 处理意见 and 处理人 are unlocked for the reviewer; the
// due day and everything else are locked (sheet protection without a
// password: it guards against slips, not against intent); two hidden
// columns carry the row's identity ("KEY:VERSION") and its checksum,
// payrecon.ReviewMAC under the database's review key. `payrecon review
// import` reads the sheet back (ReadReviewEdits).
//
// Why an HMAC with a key kept in the database rather than a plain SHA-256:
// anyone holding the workbook could recompute a plain hash after moving an
// identity to another row or changing what it says was exported; without
// the key they cannot, so a forged or moved row is refused, not applied.

var reviewStateLabels = map[payrecon.ReviewState]label{
	payrecon.ReviewOpen:          {"待处理", "Open"},
	payrecon.ReviewInvestigating: {"调查中", "Investigating"},
	payrecon.ReviewResolved:      {"已解决", "Resolved"},
	payrecon.ReviewWrittenOff:    {"已核销", "Written off"},
	payrecon.ReviewTolerated:     {"容差", "Tolerated"},
}

// Review column headers, after the item columns.
var (
	hdrReviewState = label{"处理状态", "Review state"}
	hdrReviewNote  = label{"处理意见", "Review note"}
	hdrAssignee    = label{"处理人", "Assignee"}
	hdrDueDay      = label{"到期日", "Due day"}
	hdrReviewID    = label{"审核标识", "Review ID"}
	hdrChecksum    = label{"校验码", "Checksum"}
)

var reviewHeaders = []label{hdrReviewState, hdrReviewNote, hdrAssignee, hdrDueDay, hdrReviewID, hdrChecksum}
var reviewWidths = []float64{22, 36, 12, 12, 44, 66}

// identityColumns name the item columns (machine names; "class" means its
// code column) whose cells the checksum covers.
var identityColumns = []string{"account", "class", "merchant_order_no", "provider_txn_no", "merchant_refund_no", "provider_refund_no", "agreement_no"}

// ReviewStateLabel is a review state as the workbook shows it, with the
// reason code (written_off) or rule (tolerated): "已核销:rounding".
func ReviewStateLabel(s payrecon.ReviewState, code, lang string) string {
	l, ok := reviewStateLabels[s]
	out := string(s)
	if ok {
		out = l.in(lang)
	}
	if code != "" {
		out += ":" + code
	}
	return out
}

// ParseReviewState reads a 处理状态 cell: a label in either language or a
// machine name, then for written_off (and tolerated) ":" (or "：") and the
// code. An empty cell is state "".
func ParseReviewState(s string) (payrecon.ReviewState, string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", nil
	}
	name, code := s, ""
	if i := strings.IndexAny(s, ":："); i >= 0 {
		name = strings.TrimSpace(s[:i])
		_, w := firstRune(s[i:])
		code = strings.TrimSpace(s[i+w:])
	}
	for st, l := range reviewStateLabels {
		if strings.EqualFold(name, l.zh) || strings.EqualFold(name, l.en) || strings.EqualFold(name, string(st)) {
			if (st == payrecon.ReviewWrittenOff || st == payrecon.ReviewTolerated) != (code != "") {
				if code == "" {
					return "", "", fmt.Errorf("%q: %s needs a reason code after a colon, e.g. %s:%s", s, l.zh, l.zh, "other")
				}
				return "", "", fmt.Errorf("%q: %s takes no code", s, l.zh)
			}
			return st, code, nil
		}
	}
	return "", "", fmt.Errorf("%q is not a review state (待处理, 调查中, 已解决, 已核销:原因)", s)
}

func firstRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}

// dropList is the 处理状态 drop-down: the states a reviewer may choose,
// written_off once per configured reason code.
func dropList(lang string, reasons []string) []string {
	out := []string{
		ReviewStateLabel(payrecon.ReviewOpen, "", lang),
		ReviewStateLabel(payrecon.ReviewInvestigating, "", lang),
		ReviewStateLabel(payrecon.ReviewResolved, "", lang),
	}
	for _, r := range reasons {
		out = append(out, ReviewStateLabel(payrecon.ReviewWrittenOff, r, lang))
	}
	return out
}

// reviewSheet adds the review columns to the discrepancy stream sheet.
func (b *book) reviewSheet(s *streamSheet) {
	base := len(s.header)
	for i, h := range reviewHeaders {
		s.header = append(s.header, h.in(b.lang))
		s.widths = append(s.widths, max(reviewWidths[i], textWidth(h.in(b.lang))+2))
	}
	col := func(i int) string { name, _ := excelize.ColumnNumberToName(base + i + 1); return name }
	s.before = func(sheet string) error {
		// Set on the still-empty worksheet: the stream writer carries the
		// protection and the validation into the sheet it writes at Flush.
		dv := excelize.NewDataValidation(true)
		dv.Sqref = fmt.Sprintf("%s2:%s%d", col(0), col(0), excelize.TotalRows)
		list := dropList(b.lang, b.src.ReasonCodes)
		if err := dv.SetDropList(list); err != nil {
			if err := b.listSheet(list); err != nil {
				return err
			}
			dv.SetSqrefDropList(fmt.Sprintf("'%s'!$A$1:$A$%d", sheetLists, len(list)))
		}
		dv.SetError(excelize.DataValidationErrorStyleStop, b.tr("处理状态", "Review state"),
			b.tr("请从下拉列表中选择", "Pick a state from the list"))
		if err := b.f.AddDataValidation(sheet, dv); err != nil {
			return fmt.Errorf("state drop-down: %w", err)
		}
		return b.f.ProtectSheet(sheet, &excelize.SheetProtectionOptions{
			AutoFilter: true, Sort: true, FormatColumns: true, FormatRows: true,
			SelectLockedCells: true, SelectUnlockedCells: true,
		})
	}
	s.after = func(sw *excelize.StreamWriter) error {
		if err := sw.SetColStyle(base+1, base+3, b.sEditable); err != nil {
			return err
		}
		return sw.SetColVisible(base+5, base+6, false)
	}
}

const sheetLists = "审核选项 Lists"

// listSheet writes the drop-down values on a hidden sheet (when they are
// too long for an inline list).
func (b *book) listSheet(list []string) error {
	if idx, _ := b.f.GetSheetIndex(sheetLists); idx >= 0 {
		return nil
	}
	if _, err := b.f.NewSheet(sheetLists); err != nil {
		return err
	}
	for i, v := range list {
		if err := b.f.SetCellStr(sheetLists, fmt.Sprintf("A%d", i+1), v); err != nil {
			return err
		}
	}
	return b.f.SetSheetVisible(sheetLists, false)
}

// reviewCells appends a discrepancy row's review cells: state, note and
// assignee (unlocked), due day, identity and checksum.
func (b *book) reviewCells(dst []any, r *itemRow, rv payrecon.Review) []any {
	if rv.Key != r.key || rv.State == "" {
		rv = payrecon.Review{Key: r.key, State: payrecon.ReviewOpen}
	}
	f := rv.Fields()
	code := f.ReasonCode
	if f.State == payrecon.ReviewTolerated {
		code = f.Rule
	}
	dst = append(dst,
		excelize.Cell{StyleID: b.sEditable, Value: text(ReviewStateLabel(f.State, code, b.lang))},
		editable(b, f.Note), editable(b, f.Assignee), textCell(string(rv.DueDay)))
	if b.src.ReviewKey == nil {
		return append(dst, nil, nil)
	}
	it := &r.it
	identity := []string{text(it.Account), text(string(it.Class)), text(it.MerchantOrderNo), text(it.ProviderTxnNo),
		text(it.MerchantRefundNo), text(it.ProviderRefundNo), text(it.AgreementNo)}
	mac := payrecon.ReviewMAC(b.src.ReviewKey, r.key, rv.Version, f, identity)
	return append(dst, r.key+":"+strconv.FormatInt(rv.Version, 10), mac)
}

func editable(b *book, s string) any {
	if s == "" {
		return nil // the column's style keeps the empty cell unlocked
	}
	return excelize.Cell{StyleID: b.sEditable, Value: text(s)}
}

// unescape undoes EscapeFormula on a cell read back.
func unescape(s string) string {
	if strings.HasPrefix(s, "'") && EscapeFormula(s[1:]) == s {
		return s[1:]
	}
	return s
}

// ReadReviewEdits reads the review columns of every Discrepancies sheet
// ("差异明细 Discrepancies", "… (2)", …) of a workbook payrecon wrote and a
// reviewer edited, in either language. Blank rows are skipped; a row
// without identity is returned with ID "" (the import refuses it).
func ReadReviewEdits(r io.Reader) ([]payrecon.ReviewEdit, error) {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return nil, fmt.Errorf("open workbook: %w", err)
	}
	defer f.Close()
	var out []payrecon.ReviewEdit
	found := false
	for _, sheet := range f.GetSheetList() {
		if sheet != sheetDiscrepancy && !strings.HasPrefix(sheet, sheetDiscrepancy+" (") {
			continue
		}
		found = true
		edits, err := readReviewSheet(f, sheet)
		if err != nil {
			return nil, fmt.Errorf("workbook sheet %s: %w", sheet, err)
		}
		out = append(out, edits...)
	}
	if !found {
		return nil, fmt.Errorf("workbook has no sheet %q: not a payrecon workbook", sheetDiscrepancy)
	}
	return out, nil
}

func readReviewSheet(f *excelize.File, sheet string) ([]payrecon.ReviewEdit, error) {
	rows, err := f.Rows(sheet)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		out                       []payrecon.ReviewEdit
		col                       map[string]int // header text → index
		want                      []int          // identity column indices
		state, note, asg, id, sum int
	)
	n := 0
	for rows.Next() {
		n++
		cells, err := rows.Columns()
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", n, err)
		}
		if n == 1 {
			col = map[string]int{}
			for i, h := range cells {
				col[strings.TrimSpace(h)] = i
			}
			find := func(l label) (int, error) {
				if i, ok := col[l.zh]; ok {
					return i, nil
				}
				if i, ok := col[l.en]; ok {
					return i, nil
				}
				return 0, fmt.Errorf("no column %s / %s in row 1", l.zh, l.en)
			}
			var errs []error
			for _, name := range identityColumns {
				for _, c := range itemColumns {
					if c.name != name {
						continue
					}
					l := label{c.zh, c.en}
					if c.withCode {
						l = label{c.codeZh, c.codeEn}
					}
					i, err := find(l)
					errs = append(errs, err)
					want = append(want, i)
				}
			}
			for dst, l := range map[*int]label{&state: hdrReviewState, &note: hdrReviewNote, &asg: hdrAssignee, &id: hdrReviewID, &sum: hdrChecksum} {
				i, err := find(l)
				errs = append(errs, err)
				*dst = i
			}
			if err := errors.Join(errs...); err != nil {
				return nil, err
			}
			continue
		}
		get := func(i int) string {
			if i < len(cells) {
				return cells[i]
			}
			return ""
		}
		e := payrecon.ReviewEdit{Sheet: sheet, Row: n, ID: strings.TrimSpace(get(id)), Checksum: strings.TrimSpace(get(sum)),
			StateText: get(state), Note: unescape(get(note)), Assignee: strings.TrimSpace(unescape(get(asg)))}
		blank := true
		for _, c := range cells {
			if strings.TrimSpace(c) != "" {
				blank = false
				break
			}
		}
		if blank {
			continue
		}
		for _, i := range want {
			e.Identity = append(e.Identity, get(i))
		}
		e.State, e.Code, e.StateErr = ParseReviewState(e.StateText)
		out = append(out, e)
	}
	if err := rows.Error(); err != nil {
		return nil, err
	}
	return out, nil
}
