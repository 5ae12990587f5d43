package payrecon

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The trust boundary (design.md, "The provider contract"): providers
// translate, the domain checks. Every LedgerEntry a verifier or ledger
// source yields and every BillLine a bill parser yields passes Policy
// before it is stored or matched, whatever its provider. A provider only
// declares its facts (Limits); the rules live here, once.

// Validation rules, the names a ValidationError carries and that rejected
// callbacks and failed runs show.
const (
	RuleAmountPositive = "amount_positive" // payment and refund amounts > 0 (agreements: 0)
	RuleAmountMax      = "amount_max"      // every amount within Policy.MaxAmount
	RuleAmountSplit    = "amount_split"    // payer and promotion parts not negative, not above the total
	RuleCurrency       = "currency"        // the account's currency
	RuleStatus         = "status"          // a known status for the kind
	RuleKind           = "kind"            // a known kind for the side
	RuleIDLength       = "id_length"       // identifier within the provider's documented length
	RuleIDCharset      = "id_charset"      // identifier within the provider's documented charset
	RuleIDRequired     = "id_required"     // the identifiers the kind cannot do without
	RuleTime           = "time_window"     // event time present and near its bill day
	RuleText           = "text"            // free text valid UTF-8 and bounded
)

// Defaults of a zero Policy.
const (
	DefaultCurrency  = "CNY"
	DefaultMaxAmount = int64(1_000_000_000) // fen: ¥10,000,000 per transaction
	DefaultIDMaxLen  = 64
	DefaultWindow    = 72 * time.Hour
	// MaxTextLen bounds free text (product names, payloads, provider types), bytes.
	MaxTextLen = 1024
)

// Identifier charsets a provider may declare.
const (
	CharsetPrintable = ""          // printable ASCII without space: 0x21..0x7e
	CharsetAlnum     = "alnum"     // [0-9A-Za-z]
	CharsetOrderNo   = "orderno"   // [0-9A-Za-z_\-|*]
	CharsetOrderNoAt = "orderno@." // [0-9A-Za-z_\-|*@.]
	CharsetDigits    = "digits"    // [0-9]
)

// IDRule is a provider's documented limit for one identifier field.
type IDRule struct {
	MaxLen  int    // bytes; 0 means DefaultIDMaxLen
	Charset string // one of the Charset constants
}

// Limits are a provider's declared identifier limits; the zero value of a
// field means the defaults (64 printable ASCII bytes).
type Limits struct {
	MerchantOrderNo  IDRule
	ProviderTxnNo    IDRule
	MerchantRefundNo IDRule
	ProviderRefundNo IDRule
	AgreementNo      IDRule
	MerchantAgreeNo  IDRule
	// RefundNoLen is the longest merchant refund number the provider takes
	// in a refund request, where that is shorter than what its bills and
	// callbacks may carry (QQ Wallet's statement shows a 34-byte one; its
	// refund API takes 32); 0 means MerchantRefundNo's limit.
	RefundNoLen int
}

// LimitsDeclarer is implemented by a provider client (and may be by its
// callback verifier) to declare its documented identifier limits once.
type LimitsDeclarer interface {
	Limits() Limits
}

// LimitsOf returns v's declared limits, or the defaults when it declares none.
func LimitsOf(v any) Limits {
	if d, ok := v.(LimitsDeclarer); ok {
		return d.Limits()
	}
	return Limits{}
}

// RefundNoMaxLen is the longest merchant refund number the provider takes
// in a refund request: the numbers payrecon derives are no longer.
func (l Limits) RefundNoMaxLen() int {
	if l.RefundNoLen > 0 {
		return min(l.RefundNoLen, l.MerchantRefundNo.maxLen())
	}
	return l.MerchantRefundNo.maxLen()
}

// Policy is what the domain checks a provider's data against, per account.
// The zero value is usable and means the defaults.
type Policy struct {
	Currency  string        // the account's currency; "" means DefaultCurrency
	MaxAmount int64         // fen; 0 means DefaultMaxAmount
	Limits    Limits        // the provider's declared limits
	Window    time.Duration // how far an event may sit outside its bill day; 0 means DefaultWindow
}

