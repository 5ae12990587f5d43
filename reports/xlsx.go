package reports

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
)

// maxCellText is Excel's limit on the characters in one cell.
const maxCellText = 32767

// WriteXLSX writes the workbook for src to w: the summary with its chart,
// the detail sheets (streamed, continuing on "… (2)" sheets past the row
// limit), the actions and, where a provider has one, the settlement. Text
// from providers, callbacks and operators is escaped with EscapeFormula.
func WriteXLSX(w io.Writer, src Source, opts Options) error {
	lang, err := opts.lang()
	if err != nil {
		return err
	}
	if err := src.check(); err != nil {
		return err
	}
	f := excelize.NewFile(excelize.Options{TmpDir: opts.TmpDir})
	defer f.Close()
	b := &book{f: f, lang: lang, opts: opts, src: src}
	if err := b.styles(); err != nil {
		return fmt.Errorf("workbook styles: %w", err)
	}
	if err := f.SetSheetName("Sheet1", sheetSummary); err != nil {
		return fmt.Errorf("workbook summary sheet: %w", err)
	}
	if err := printFit(f, sheetSummary, true); err != nil {
		return fmt.Errorf("workbook sheet %s: %w", sheetSummary, err)
	}
	if err := b.summary(); err != nil {
		return fmt.Errorf("workbook sheet %s: %w", sheetSummary, err)
	}
	if err := b.details(); err != nil {
		return err
	}
	if err := b.actions(); err != nil {
		return err
	}
	if err := b.settlement(); err != nil {
		return fmt.Errorf("workbook sheet %s: %w", sheetSettlement, err)
	}
	if err := b.ageing(); err != nil {
		return fmt.Errorf("workbook sheet %s: %w", sheetAgeing, err)
	}
	f.SetActiveSheet(0)
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}

// WriteXLSXFile writes the workbook to path through a temporary file in the
// same directory, renamed into place when complete, with mode 0644.
func WriteXLSXFile(path string, src Source, opts Options) error {
	return writeFileAtomic(path, func(w io.Writer) error { return WriteXLSX(w, src, opts) })
}

func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create report %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}

// printFit sets a sheet to print landscape on A4 and, when oneWide, scaled
// to one page wide (the summary and settlement; detail sheets are too wide
// to stay legible that way and print across pages).
func printFit(f *excelize.File, sheet string, oneWide bool) error {
	landscape, a4, one, zero := "landscape", 9, 1, 0
	opts := &excelize.PageLayoutOptions{Orientation: &landscape, Size: &a4}
	if oneWide {
		if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &oneWide}); err != nil {
			return err
		}
		opts.FitToWidth, opts.FitToHeight = &one, &zero
	}
	return f.SetPageLayout(sheet, opts)
}

// book is one workbook being written.
type book struct {
	f    *excelize.File
	lang string
	opts Options
	src  Source

	sHeader, sTitle, sMoney, sTime, sBold, sBoldMoney, sWrap, sGood, sBad int
	sEditable                                                             int // unlocked review cells
}

func (b *book) tr(zh, en string) string { return label{zh, en}.in(b.lang) }

func (b *book) styles() error {
	money, ts := "0.00", "yyyy-mm-dd hh:mm:ss"
	defs := []struct {
		dst *int
		st  *excelize.Style
	}{
		{&b.sHeader, &excelize.Style{
			Font:      &excelize.Font{Bold: true},
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
			Alignment: &excelize.Alignment{Vertical: "center", WrapText: true},
		}},
		{&b.sTitle, &excelize.Style{Font: &excelize.Font{Bold: true, Size: 16}}},
		{&b.sMoney, &excelize.Style{CustomNumFmt: &money}},
		{&b.sTime, &excelize.Style{CustomNumFmt: &ts}},
		{&b.sBold, &excelize.Style{Font: &excelize.Font{Bold: true}}},
		{&b.sBoldMoney, &excelize.Style{Font: &excelize.Font{Bold: true}, CustomNumFmt: &money}},
		{&b.sWrap, &excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
		{&b.sGood, &excelize.Style{Font: &excelize.Font{Bold: true, Color: "006100"}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"C6EFCE"}}}},
		{&b.sBad, &excelize.Style{Font: &excelize.Font{Bold: true, Color: "9C0006"}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFC7CE"}}}},
		{&b.sEditable, &excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFF2CC"}},
			Protection: &excelize.Protection{Locked: false}}},
	}
	for _, d := range defs {
		id, err := b.f.NewStyle(d.st)
		if err != nil {
			return err
		}
		*d.dst = id
	}
	return nil
}

// text is the workbook form of free text: escaped and cut to Excel's limit.
func text(s string) string {
	s = EscapeFormula(s)
	if len(s) > maxCellText {
		cut := maxCellText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// textCell is text() for the stream writer: an empty string is no cell
// at all, which keeps a million sparse rows small.
func textCell(s string) any {
	if s == "" {
		return nil
	}
	return text(s)
}

// headers renders cols' workbook headers (a class column takes two).
func headers(cols []column, lang string) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.header(lang))
		if c.withCode {
			out = append(out, label{c.codeZh, c.codeEn}.in(lang))
		}
	}
	return out
}

