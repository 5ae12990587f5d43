package reports

import (
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// colType says how a column is rendered in each format.
type colType int

const (
	// colText is free text from a provider, a callback or an operator:
	// escaped against formula injection in xlsx and CSV, raw in JSON.
	colText colType = iota
	// colCode is text payrecon itself makes (days, keys); escaped like
	// colText all the same, in case a store hands back something odd.
	colCode
	// colEnum is a machine value: its label in the workbook, the machine
	// name in CSV and JSON (escaped in the workbook and CSV like text, which
	// changes nothing for the known values).
	colEnum
	// colMoney is fen: a number cell in yuan ("0.00") in the workbook,
	// and both NAME_fen (integer) and NAME (yuan string) in CSV and JSON.
	colMoney
	// colTime is a date cell in Asia/Shanghai in the workbook and RFC3339
	// with +08:00 in CSV and JSON; the zero time is an empty cell / null.
	colTime
	// colInt is an integer; 0 is empty (no such id).
	colInt
)

// column is one column of a detail table, shared by all three formats so
// they cannot drift apart.
type column struct {
	name   string // machine name: CSV header, JSON key
	zh, en string // workbook header
	typ    colType
	width  float64 // workbook column width
	// enum columns: the label of a machine value.
	label func(v, lang string) string
	// withCode: the workbook shows the label and, in the next column
	// headed codeZh/codeEn, the machine name (used for the class).
	withCode       bool
	codeZh, codeEn string
}

// cell is one value of a row before rendering.
type cell struct {
	s string
	n int64
	t time.Time
}

func (c column) header(lang string) string {
	if lang == "en" {
		return c.en
	}
	return c.zh
}

// itemRow is an item with what the reports join to it.
type itemRow struct {
	runID  int64
	it     payrecon.Item
	key    string // it.Key()
	act    payrecon.Action
	hasAct bool
}

// proposed is the action the run decided for the item (jobs/classify.go),
// as stored with it.
func (r *itemRow) proposed() payrecon.ActionKind { return r.it.Action }

func classLabelOf(v, lang string) string  { return ClassLabel(payrecon.Class(v), lang) }
func kindLabelOf(v, lang string) string   { return enumLabel(kindLabels, payrecon.Kind(v), lang) }
func statusLabelOf(v, lang string) string { return enumLabel(statusLabels, payrecon.Status(v), lang) }
func actionLabelOf(v, lang string) string {
	return enumLabel(actionLabels, payrecon.ActionKind(v), lang)
}
func actionStateLabelOf(v, lang string) string {
	return enumLabel(actionStateLabels, payrecon.ActionState(v), lang)
}

// itemColumns are the columns of every item table: the workbook's detail
// sheets, the CSV and the JSON items.
var itemColumns = []column{
	{name: "account", zh: "账户", en: "Account", typ: colText, width: 14},
	{name: "day", zh: "账单日", en: "Bill day", typ: colCode, width: 12},
	{name: "class", zh: "差异类别", en: "Class", typ: colEnum, width: 14, label: classLabelOf, withCode: true, codeZh: "类别代码", codeEn: "Class code"},
	{name: "kind", zh: "业务类型", en: "Kind", typ: colEnum, width: 10, label: kindLabelOf},
	{name: "merchant_order_no", zh: "商户订单号", en: "Merchant order no", typ: colText, width: 26},
	{name: "provider_txn_no", zh: "支付机构交易号", en: "Provider txn no", typ: colText, width: 30},
	{name: "merchant_refund_no", zh: "商户退款单号", en: "Merchant refund no", typ: colText, width: 22},
	{name: "provider_refund_no", zh: "支付机构退款单号", en: "Provider refund no", typ: colText, width: 24},
	{name: "agreement_no", zh: "签约协议号", en: "Agreement no", typ: colText, width: 20},
	{name: "ledger_amount", zh: "账本金额(元)", en: "Ledger amount", typ: colMoney, width: 14},
	{name: "bill_amount", zh: "账单金额(元)", en: "Bill amount", typ: colMoney, width: 14},
	{name: "difference", zh: "差额(元)", en: "Difference", typ: colMoney, width: 12},
	{name: "ledger_status", zh: "账本状态", en: "Ledger status", typ: colEnum, width: 12, label: statusLabelOf},
	{name: "provider_status", zh: "支付机构状态", en: "Provider status", typ: colEnum, width: 14, label: statusLabelOf},
	{name: "ledger_time", zh: "账本时间", en: "Ledger time", typ: colTime, width: 20},
	{name: "bill_time", zh: "账单时间", en: "Bill time", typ: colTime, width: 20},
	{name: "ledger_fee", zh: "应收手续费(元)", en: "Expected fee", typ: colMoney, width: 16},
	{name: "bill_fee", zh: "账单手续费(元)", en: "Bill fee", typ: colMoney, width: 16},
	{name: "origin_day", zh: "首次出现日", en: "Origin day", typ: colCode, width: 12},
	{name: "product", zh: "商品", en: "Product", typ: colText, width: 24},
	{name: "note", zh: "说明", en: "Note", typ: colText, width: 30},
	{name: "proposed_action", zh: "建议动作", en: "Proposed action", typ: colEnum, width: 14, label: actionLabelOf},
	{name: "action_state", zh: "动作状态", en: "Action state", typ: colEnum, width: 12, label: actionStateLabelOf},
	{name: "action_id", zh: "动作编号", en: "Action ID", typ: colInt, width: 10},
	{name: "run_id", zh: "对账批次", en: "Run ID", typ: colInt, width: 10},
	{name: "key", zh: "差异标识", en: "Discrepancy key", typ: colCode, width: 34},
	{name: "resolves_key", zh: "所核销挂账标识", en: "Resolves key", typ: colCode, width: 34},
	{name: "bill_files", zh: "账单文件", en: "Bill files", typ: colText, width: 30},
}

// itemCells fills dst (len(itemColumns)) with r's values in column order.
func itemCells(dst []cell, r *itemRow) {
	it := &r.it
	var state payrecon.ActionState
	var actID int64
	if r.hasAct {
		state, actID = r.act.State, r.act.ID
	}
	vals := [...]cell{
		{s: it.Account},
		{s: string(it.Day)},
		{s: string(it.Class)},
		{s: string(it.Kind)},
		{s: it.MerchantOrderNo},
		{s: it.ProviderTxnNo},
		{s: it.MerchantRefundNo},
		{s: it.ProviderRefundNo},
		{s: it.AgreementNo},
		{n: it.LedgerAmount},
		{n: it.BillAmount},
		{n: it.Delta},
		{s: string(it.LedgerStatus)},
		{s: string(it.ProviderStatus)},
		{t: it.LedgerTime},
		{t: it.BillTime},
		{n: it.LedgerFee},
		{n: it.BillFee},
		{s: string(it.OriginDay)},
		{s: it.Product},
		{s: it.Note},
		{s: string(r.proposed())},
		{s: string(state)},
		{n: actID},
		{n: r.runID},
		{s: r.key},
		{s: it.ResolvesKey},
		{s: strings.Join(it.BillFiles, "; ")},
	}
	copy(dst, vals[:])
}

// actionColumns are the columns of the action table (workbook sheet and
// JSON actions, without the audit trail, which each renders its own way).
var actionColumns = []column{
	{name: "action_id", zh: "动作编号", en: "Action ID", typ: colInt, width: 10},
	{name: "account", zh: "账户", en: "Account", typ: colText, width: 14},
	{name: "day", zh: "账单日", en: "Bill day", typ: colCode, width: 12},
	{name: "kind", zh: "动作", en: "Action", typ: colEnum, width: 14, label: actionLabelOf},
	{name: "state", zh: "状态", en: "State", typ: colEnum, width: 10, label: actionStateLabelOf},
	{name: "class", zh: "差异类别", en: "Class", typ: colEnum, width: 14, label: classLabelOf, withCode: true, codeZh: "类别代码", codeEn: "Class code"},
	{name: "merchant_order_no", zh: "商户订单号", en: "Merchant order no", typ: colText, width: 26},
	{name: "provider_txn_no", zh: "支付机构交易号", en: "Provider txn no", typ: colText, width: 30},
	{name: "merchant_refund_no", zh: "商户退款单号", en: "Merchant refund no", typ: colText, width: 22},
	{name: "difference", zh: "差额(元)", en: "Difference", typ: colMoney, width: 12},
	{name: "idempotency_key", zh: "幂等键", en: "Idempotency key", typ: colText, width: 30},
	{name: "approved_by", zh: "审批人", en: "Approved by", typ: colText, width: 12},
	{name: "reason", zh: "原因", en: "Reason", typ: colText, width: 24},
	{name: "result", zh: "执行结果", en: "Result", typ: colText, width: 24},
	{name: "created_at", zh: "创建时间", en: "Created at", typ: colTime, width: 20},
	{name: "updated_at", zh: "更新时间", en: "Updated at", typ: colTime, width: 20},
	{name: "discrepancy_key", zh: "差异标识", en: "Discrepancy key", typ: colCode, width: 34},
}

func actionCells(dst []cell, a *payrecon.Action) {
	vals := [...]cell{
		{n: a.ID},
		{s: a.Account},
		{s: string(a.Day)},
		{s: string(a.Kind)},
		{s: string(a.State)},
		{s: string(a.Item.Class)},
		{s: a.Item.MerchantOrderNo},
		{s: a.Item.ProviderTxnNo},
		{s: a.Item.MerchantRefundNo},
		{n: a.Item.Delta},
		{s: a.IdempotencyKey},
		{s: a.ApprovedBy},
		{s: a.Reason},
		{s: a.Result},
		{t: a.CreatedAt},
		{t: a.UpdatedAt},
		{s: a.DiscrepancyKey},
	}
	copy(dst, vals[:])
}

// auditLine renders one audit entry for the workbook's audit summary.
func auditLine(e payrecon.AuditEntry) string {
	var b strings.Builder
	if !e.At.IsZero() {
		b.WriteString(e.At.In(payrecon.Shanghai).Format("2006-01-02 15:04:05"))
		b.WriteByte(' ')
	}
	b.WriteString(e.Actor)
	b.WriteByte(' ')
	b.WriteString(e.Step)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// machineTime is the CSV and JSON form of a time: RFC3339 in Shanghai.
func machineTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(payrecon.Shanghai).Format(time.RFC3339)
}