// PolicyFor is the policy of an account whose provider declares limits
// through p (a client or verifier; nil for the defaults).
func PolicyFor(a Account, p any) Policy {
	return Policy{Currency: a.Currency, MaxAmount: a.MaxAmount, Limits: LimitsOf(p)}
}

// ValidationError names the broken rule, the field and the offending value.
type ValidationError struct {
	Rule   string
	Field  string
	Value  string // the value as received, shortened and quoted for display
	Detail string
}

func (e *ValidationError) Error() string {
	s := e.Rule + ": " + e.Field
	if e.Value != "" {
		s += " " + e.Value
	}
	if e.Detail != "" {
		s += " " + e.Detail
	}
	return s
}

func verr(rule, field, value, detail string) *ValidationError {
	return &ValidationError{Rule: rule, Field: field, Value: value, Detail: detail}
}

// quote shows a provider's value safely: quoted, escaped, at most 40 runes.
func quote(s string) string {
	if len(s) > 40 {
		n := 40
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		return strconv.Quote(s[:n]) + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return strconv.Quote(s)
}

func (p Policy) currency() string {
	if p.Currency == "" {
		return DefaultCurrency
	}
	return p.Currency
}

func (p Policy) maxAmount() int64 {
	if p.MaxAmount <= 0 {
		return DefaultMaxAmount
	}
	return p.MaxAmount
}

func (p Policy) window() time.Duration {
	if p.Window <= 0 {
		return DefaultWindow
	}
	return p.Window
}

// statusesFor lists the statuses each kind may carry.
func statusOK(k Kind, s Status) bool {
	switch k {
	case KindPayment, KindRefund:
		switch s {
		case StatusSuccess, StatusFailed, StatusPending, StatusClosed, StatusNotPaid:
			return true
		}
	case KindAgreement:
		return s == StatusSigned || s == StatusUnsigned
	case KindOther:
		return s == StatusSuccess || s == StatusFailed || s == StatusPending || s == ""
	}
	return false
}

// CheckEntry validates a ledger entry from any source. It returns a
// *ValidationError naming the first broken rule, or nil.
func (p Policy) CheckEntry(e LedgerEntry) error {
	switch e.Kind {
	case KindPayment, KindRefund, KindAgreement:
	default:
		return verr(RuleKind, "kind", quote(string(e.Kind)), "is not payment, refund or agreement")
	}
	if !statusOK(e.Kind, e.Status) {
		return verr(RuleStatus, "status", quote(string(e.Status)), "is not a known "+string(e.Kind)+" status")
	}
	if err := p.checkMoney(e.Kind, e.Amount, e.PayerAmount, e.PromotionAmount, e.Currency); err != nil {
		return err
	}
	if err := p.checkIDs(e.Kind, &ids{
		order: e.MerchantOrderNo, txn: e.ProviderTxnNo, mrefund: e.MerchantRefundNo, prefund: e.ProviderRefundNo,
		agree: e.AgreementNo, magree: e.MerchantAgreeNo,
	}); err != nil {
		return err
	}
	if err := checkText("plan_id", e.PlanID, 256); err != nil {
		return err
	}
	if err := checkText("event_key", e.EventKey, 512); err != nil {
		return err
	}
	if e.OccurredAt.IsZero() {
		return verr(RuleTime, "occurred_at", "", "is missing")
	}
	if y := e.OccurredAt.Year(); y < 2000 || y > 2100 {
		return verr(RuleTime, "occurred_at", e.OccurredAt.Format(time.RFC3339), "is not a plausible time")
	}
	if !e.ReceivedAt.IsZero() && e.OccurredAt.After(e.ReceivedAt.Add(p.window())) {
		return verr(RuleTime, "occurred_at", e.OccurredAt.Format(time.RFC3339),
			"lies after its receipt at "+e.ReceivedAt.Format(time.RFC3339)+" by more than "+p.window().String())
	}
	return nil
}

// CheckLine validates a bill line of the bill for day. It returns a
// *ValidationError whose Field is the BillLine field (bill parsers name the
// file and line), or nil. A run checking many lines uses Lines(day).
func (p Policy) CheckLine(l BillLine, day Day) error {
	c := p.Lines(day)
	return c.Check(&l)
}

// LineChecker checks the bill lines of one day; see Policy.Lines.
type LineChecker struct {
	p          Policy
	day        Day
	from, to   time.Time // finish times must lie in [from, to)
	max        int64
	hasWindows bool
}

// Lines returns the checker of day's bill lines, with the day's bounds
// worked out once (the run's hot path calls Check for every line).
func (p Policy) Lines(day Day) LineChecker {
	c := LineChecker{p: p, day: day, max: p.maxAmount()}
	if day != "" {
		w := p.window()
		c.from, c.to, c.hasWindows = day.Start().Add(-w), day.End().Add(w), true
	}
	return c
}

// Check validates one line of the checker's day.
func (c *LineChecker) Check(l *BillLine) error {
	p := &c.p
	if d := l.Deduction; d > p.maxAmount() || d < -p.maxAmount() {
		return verr(RuleAmountMax, "deduction", FormatYuan(d), "exceeds "+FormatYuan(p.maxAmount()))
	} else if d != 0 && max(d, -d) > max(l.Amount, -l.Amount) {
		// A commission is a share of the order: one larger than the order
		// would hide money in the settlement it is netted from.
		return verr(RuleAmountSplit, "deduction", FormatYuan(d), "exceeds the amount "+FormatYuan(l.Amount))
	}
	switch l.Kind {
	case KindPayment, KindRefund:
	case KindOther:
		// Lines payrecon does not reconcile are kept as listed: signed
		// amounts are theirs, but bounds, currency and text still hold.
		if l.Amount > p.maxAmount() || l.Amount < -p.maxAmount() {
			return verr(RuleAmountMax, "amount", FormatYuan(l.Amount), "exceeds "+FormatYuan(p.maxAmount()))
		}
		if err := p.checkCurrency(l.Currency); err != nil {
			return err
		}
		if !statusOK(l.Kind, l.Status) {
			return verr(RuleStatus, "status", quote(string(l.Status)), "is not a known status")
		}
		return p.checkLineText(l)
	default:
		return verr(RuleKind, "kind", quote(string(l.Kind)), "is not payment, refund or other")
	}
	if !statusOK(l.Kind, l.Status) {
		return verr(RuleStatus, "status", quote(string(l.Status)), "is not a known "+string(l.Kind)+" status")
	}
	if l.Bill == BillSettlement {
		// Settlement rows are signed money movements; only bounds apply.
		if l.Settlement > p.maxAmount() || l.Settlement < -p.maxAmount() {
			return verr(RuleAmountMax, "settlement", FormatYuan(l.Settlement), "exceeds "+FormatYuan(p.maxAmount()))
		}
		if err := p.checkCurrency(l.Currency); err != nil {
			return err
		}
		return p.checkLineText(l)
	}
	if err := p.checkMoney(l.Kind, l.Amount, l.PayerAmount, l.PromotionAmount, l.Currency); err != nil {
		return err
	}
	if f := l.Fee; f > p.maxAmount() || f < -p.maxAmount() {
		return verr(RuleAmountMax, "fee", FormatYuan(f), "exceeds "+FormatYuan(p.maxAmount()))
	}
	if s := l.Settlement; s > p.maxAmount() || s < -p.maxAmount() {
		return verr(RuleAmountMax, "settlement", FormatYuan(s), "exceeds "+FormatYuan(p.maxAmount()))
	}
	if l.FeeRatePPM < 0 || l.FeeRatePPM > 1_000_000 {
		return verr(RuleAmountMax, "fee_rate", strconv.FormatInt(l.FeeRatePPM, 10)+" ppm", "is not within 0..100%")
	}
	if err := p.checkIDs(l.Kind, &ids{
		order: l.MerchantOrderNo, txn: l.ProviderTxnNo, mrefund: l.MerchantRefundNo, prefund: l.ProviderRefundNo,
	}); err != nil {
		return err
	}
	if c.hasWindows && !l.FinishedAt.IsZero() && (l.FinishedAt.Before(c.from) || !l.FinishedAt.Before(c.to)) {
		return verr(RuleTime, "finished_at", l.FinishedAt.In(Shanghai).Format("2006-01-02 15:04:05"),
			"is more than "+p.window().String()+" outside bill day "+string(c.day))
	}
	return p.checkLineText(l)
}

func (p *Policy) checkLineText(l *BillLine) error {
	if err := checkText("type", l.Type, MaxTextLen); err != nil {
		return err
	}
	if err := checkText("product", l.Product, MaxTextLen); err != nil {
		return err
	}
	return checkText("payload", l.Payload, MaxTextLen)
}

func (p *Policy) checkCurrency(c string) error {
	if c != "" && c != p.currency() {
		return verr(RuleCurrency, "currency", quote(c), "is not the account's "+p.currency())
	}
	return nil
}

// checkMoney: amounts of a payment or refund are positive and bounded;
// an agreement moves no money.
func (p *Policy) checkMoney(k Kind, amount, payer, promo int64, currency string) error {
	max := p.maxAmount()
	if k == KindAgreement {
		if amount != 0 || payer != 0 || promo != 0 {
			return verr(RuleAmountPositive, "amount", FormatYuan(amount), "must be 0 for an agreement")
		}
		return nil
	}
	if amount <= 0 {
		return verr(RuleAmountPositive, "amount", FormatYuan(amount), "must be > 0")
	}
	if amount > max {
		return verr(RuleAmountMax, "amount", FormatYuan(amount), "exceeds "+FormatYuan(max))
	}
	if payer < 0 {
		return verr(RuleAmountSplit, "payer_amount", FormatYuan(payer), "must not be negative")
	}
	if promo < 0 {
		return verr(RuleAmountSplit, "promotion_amount", FormatYuan(promo), "must not be negative")
	}
	if payer > amount {
		return verr(RuleAmountSplit, "payer_amount", FormatYuan(payer), "exceeds the amount "+FormatYuan(amount))
	}
	if promo > amount {
		return verr(RuleAmountSplit, "promotion_amount", FormatYuan(promo), "exceeds the amount "+FormatYuan(amount))
	}
	return p.checkCurrency(currency)
}

type ids struct{ order, txn, mrefund, prefund, agree, magree string }

func (p *Policy) checkIDs(k Kind, v *ids) error {
	lim := &p.Limits
	if err := lim.MerchantOrderNo.check("merchant_order_no", v.order); err != nil {
		return err
	}
	if err := lim.ProviderTxnNo.check("provider_txn_no", v.txn); err != nil {
		return err
	}
	if err := lim.MerchantRefundNo.check("merchant_refund_no", v.mrefund); err != nil {
		return err
	}
	if err := lim.ProviderRefundNo.check("provider_refund_no", v.prefund); err != nil {
		return err
	}
	if err := lim.AgreementNo.check("agreement_no", v.agree); err != nil {
		return err
	}
	if err := lim.MerchantAgreeNo.check("merchant_agreement_no", v.magree); err != nil {
		return err
	}
	switch k {
	case KindPayment:
		if v.order == "" && v.txn == "" {
			return verr(RuleIDRequired, "merchant_order_no", "", "and provider_txn_no are both missing")
		}
	case KindRefund:
		if v.mrefund == "" && v.prefund == "" {
			return verr(RuleIDRequired, "merchant_refund_no", "", "and provider_refund_no are both missing")
		}
	case KindAgreement:
		if v.agree == "" && v.magree == "" {
			return verr(RuleIDRequired, "agreement_no", "", "and merchant_agreement_no are both missing")
		}
	}
	return nil
}

func (r *IDRule) maxLen() int {
	if r.MaxLen <= 0 {
		return DefaultIDMaxLen
	}
	return r.MaxLen
}

// charset tables, indexed by byte.
var (
	csPrintable, csAlnum, csOrderNo, csOrderNoAt, csDigits [256]bool
)

func init() {
	for c := 0x21; c <= 0x7e; c++ {
		csPrintable[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		csAlnum[c], csDigits[c] = true, true
	}
	for c := 'a'; c <= 'z'; c++ {
		csAlnum[c], csAlnum[c-'a'+'A'] = true, true
	}
	csOrderNo = csAlnum
	for _, c := range "_-|*" {
		csOrderNo[c] = true
	}
	csOrderNoAt = csOrderNo
	csOrderNoAt['@'], csOrderNoAt['.'] = true, true
}

func (r *IDRule) table() (*[256]bool, string) {
	switch r.Charset {
	case CharsetAlnum:
		return &csAlnum, "[0-9A-Za-z]"
	case CharsetOrderNo:
		return &csOrderNo, "[0-9A-Za-z_-|*]"
	case CharsetOrderNoAt:
		return &csOrderNoAt, "[0-9A-Za-z_-|*@.]"
	case CharsetDigits:
		return &csDigits, "[0-9]"
	}
	return &csPrintable, "printable ASCII"
}

func (r *IDRule) check(field, v string) error {
	if v == "" {
		return nil
	}
	if n := r.maxLen(); len(v) > n {
		return verr(RuleIDLength, field, quote(v), fmt.Sprintf("is %d bytes, longer than the provider's %d", len(v), n))
	}
	tab, name := r.table()
	for i := 0; i < len(v); i++ {
		if !tab[v[i]] {
			return verr(RuleIDCharset, field, quote(v), fmt.Sprintf("has byte 0x%02x at %d outside %s", v[i], i, name))
		}
	}
	return nil
}

// checkText: free text is valid UTF-8, without NUL, at most max bytes.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return verr(RuleText, field, quote(s), fmt.Sprintf("is %d bytes, more than %d", len(s), max))
	}
	if !utf8.ValidString(s) {
		return verr(RuleText, field, quote(s), "is not valid UTF-8")
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return verr(RuleText, field, quote(s), "contains a NUL byte")
		}
	}
	return nil
}