func widths(cols []column, lang string) []float64 {
	var out []float64
	for _, c := range cols {
		w := max(c.width, textWidth(c.header(lang))+2)
		out = append(out, w)
		if c.withCode {
			out = append(out, max(26, textWidth(label{c.codeZh, c.codeEn}.in(lang))+2))
		}
	}
	return out
}

// rowValues renders cells for the stream writer into dst.
func (b *book) rowValues(dst []any, cols []column, cells []cell) []any {
	dst = dst[:0]
	for i, c := range cols {
		v := cells[i]
		switch c.typ {
		case colText, colCode:
			dst = append(dst, textCell(v.s))
		case colEnum: // unknown machine values show as they are: escape them too
			dst = append(dst, textCell(c.label(v.s, b.lang)))
			if c.withCode {
				dst = append(dst, textCell(v.s))
			}
		case colMoney:
			dst = append(dst, excelize.Cell{StyleID: b.sMoney, Value: yuanCell(v.n)})
		case colTime:
			if v.t.IsZero() {
				dst = append(dst, nil)
			} else {
				dst = append(dst, excelize.Cell{StyleID: b.sTime, Value: v.t.In(payrecon.Shanghai)})
			}
		case colInt:
			if v.n == 0 {
				dst = append(dst, nil)
			} else {
				dst = append(dst, v.n)
			}
		}
	}
	return dst
}

// yuanCell is the one float on the money path: the value a spreadsheet
// cell shows with the "0.00" format. Exact for |fen| < 2^53.
func yuanCell(fen int64) float64 { return float64(fen) / 100 }

// textWidth estimates a column width for s: East Asian wide runes count two.
func textWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		if r >= 0x1100 && (r <= 0x115f || (r >= 0x2e80 && r <= 0xa4cf) || (r >= 0xac00 && r <= 0xd7a3) || (r >= 0xf900 && r <= 0xfaff) || (r >= 0xfe30 && r <= 0xfe4f) || (r >= 0xff00 && r <= 0xff60) || (r >= 0xffe0 && r <= 0xffe6)) {
			w += 2
		} else {
			w++
		}
	}
	return w
}

// streamSheet writes a detail table with the stream writer, continuing on
// "NAME (2)", "NAME (3)" … when a sheet is full.
type streamSheet struct {
	b       *book
	base    string // first sheet's name
	table   string // table name prefix (ASCII)
	header  []string
	widths  []float64
	max     int
	anchor  string // sheet a new part is placed after
	part    int
	name    string
	sw      *excelize.StreamWriter
	rows    int
	written int64
	// before runs on each part's sheet before its stream writer exists
	// (sheet-level settings the writer carries: protection, validation);
	// after runs on the new writer before its first row.
	before func(sheet string) error
	after  func(sw *excelize.StreamWriter) error
}

func (b *book) newStreamSheet(base, table string, cols []column, anchor string) *streamSheet {
	return &streamSheet{
		b: b, base: base, table: table, header: headers(cols, b.lang), widths: widths(cols, b.lang),
		max: b.opts.maxRows(), anchor: anchor,
	}
}

