package reports_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

const discSheet = "差异明细 Discrepancies"

// The review columns read back: the state drop-down (data validation over
// the state column), sheet protection without a password, the editable
// cells unlocked and the others locked, the identity and checksum columns
// hidden, and every row's checksum verifying under the key.
func TestWorkbookReviewColumns(t *testing.T) {
	fx := newFixture()
	data := writeXLSX(t, fx.source(), reports.Options{})
	f := openBook(t, data)
	stateCol := column(t, f, discSheet, 1, "处理状态")
	noteCol := column(t, f, discSheet, 1, "处理意见")
	asgCol := column(t, f, discSheet, 1, "处理人")
	idCol := column(t, f, discSheet, 1, "审核标识")
	sumCol := column(t, f, discSheet, 1, "校验码")
	colName := func(c int) string { n, _ := excelize.ColumnNumberToName(c); return n }

	dvs, err := f.GetDataValidations(discSheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(dvs) != 1 || dvs[0].Type != "list" || !strings.HasPrefix(dvs[0].Sqref, colName(stateCol)+"2:") {
		t.Fatalf("data validations: %+v", dvs)
	}
	for _, want := range []string{"待处理", "调查中", "已解决", "已核销:rounding", "已核销:other"} {
		if !strings.Contains(dvs[0].Formula1, want) {
			t.Errorf("drop-down %q lacks %q", dvs[0].Formula1, want)
		}
	}
	if strings.Contains(dvs[0].Formula1, "容差") {
		t.Errorf("drop-down offers tolerated: %q", dvs[0].Formula1)
	}
	prot, err := f.GetSheetProtection(discSheet)
	if err != nil {
		t.Fatal(err)
	}
	if !prot.AutoFilter || !prot.SelectUnlockedCells || prot.DeleteRows || prot.InsertRows || prot.FormatCells {
		t.Errorf("sheet protection: %+v", prot)
	}
	xml := sheetXML(t, data, "处理状态")
	if !strings.Contains(xml, `<sheetProtection`) || !strings.Contains(xml, `sheet="true"`) || strings.Contains(xml, `password=`) || strings.Contains(xml, "hashValue") {
		i := strings.Index(xml, "<sheetProtection")
		t.Errorf("sheet XML has no password-free protection: %.300s", xml[max(i, 0):])
	}
	for _, c := range []int{idCol, sumCol} {
		if vis, err := f.GetColVisible(discSheet, colName(c)); err != nil || vis {
			t.Errorf("column %s visible=%v err=%v, want hidden", colName(c), vis, err)
		}
	}
	if vis, _ := f.GetColVisible(discSheet, colName(stateCol)); !vis {
		t.Errorf("state column hidden")
	}
	locked := func(c, r int) bool {
		ref, _ := excelize.CoordinatesToCellName(c, r)
		id, err := f.GetCellStyle(discSheet, ref)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		return st.Protection == nil || st.Protection.Locked
	}
	rows, _ := f.GetRows(discSheet)
	for r := 2; r <= len(rows); r++ {
		for _, c := range []int{stateCol, noteCol, asgCol} {
			if locked(c, r) {
				t.Errorf("row %d column %d is locked, want editable", r, c)
			}
		}
		for _, c := range []int{1, 3, column(t, f, discSheet, 1, "差额(元)"), idCol} {
			if !locked(c, r) {
				t.Errorf("row %d column %d is unlocked", r, c)
			}
		}
	}
	// Every row reads back with its identity, and its checksum verifies.
	edits, err := reports.ReadReviewEdits(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) != len(rows)-1 {
		t.Fatalf("%d edits for %d rows", len(edits), len(rows)-1)
	}
	for _, e := range edits {
		key, ver, _ := strings.Cut(e.ID, ":")
		rv, ok := fx.reviews[key]
		if !ok {
			rv = payrecon.Review{State: payrecon.ReviewOpen}
		}
		if e.StateErr != nil || e.State != rv.State || (rv.ReasonCode+rv.Rule) != e.Code || e.Note != rv.Note || e.Assignee != rv.Assignee {
			t.Errorf("row %d read back %+v, exported %+v", e.Row, e, rv)
		}
		if ver == "" || payrecon.ReviewMAC(fixtureReviewKey, key, rv.Version, rv.Fields(), e.Identity) != e.Checksum {
			t.Errorf("row %d: checksum does not verify (%s)", e.Row, e.ID)
		}
	}
}

// sheetXML returns the worksheet XML that contains marker.
func sheetXML(t *testing.T, data []byte, marker string) string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range z.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/sheet") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if strings.Contains(string(b), marker) {
			return string(b)
		}
	}
	t.Fatalf("no worksheet contains %q", marker)
	return ""
}