// StatusMap is a provider's documented status words and what each means.
// A provider declares it once; callbacks and bills map through Map, so an
// undocumented word is refused instead of read as some default.
type StatusMap map[string]Status

// Map returns the status raw stands for, or a *ValidationError (rule
// status) naming the provider's field and the value.
func (m StatusMap) Map(field, raw string) (Status, error) {
	if st, ok := m[raw]; ok {
		return st, nil
	}
	return "", verr(RuleStatus, field, quote(raw), "is not a documented value")
}

// StatusWord is raw trimmed and upper-cased, for providers whose status
// words arrive in any case with blanks around them (QQ Wallet, Douyin):
// their StatusMap keys are the upper-case words.
func StatusWord(raw string) string { return strings.ToUpper(strings.TrimSpace(raw)) }

// StatusPhrase reads a Chinese status phrase a bill prints beyond its
// documented words by what it says — for bills whose words are not all
// published (QQ Wallet's 退款状态, Douyin's 支付/退款/分账状态): 失败 is
// failed; 超时 or 关闭 closed; 处理中, 退款中, 支付中, 分账中 or 结算中
// pending; 成功, a phrase ending in 完成, or 已支付, 已付款, 已退款, 已分账,
// 已结算, 已完成 success. A negated phrase (未, 不, 非, 没, 无: 不成功,
// 未完成 …) is not read as the word it negates: ok is false, as for any
// phrase it does not know.
func StatusPhrase(raw string) (st Status, ok bool) {
	s := StatusWord(raw)
	if strings.ContainsAny(s, "未不非没无") {
		return "", false
	}
	switch {
	case strings.Contains(s, "失败"):
		return StatusFailed, true
	case strings.Contains(s, "超时") || strings.Contains(s, "关闭"):
		return StatusClosed, true
	case strings.Contains(s, "处理中") || strings.Contains(s, "退款中") || strings.Contains(s, "支付中") || strings.Contains(s, "分账中") || strings.Contains(s, "结算中"):
		return StatusPending, true
	case strings.Contains(s, "成功") || strings.HasSuffix(s, "完成") || donePhrases[s]:
		return StatusSuccess, true
	}
	return "", false
}

// donePhrases are the "already done" phrases read as success.
var donePhrases = map[string]bool{"已支付": true, "已付款": true, "已退款": true, "已分账": true, "已结算": true, "已完成": true}

// Or returns the status raw stands for, or def for an undocumented word:
// for query answers, where the item is looked at again later.
func (m StatusMap) Or(raw string, def Status) Status {
	if st, ok := m[raw]; ok {
		return st
	}
	return def
}