// open starts the next part: creates the sheet after the anchor when it does
// not exist, sets widths and panes, writes the header.
func (s *streamSheet) open() error {
	s.part++
	s.name = s.base
	if s.part > 1 {
		s.name = fmt.Sprintf("%s (%d)", s.base, s.part)
	}
	f := s.b.f
	if idx, _ := f.GetSheetIndex(s.name); idx < 0 {
		if _, err := f.NewSheet(s.name); err != nil {
			return fmt.Errorf("workbook sheet %s: %w", s.name, err)
		}
		if err := placeAfter(f, s.name, s.anchor); err != nil {
			return fmt.Errorf("workbook sheet %s: %w", s.name, err)
		}
	}
	if err := printFit(f, s.name, false); err != nil {
		return fmt.Errorf("workbook sheet %s: %w", s.name, err)
	}
	if s.before != nil {
		if err := s.before(s.name); err != nil {
			return fmt.Errorf("workbook sheet %s: %w", s.name, err)
		}
	}
	sw, err := f.NewStreamWriter(s.name)
	if err != nil {
		return fmt.Errorf("workbook sheet %s: %w", s.name, err)
	}
	for i, w := range s.widths {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return fmt.Errorf("workbook sheet %s: %w", s.name, err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("workbook sheet %s: %w", s.name, err)
	}
	if s.after != nil {
		if err := s.after(sw); err != nil {
			return fmt.Errorf("workbook sheet %s: %w", s.name, err)
		}
	}
	hdr := make([]any, len(s.header))
	for i, h := range s.header {
		hdr[i] = excelize.Cell{StyleID: s.b.sHeader, Value: h}
	}
	if err := sw.SetRow("A1", hdr, excelize.RowOpts{Height: 30}); err != nil {
		return fmt.Errorf("workbook sheet %s header: %w", s.name, err)
	}
	s.sw, s.rows, s.anchor = sw, 0, s.name
	return nil
}

// placeAfter moves sheet right after anchor ("" leaves it last).
func placeAfter(f *excelize.File, sheet, anchor string) error {
	if anchor == "" {
		return nil
	}
	list := f.GetSheetList()
	for i, n := range list {
		if n == anchor && i+1 < len(list) && list[i+1] != sheet {
			return f.MoveSheet(sheet, list[i+1])
		}
	}
	return nil
}

func (s *streamSheet) add(row []any) error {
	if s.sw == nil || s.rows == s.max {
		if err := s.close(); err != nil {
			return err
		}
		if err := s.open(); err != nil {
			return err
		}
	}
	cellRef, err := excelize.CoordinatesToCellName(1, s.rows+2)
	if err != nil {
		return err
	}
	if err := s.sw.SetRow(cellRef, row); err != nil {
		return fmt.Errorf("workbook sheet %s row %d: %w", s.name, s.rows+2, err)
	}
	s.rows++
	s.written++
	return nil
}

// close finishes the current part: a table (filter buttons) over its rows,
// then the flush.
func (s *streamSheet) close() error {
	if s.sw == nil {
		return nil
	}
	if s.rows > 0 {
		last, err := excelize.CoordinatesToCellName(len(s.header), s.rows+1)
		if err != nil {
			return err
		}
		name := s.table
		if s.part > 1 {
			name = fmt.Sprintf("%s_%d", s.table, s.part)
		}
		if err := s.sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: name, StyleName: "TableStyleLight9"}); err != nil {
			return fmt.Errorf("workbook sheet %s filter: %w", s.name, err)
		}
	}
	if err := s.sw.Flush(); err != nil {
		return fmt.Errorf("workbook sheet %s: %w", s.name, err)
	}
	s.sw = nil
	return nil
}

// details streams every run's items onto the detail sheets.
func (b *book) details() error {
	disc := b.newStreamSheet(sheetDiscrepancy, "Discrepancies", itemColumns, sheetSummary)
	b.reviewSheet(disc)
	if err := disc.open(); err != nil {
		return err
	}
	carried := b.newStreamSheet(sheetCarried, "CarriedOver", itemColumns, disc.name)
	if err := carried.open(); err != nil {
		return err
	}
	other := b.newStreamSheet(sheetOtherLines, "OtherLines", itemColumns, "") // opened at its first row
	idx := indexActions(b.src.Actions)
	cells := make([]cell, len(itemColumns))
	vals := make([]any, 0, len(itemColumns)+2)
	for _, run := range b.src.Runs {
		var review payrecon.Review
		items := b.src.Items
		if b.src.ReviewedItems != nil {
			items = func(runID int64, fn func(payrecon.Item) error) error {
				return b.src.ReviewedItems(runID, func(it payrecon.Item, rv payrecon.Review) error {
					review = rv
					return fn(it)
				})
			}
		}
		err := items(run.ID, func(it payrecon.Item) error {
			r := idx.row(run.ID, it)
			itemCells(cells, &r)
			vals = b.rowValues(vals, itemColumns, cells)
			switch sheetFor(it.Class) {
			case sheetDiscrepancies:
				vals = b.reviewCells(vals, &r, review)
				return disc.add(vals)
			case sheetCarriedOver:
				return carried.add(vals)
			default:
				if other.sw == nil && other.part == 0 {
					other.anchor = carried.anchor
				}
				return other.add(vals)
			}
		})
		if err != nil {
			return fmt.Errorf("workbook items of run %d (%s %s): %w", run.ID, run.Account, run.Day, err)
		}
	}
	for _, s := range []*streamSheet{disc, carried, other} {
		if err := s.close(); err != nil {
			return err
		}
	}
	return nil
}

// actions writes the actions sheet with the audit trail of each.
func (b *book) actions() error {
	cols := actionColumns
	s := b.newStreamSheet(sheetActions, "Actions", cols, "")
	s.header = append(s.header, b.tr("审计记录", "Audit trail"))
	s.widths = append(s.widths, 60)
	if err := s.open(); err != nil {
		return err
	}
	cells := make([]cell, len(cols))
	vals := make([]any, 0, len(cols)+2)
	for i := range b.src.Actions {
		a := &b.src.Actions[i]
		actionCells(cells, a)
		vals = b.rowValues(vals, cols, cells)
		var trail string
		if b.src.Audit != nil {
			entries, err := b.src.Audit(a.ID)
			if err != nil {
				return fmt.Errorf("workbook audit of action %d: %w", a.ID, err)
			}
			lines := make([]string, len(entries))
			for j, e := range entries {
				lines[j] = auditLine(e)
			}
			trail = strings.Join(lines, "\n")
		}
		vals = append(vals, excelize.Cell{StyleID: b.sWrap, Value: text(trail)})
		if err := s.add(vals); err != nil {
			return err
		}
	}
	return s.close()
}