func TestParseReviewState(t *testing.T) {
	for _, c := range []struct {
		in    string
		state payrecon.ReviewState
		code  string
		bad   bool
	}{
		{"", "", "", false},
		{"待处理", payrecon.ReviewOpen, "", false},
		{" Investigating ", payrecon.ReviewInvestigating, "", false},
		{"resolved", payrecon.ReviewResolved, "", false},
		{"已核销:rounding", payrecon.ReviewWrittenOff, "rounding", false},
		{"已核销：small_amount", payrecon.ReviewWrittenOff, "small_amount", false},
		{"Written off: other", payrecon.ReviewWrittenOff, "other", false},
		{"容差:fee_rounding", payrecon.ReviewTolerated, "fee_rounding", false},
		{"已核销", "", "", true},
		{"已解决:x", "", "", true},
		{"done", "", "", true},
	} {
		st, code, err := reports.ParseReviewState(c.in)
		if (err != nil) != c.bad || st != c.state || code != c.code {
			t.Errorf("ParseReviewState(%q) = %q %q %v", c.in, st, code, err)
		}
		if err == nil && st != "" {
			if st2, code2, _ := reports.ParseReviewState(reports.ReviewStateLabel(st, code, "en")); st2 != st || code2 != code {
				t.Errorf("%q does not round-trip through its English label", c.in)
			}
		}
	}
}

// Age buckets at their edges, in the JSON ageing section: only pending
// reviews count, the amount is the amount at stake, overdue is past the due day.
func TestAgeingBuckets(t *testing.T) {
	asOf := payrecon.MustDay("2026-12-31")
	var pending []payrecon.Review
	want := map[string]int64{}
	for _, c := range []struct {
		age    int
		bucket string
	}{{0, "0-1"}, {1, "0-1"}, {2, "2-3"}, {3, "2-3"}, {4, "4-7"}, {7, "4-7"}, {8, "8-30"}, {30, "8-30"}, {31, "31+"}, {400, "31+"}} {
		pending = append(pending, payrecon.Review{Key: fmt.Sprint(c.age), Account: "a", State: payrecon.ReviewOpen,
			FirstSeenDay: asOf.Add(-c.age), Amount: 1 << c.age % 7, DueDay: asOf.Add(-c.age + 3)})
		want[c.bucket] += 1 << c.age % 7
	}
	pending = append(pending, payrecon.Review{Key: "x", Account: "a", State: payrecon.ReviewWrittenOff, FirstSeenDay: asOf, Amount: 1000})
	src := reports.Source{Items: func(int64, func(payrecon.Item) error) error { return nil }, Pending: pending, AsOf: asOf}
	var buf bytes.Buffer
	if err := reports.WriteJSON(&buf, src, reports.Options{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Ageing struct {
			AsOf     string `json:"as_of"`
			Accounts []struct {
				Account string `json:"account"`
				Buckets []struct {
					Bucket    string `json:"bucket"`
					Count     int64  `json:"count"`
					AmountFen int64  `json:"amount_fen"`
				} `json:"buckets"`
				Count   int64 `json:"count"`
				Overdue int64 `json:"overdue"`
			} `json:"accounts"`
		} `json:"ageing"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Ageing.Accounts) != 1 || doc.Ageing.Accounts[0].Count != 10 || doc.Ageing.AsOf != string(asOf) {
		t.Fatalf("ageing: %+v", doc.Ageing)
	}
	// Due day = first seen + 3: overdue when older than 3 days (ages 4, 7, 8, 30, 31, 400).
	if doc.Ageing.Accounts[0].Overdue != 6 {
		t.Errorf("overdue %d, want 6", doc.Ageing.Accounts[0].Overdue)
	}
	for _, b := range doc.Ageing.Accounts[0].Buckets {
		if b.AmountFen != want[b.Bucket] || b.Count != 2 {
			t.Errorf("bucket %s: %d items %d fen, want 2 items %d fen", b.Bucket, b.Count, b.AmountFen, want[b.Bucket])
		}
	}
}
