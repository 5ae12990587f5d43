package reports

import "github.com/payrecon/payrecon"

// label is one value's readable name in both languages.
type label struct{ zh, en string }

func (l label) in(lang string) string {
	if lang == "en" {
		return l.en
	}
	return l.zh
}

var classLabels = map[payrecon.Class]label{
	payrecon.ClassMatched:               {"已匹配", "Matched"},
	payrecon.ClassMissingInLedger:       {"账本缺失", "Missing in ledger"},
	payrecon.ClassMissingInBill:         {"账单缺失", "Missing in bill"},
	payrecon.ClassCarriedOver:           {"跨日挂账", "Carried over"},
	payrecon.ClassResolvedLate:          {"跨日已到账", "Resolved late"},
	payrecon.ClassAmountMismatch:        {"金额不符", "Amount mismatch"},
	payrecon.ClassStatusMismatch:        {"状态不符", "Status mismatch"},
	payrecon.ClassDuplicatePayment:      {"重复支付", "Duplicate payment"},
	payrecon.ClassRefundMissingInLedger: {"退款账本缺失", "Refund missing in ledger"},
	payrecon.ClassRefundMissingInBill:   {"退款账单缺失", "Refund missing in bill"},
	payrecon.ClassRefundAmountMismatch:  {"退款金额不符", "Refund amount mismatch"},
	payrecon.ClassFeeMismatch:           {"手续费不符", "Fee mismatch"},
	payrecon.ClassSettlementMismatch:    {"结算金额不符", "Settlement mismatch"},
	payrecon.ClassAgreementMismatch:     {"签约状态不符", "Agreement mismatch"},
	payrecon.ClassOtherBillLine:         {"其他账单行", "Other bill line"},
}

// ClassLabel is the readable name of a class ("账本缺失", "Missing in
// ledger"); an unknown class reads as its machine name.
func ClassLabel(c payrecon.Class, lang string) string {
	if l, ok := classLabels[c]; ok {
		return l.in(lang)
	}
	return string(c)
}

var actionLabels = map[payrecon.ActionKind]label{
	payrecon.ActionBackfillLedger:   {"补记账本", "Backfill ledger"},
	payrecon.ActionReverseLedger:    {"冲正账本", "Reverse ledger"},
	payrecon.ActionCorrectStatus:    {"更正状态", "Correct status"},
	payrecon.ActionRefundDuplicate:  {"退还重复支付", "Refund duplicate"},
	payrecon.ActionCorrectAgreement: {"更正签约状态", "Correct agreement"},
	payrecon.ActionUnsign:           {"解除签约", "Unsign"},
	payrecon.ActionManualReview:     {"人工核查", "Manual review"},
	payrecon.ActionRecheck:          {"次日复核", "Re-check next day"},
}

var actionStateLabels = map[payrecon.ActionState]label{
	payrecon.ActionProposed:  {"待审批", "Proposed"},
	payrecon.ActionApproved:  {"已批准", "Approved"},
	payrecon.ActionApplied:   {"已执行", "Applied"},
	payrecon.ActionDismissed: {"已驳回", "Dismissed"},
	payrecon.ActionFailed:    {"执行失败", "Failed"},
}

var kindLabels = map[payrecon.Kind]label{
	payrecon.KindPayment:   {"支付", "Payment"},
	payrecon.KindRefund:    {"退款", "Refund"},
	payrecon.KindAgreement: {"签约协议", "Agreement"},
	payrecon.KindOther:     {"其他", "Other"},
}

var statusLabels = map[payrecon.Status]label{
	payrecon.StatusSuccess:  {"成功", "Success"},
	payrecon.StatusFailed:   {"失败", "Failed"},
	payrecon.StatusPending:  {"处理中", "Pending"},
	payrecon.StatusClosed:   {"已关闭", "Closed"},
	payrecon.StatusNotPaid:  {"未支付", "Not paid"},
	payrecon.StatusNotFound: {"不存在", "Not found"},
	payrecon.StatusSigned:   {"已签约", "Signed"},
	payrecon.StatusUnsigned: {"已解约", "Unsigned"},
}

var runStateLabels = map[payrecon.RunState]label{
	payrecon.RunRunning:    {"运行中", "Running"},
	payrecon.RunClean:      {"无差异", "Clean"},
	payrecon.RunFindings:   {"有差异", "Discrepancies"},
	payrecon.RunFailed:     {"失败", "Failed"},
	payrecon.RunSuperseded: {"已被替代", "Superseded"},
	payrecon.RunRefused:    {"被拒绝(租约被占用)", "Refused (lease held)"},
	payrecon.RunNotReady:   {"账单未出", "Bill not ready"},
}

var attemptLabels = map[payrecon.AttemptOutcome]label{
	payrecon.AttemptRefused:  {"被拒绝(租约被占用)", "Refused (lease held)"},
	payrecon.AttemptFailed:   {"失败", "Failed"},
	payrecon.AttemptNotReady: {"账单未出", "Bill not ready"},
}

var billKindLabels = map[payrecon.BillKind]label{
	payrecon.BillTrade:      {"交易账单", "Trade bill"},
	payrecon.BillSettlement: {"结算账单", "Settlement bill"},
}

// enumLabel reads a machine value through its label table; unknown and
// empty values stay as they are.
func enumLabel[K ~string](m map[K]label, v K, lang string) string {
	if l, ok := m[v]; ok {
		return l.in(lang)
	}
	return string(v)
}

func yesNo(b bool, lang string) string {
	if b {
		return label{"是", "yes"}.in(lang)
	}
	return label{"否", "no"}.in(lang)
}

// Sheet names carry both languages, so scripts and people find them in
// either report language.
const (
	sheetSummary     = "汇总 Summary"
	sheetDiscrepancy = "差异明细 Discrepancies"
	sheetCarried     = "跨日挂账 Carried over"
	sheetOtherLines  = "其他账单行 Other lines"
	sheetActions     = "修复动作 Actions"
	sheetSettlement  = "结算 Settlement"
	sheetAgeing      = "账龄 Ageing"
	summaryTitleZh   = "对账汇总"
	summaryTitleEn   = "Reconciliation summary"
)
