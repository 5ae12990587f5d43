package reports

import (
	"encoding/json"
	"sort"

	"github.com/payrecon/payrecon"
)

// Ageing of pending (open, investigating) discrepancies: per account, the
// count and amount at stake in each age bucket, counted from the day each
// was first seen to the report's last day (Source.AsOf).

type ageBucket struct {
	name   string // machine name (JSON)
	zh, en string
	max    int // inclusive upper bound in days; -1: none
}

var ageBuckets = []ageBucket{
	{"0-1", "0–1天", "0–1 days", 1},
	{"2-3", "2–3天", "2–3 days", 3},
	{"4-7", "4–7天", "4–7 days", 7},
	{"8-30", "8–30天", "8–30 days", 30},
	{"31+", ">30天", ">30 days", -1},
}

func bucketOf(age int) int {
	for i, b := range ageBuckets {
		if b.max < 0 || age <= b.max {
			return i
		}
	}
	return len(ageBuckets) - 1
}

type ageRow struct {
	account  string
	count    []int64
	amount   []int64
	total    int64
	totalAmt int64
	overdue  int64
}

// ageingRows buckets pending by account (sorted), with a total row last
// when there is more than one account.
func ageingRows(pending []payrecon.Review, asOf payrecon.Day) []ageRow {
	by := map[string]*ageRow{}
	for _, r := range pending {
		if !r.State.Pending() {
			continue
		}
		row := by[r.Account]
		if row == nil {
			row = &ageRow{account: r.Account, count: make([]int64, len(ageBuckets)), amount: make([]int64, len(ageBuckets))}
			by[r.Account] = row
		}
		i := bucketOf(max(r.AgeDays(asOf), 0))
		row.count[i]++
		row.amount[i] += r.Amount
		row.total++
		row.totalAmt += r.Amount
		if r.DueDay != "" && r.DueDay < asOf {
			row.overdue++
		}
	}
	out := make([]ageRow, 0, len(by))
	for _, row := range by {
		out = append(out, *row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].account < out[j].account })
	return out
}

// ageing writes the ageing sheet, last (only when the source has review state).
func (b *book) ageing() error {
	if b.src.AsOf == "" {
		return nil
	}
	if _, err := b.f.NewSheet(sheetAgeing); err != nil {
		return err
	}
	if err := printFit(b.f, sheetAgeing, true); err != nil {
		return err
	}
	g := b.grid(sheetAgeing)
	g.loose(1, 1, b.tr("未结差异账龄（待处理、调查中），截至 ", "Ageing of open discrepancies (open, investigating) as of ")+string(b.src.AsOf), b.sTitle)
	hdr := []string{b.tr("账户", "Account")}
	for _, bk := range ageBuckets {
		hdr = append(hdr, label{bk.zh, bk.en}.in(b.lang)+b.tr(" 笔数", " count"), label{bk.zh, bk.en}.in(b.lang)+b.tr(" 金额(元)", " amount"))
	}
	hdr = append(hdr, b.tr("合计笔数", "Total count"), b.tr("合计金额(元)", "Total amount"), b.tr("逾期笔数", "Overdue"))
	g.header(3, hdr...)
	rows := ageingRows(b.src.Pending, b.src.AsOf)
	row := 4
	sum := ageRow{count: make([]int64, len(ageBuckets)), amount: make([]int64, len(ageBuckets))}
	for _, r := range rows {
		g.set(1, row, text(r.account), 0)
		for i := range ageBuckets {
			g.set(2+2*i, row, r.count[i], 0)
			g.set(3+2*i, row, money(r.amount[i]), 0)
			sum.count[i] += r.count[i]
			sum.amount[i] += r.amount[i]
		}
		c := 2 + 2*len(ageBuckets)
		g.set(c, row, r.total, 0)
		g.set(c+1, row, money(r.totalAmt), 0)
		g.set(c+2, row, r.overdue, 0)
		sum.total += r.total
		sum.totalAmt += r.totalAmt
		sum.overdue += r.overdue
		row++
	}
	g.set(1, row, b.tr("合计", "Total"), b.sBold)
	for i := range ageBuckets {
		g.set(2+2*i, row, sum.count[i], b.sBold)
		g.set(3+2*i, row, money(sum.amount[i]), b.sBoldMoney)
	}
	c := 2 + 2*len(ageBuckets)
	g.set(c, row, sum.total, b.sBold)
	g.set(c+1, row, money(sum.totalAmt), b.sBoldMoney)
	g.set(c+2, row, sum.overdue, b.sBold)
	return g.finish()
}

// JSON form of the ageing section.
type (
	jsonAgeing struct {
		AsOf     payrecon.Day        `json:"as_of"`
		Buckets  []string            `json:"buckets"`
		Accounts []jsonAgeingAccount `json:"accounts"`
	}
	jsonAgeingAccount struct {
		Account   string       `json:"account"`
		Buckets   []jsonBucket `json:"buckets"`
		Count     int64        `json:"count"`
		AmountFen int64        `json:"amount_fen"`
		Amount    string       `json:"amount"`
		Overdue   int64        `json:"overdue"`
	}
	jsonBucket struct {
		Bucket    string `json:"bucket"`
		Count     int64  `json:"count"`
		AmountFen int64  `json:"amount_fen"`
		Amount    string `json:"amount"`
	}
)

func ageingJSON(src Source) ([]byte, error) {
	out := jsonAgeing{AsOf: src.AsOf, Accounts: []jsonAgeingAccount{}}
	for _, bk := range ageBuckets {
		out.Buckets = append(out.Buckets, bk.name)
	}
	for _, r := range ageingRows(src.Pending, src.AsOf) {
		a := jsonAgeingAccount{Account: r.account, Count: r.total, AmountFen: r.totalAmt, Amount: payrecon.FormatYuan(r.totalAmt), Overdue: r.overdue}
		for i, bk := range ageBuckets {
			a.Buckets = append(a.Buckets, jsonBucket{Bucket: bk.name, Count: r.count[i], AmountFen: r.amount[i], Amount: payrecon.FormatYuan(r.amount[i])})
		}
		out.Accounts = append(out.Accounts, a)
	}
	return json.Marshal(out)
}
