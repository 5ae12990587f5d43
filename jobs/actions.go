package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// ActionStore is what the Actions service needs of the store: the action
// contract of the root package plus ChangeAction, which records a step with
// its audit row and the fields it sets (the refund number before a refund,
// the result after it).
type ActionStore interface {
	payrecon.ActionStore
	payrecon.ActionChanger
}

// AutoApplicable lists the action kinds that configuration may auto-apply:
// they only change payrecon's own ledger, and only after the provider has
// confirmed the fact again.
var AutoApplicable = []payrecon.ActionKind{
	payrecon.ActionBackfillLedger,
	payrecon.ActionCorrectStatus,
	payrecon.ActionCorrectAgreement,
}

// ActionsConfig configures the Actions service.
type ActionsConfig struct {
	// AutoApply lists the kinds applied without an operator right after a
	// run is stored (jobs.auto_apply in the configuration).
	AutoApply []payrecon.ActionKind
	// ProviderActions lists the money-moving kinds operators may apply
	// (jobs.provider_actions); nil means all. Each provider checks the
	// configuration those kinds need (payrecon.ActionConfigChecker) when
	// the service is built.
	ProviderActions []payrecon.ActionKind
}

// ProviderActionKinds are the kinds that act at the provider.
var ProviderActionKinds = []payrecon.ActionKind{payrecon.ActionRefundDuplicate, payrecon.ActionCloseOrder, payrecon.ActionUnsign}

// CheckProviderActions asks every provider that needs configuration for
// its repair actions (payrecon.ActionConfigChecker) whether the enabled
// kinds (nil: all) have it; errors name the account.
func CheckProviderActions(providers map[string]payrecon.Provider, enabled []payrecon.ActionKind) error {
	if enabled == nil {
		enabled = ProviderActionKinds
	}
	names := make([]string, 0, len(providers))
	for n := range providers {
		names = append(names, n)
	}
	slices.Sort(names)
	var errs []error
	for _, n := range names {
		if c, ok := providers[n].(payrecon.ActionConfigChecker); ok {
			if err := c.CheckActions(enabled); err != nil {
				errs = append(errs, fmt.Errorf("account %s: %w", n, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Validate refuses kinds that may not be auto-applied, naming the field.
func (c ActionsConfig) Validate() error {
	var errs []error
	for i, k := range c.AutoApply {
		switch {
		case k.MovesMoney():
			errs = append(errs, fmt.Errorf("jobs.auto_apply[%d]: %q moves money and needs an operator's approval", i, k))
		case !slices.Contains(AutoApplicable, k):
			errs = append(errs, fmt.Errorf("jobs.auto_apply[%d]: %q cannot be auto-applied (allowed: %s)", i, k, kindList(AutoApplicable)))
		}
	}
	return errors.Join(errs...)
}

func kindList(ks []payrecon.ActionKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// ActionsDeps wires the Actions service.
type ActionsDeps struct {
	Store        ActionStore
	Ledger       payrecon.LedgerWriter
	LedgerReader payrecon.LedgerReader
	// Providers by account name; a provider's optional capabilities
	// (OrderQuerier, RefundQuerier, AgreementQuerier, Refunder, Unsigner)
	// are found by type assertion.
	Providers map[string]payrecon.Provider
	Logger    *slog.Logger
	Now       func() time.Time
	Config    ActionsConfig
}

// Actions lists, approves, dismisses and applies repair actions, writing
// every step to the audit trail.
type Actions struct {
	store     ActionStore
	ledger    payrecon.LedgerWriter
	reader    payrecon.LedgerReader
	providers map[string]payrecon.Provider
	log       *slog.Logger
	now       func() time.Time
	auto      []payrecon.ActionKind
}

// NewActions checks the wiring and the configuration.
func NewActions(d ActionsDeps) (*Actions, error) {
	var errs []error
	if d.Store == nil {
		errs = append(errs, errors.New("actions: store is required"))
	}
	if d.Ledger == nil {
		errs = append(errs, errors.New("actions: ledger writer is required"))
	}
	if d.LedgerReader == nil {
		errs = append(errs, errors.New("actions: ledger reader is required"))
	}
	if d.Now == nil {
		errs = append(errs, errors.New("actions: now func is required"))
	}
	if err := d.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := CheckProviderActions(d.Providers, d.Config.ProviderActions); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Actions{
		store: d.Store, ledger: d.Ledger, reader: d.LedgerReader,
		providers: d.Providers, log: log, now: d.Now,
		auto: slices.Clone(d.Config.AutoApply),
	}, nil
}

// Actor names used in the audit trail when no operator acts.
const ActorAuto = "auto"

// List returns the actions the filter selects.
func (s *Actions) List(ctx context.Context, f payrecon.ActionFilter) ([]payrecon.Action, error) {
	return s.store.ListActions(ctx, f)
}

// Get returns one action and its audit trail.
func (s *Actions) Get(ctx context.Context, id int64) (payrecon.Action, []payrecon.AuditEntry, error) {
	a, err := s.store.GetAction(ctx, id)
	if err != nil {
		return payrecon.Action{}, nil, err
	}
	audit, err := s.store.ActionAudit(ctx, id)
	if err != nil {
		return payrecon.Action{}, nil, err
	}
	return a, audit, nil
}

func requireOperator(op string) error {
	if strings.TrimSpace(op) == "" {
		return errors.New("operator is required")
	}
	return nil
}

// Approve marks a proposed (or failed) action approved by operator for
// reason. Money-moving actions can only be applied once approved.
func (s *Actions) Approve(ctx context.Context, id int64, operator, reason string) (payrecon.Action, error) {
	if err := requireOperator(operator); err != nil {
		return payrecon.Action{}, fmt.Errorf("approve action %d: %w", id, err)
	}
	if strings.TrimSpace(reason) == "" {
		return payrecon.Action{}, fmt.Errorf("approve action %d: reason is required", id)
	}
	a, err := s.change(ctx, id, payrecon.ActionChange{
		From: []payrecon.ActionState{payrecon.ActionProposed, payrecon.ActionFailed},
		To:   payrecon.ActionApproved, Actor: operator, Step: "approved", Detail: reason,
		ApprovedBy: operator, Reason: reason,
	})
	if err != nil {
		return a, fmt.Errorf("approve action %d: %w", id, err)
	}
	s.log.InfoContext(ctx, "action approved", "id", id, "kind", a.Kind, "account", a.Account, "operator", operator)
	return a, nil
}

// Dismiss closes an action that is not applied, recording why.
func (s *Actions) Dismiss(ctx context.Context, id int64, operator, reason string) (payrecon.Action, error) {
	if err := requireOperator(operator); err != nil {
		return payrecon.Action{}, fmt.Errorf("dismiss action %d: %w", id, err)
	}
	if strings.TrimSpace(reason) == "" {
		return payrecon.Action{}, fmt.Errorf("dismiss action %d: reason is required", id)
	}
	a, err := s.change(ctx, id, payrecon.ActionChange{
		From: []payrecon.ActionState{payrecon.ActionProposed, payrecon.ActionApproved, payrecon.ActionFailed},
		To:   payrecon.ActionDismissed, Actor: operator, Step: "dismissed", Detail: reason, Reason: reason,
	})
	if err != nil {
		return a, fmt.Errorf("dismiss action %d: %w", id, err)
	}
	s.log.InfoContext(ctx, "action dismissed", "id", id, "kind", a.Kind, "account", a.Account, "operator", operator)
	return a, nil
}

// change records c, and on ErrInvalidState says which state the action is in.
func (s *Actions) change(ctx context.Context, id int64, c payrecon.ActionChange) (payrecon.Action, error) {
	a, err := s.store.ChangeAction(ctx, id, c)
	if errors.Is(err, payrecon.ErrInvalidState) {
		if cur, gerr := s.store.GetAction(ctx, id); gerr == nil {
			return cur, fmt.Errorf("action is %s, %s needs %s: %w", cur.State, c.Step, stateList(c.From), err)
		}
	}
	return a, err
}

func stateList(ss []payrecon.ActionState) string {
	out := make([]string, len(ss))
	for i, st := range ss {
		out[i] = string(st)
	}
	return strings.Join(out, " or ")
}

// ApplyResult says what Apply did.
type ApplyResult struct {
	Action payrecon.Action
	// AlreadyApplied is true when the action had been applied before:
	// nothing was done this time.
	AlreadyApplied bool
	Message        string
}

// applyFrom lists the states an action of kind k may be applied from.
// Money-moving kinds need approval; failed ones may be retried, money-moving
// ones only when they had been approved.
func applyFrom(a payrecon.Action) []payrecon.ActionState {
	if a.Kind.MovesMoney() {
		from := []payrecon.ActionState{payrecon.ActionApproved}
		if a.State == payrecon.ActionFailed && a.ApprovedBy != "" {
			from = append(from, payrecon.ActionFailed)
		}
		return from
	}
	return []payrecon.ActionState{payrecon.ActionProposed, payrecon.ActionApproved, payrecon.ActionFailed}
}

// Applicable reports whether Apply knows how to carry out kind k.
func Applicable(k payrecon.ActionKind) bool {
	switch k {
	case payrecon.ActionBackfillLedger, payrecon.ActionReverseLedger, payrecon.ActionCorrectStatus,
		payrecon.ActionCorrectAgreement, payrecon.ActionRefundDuplicate, payrecon.ActionUnsign,
		payrecon.ActionCloseOrder:
		return true
	}
	return false
}

// Apply carries out an action for operator. It is idempotent: an applied
// action is left alone (AlreadyApplied), and the provider calls it makes
// are themselves idempotent (a refund uses the action's deterministic
// refund number), so a crash between the provider call and the state change
// is repaired by applying again. Safe actions re-check the fact with the
// provider first. A failure is recorded as state failed with the error, and
// returned. Applying a money-moving action that is not approved returns
// ErrInvalidState and changes nothing.
func (s *Actions) Apply(ctx context.Context, id int64, operator string) (ApplyResult, error) {
	if err := requireOperator(operator); err != nil {
		return ApplyResult{}, fmt.Errorf("apply action %d: %w", id, err)
	}
	return s.apply(ctx, id, operator, "", false)
}

// ApplyFor is Apply with the operator's reason recorded on the attempt.
func (s *Actions) ApplyFor(ctx context.Context, id int64, operator, reason string) (ApplyResult, error) {
	if err := requireOperator(operator); err != nil {
		return ApplyResult{}, fmt.Errorf("apply action %d: %w", id, err)
	}
	return s.apply(ctx, id, operator, reason, false)
}

func (s *Actions) apply(ctx context.Context, id int64, actor, reason string, auto bool) (ApplyResult, error) {
	a, err := s.store.GetAction(ctx, id)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply action %d: %w", id, err)
	}
	switch {
	case a.State == payrecon.ActionSucceeded || (a.State == payrecon.ActionApplied && !a.Kind.MovesMoney()):
		return ApplyResult{Action: a, AlreadyApplied: true, Message: fmt.Sprintf("action %d was already applied: %s", id, a.Result)}, nil
	case a.State == payrecon.ActionApplied:
		// Sent, the provider's answer not final yet: applying again follows it.
		res, err := s.syncOne(ctx, a, actor)
		res.AlreadyApplied = true
		res.Message = fmt.Sprintf("action %d was already applied; nothing sent again: %s", id, firstNonEmpty(res.Message, res.Action.Result))
		return res, err
	}
	if !Applicable(a.Kind) {
		return ApplyResult{Action: a}, fmt.Errorf("apply action %d: %s cannot be applied, only approved or dismissed: %w", id, a.Kind, payrecon.ErrInvalidState)
	}
	from := applyFrom(a)
	step := "applied"
	if auto {
		from = []payrecon.ActionState{payrecon.ActionProposed}
		step = "auto_applied"
	}
	if !slices.Contains(from, a.State) {
		need := stateList(from)
		if a.Kind.MovesMoney() && !auto {
			need = "approved (it moves money)"
		}
		return ApplyResult{Action: a}, fmt.Errorf("apply action %d: action is %s, apply needs %s: %w", id, a.State, need, payrecon.ErrInvalidState)
	}
	prov, ok := s.providers[a.Account]
	if !ok || prov == nil {
		return s.fail(ctx, a, actor, 0, fmt.Errorf("no provider configured for account %q", a.Account))
	}
	n, err := s.beginAttempt(ctx, &a, prov, actor, reason)
	if err != nil {
		return ApplyResult{Action: a}, fmt.Errorf("apply action %d: %w", id, err)
	}
	out, err := s.carryOut(ctx, &a, prov, actor)
	if err != nil {
		return s.fail(ctx, a, actor, n, err)
	}
	to := payrecon.ActionApplied
	if a.Kind.MovesMoney() && out.final {
		to, step = payrecon.ActionSucceeded, "succeeded"
	}
	done, err := s.store.ChangeAction(ctx, id, payrecon.ActionChange{
		From: []payrecon.ActionState{a.State}, To: to,
		Actor: actor, Step: step, Detail: fmt.Sprintf("attempt %d: %s", n, out.msg), Result: out.msg,
	})
	if errors.Is(err, payrecon.ErrInvalidState) {
		// Another operator changed it meanwhile; our provider call was
		// idempotent, so if they applied it there is nothing more to do.
		cur, gerr := s.store.GetAction(ctx, id)
		if gerr == nil && (cur.State == payrecon.ActionApplied || cur.State == payrecon.ActionSucceeded) {
			return ApplyResult{Action: cur, AlreadyApplied: true, Message: fmt.Sprintf("action %d was applied meanwhile: %s", id, cur.Result)}, nil
		}
	}
	if err != nil {
		return ApplyResult{Action: a}, fmt.Errorf("apply action %d: record result: %w", id, err)
	}
	s.log.InfoContext(ctx, "action applied", "id", id, "kind", a.Kind, "account", a.Account, "actor", actor, "attempt", n, "state", to, "result", out.msg)
	return ApplyResult{Action: done, Message: out.msg}, nil
}

// fail records a failed apply attempt (state failed, the error in the
// audit trail and the result) and returns the error.
func (s *Actions) fail(ctx context.Context, a payrecon.Action, actor string, attempt int, cause error) (ApplyResult, error) {
	detail := cause.Error()
	if attempt > 0 {
		detail = fmt.Sprintf("attempt %d: %s", attempt, detail)
	}
	failed, err := s.store.ChangeAction(ctx, a.ID, payrecon.ActionChange{
		From: []payrecon.ActionState{a.State}, To: payrecon.ActionFailed,
		Actor: actor, Step: "failed", Detail: detail, Result: "failed: " + cause.Error(),
	})
	if err != nil {
		return ApplyResult{Action: a}, fmt.Errorf("apply action %d: %w (recording the failure: %v)", a.ID, cause, err)
	}
	s.log.WarnContext(ctx, "action failed", "id", a.ID, "kind", a.Kind, "account", a.Account, "actor", actor, "err", detail)
	return ApplyResult{Action: failed}, fmt.Errorf("apply action %d: %w", a.ID, cause)
}

// outcome is what carrying out an action did: a short description, and
// whether the result is final (always, for ledger-only kinds; for a
// provider call, when the provider's answer is).
type outcome struct {
	msg   string
	final bool
	// failed: final, and the provider reports the outcome failed (sync only).
	failed bool
}

func done(msg string, err error) (outcome, error) { return outcome{msg: msg, final: true}, err }

// carryOut does the action's work against the provider and the ledger.
func (s *Actions) carryOut(ctx context.Context, a *payrecon.Action, prov payrecon.Provider, actor string) (outcome, error) {
	switch a.Kind {
	case payrecon.ActionBackfillLedger:
		return done(s.backfill(ctx, *a, prov))
	case payrecon.ActionCorrectStatus:
		return done(s.correctStatus(ctx, *a, prov, actor))
	case payrecon.ActionReverseLedger:
		return done(s.reverse(ctx, *a, prov, actor))
	case payrecon.ActionCorrectAgreement:
		return done(s.correctAgreement(ctx, *a, prov, actor))
	case payrecon.ActionRefundDuplicate:
		return s.refundDuplicate(ctx, a, prov)
	case payrecon.ActionUnsign:
		return done(s.unsign(ctx, a, prov))
	case payrecon.ActionCloseOrder:
		return s.closeOrder(ctx, a, prov, actor)
	}
	return outcome{}, fmt.Errorf("%s cannot be applied: %w", a.Kind, payrecon.ErrInvalidState)
}

func (s *Actions) queryOrder(ctx context.Context, prov payrecon.Provider, it payrecon.Item) (payrecon.Order, error) {
	q, ok := prov.(payrecon.OrderQuerier)
	if !ok {
		return payrecon.Order{}, fmt.Errorf("%s cannot query orders: %w", prov.ProviderName(), payrecon.ErrNotSupported)
	}
	o, err := q.QueryOrder(ctx, payrecon.OrderRef{MerchantOrderNo: it.MerchantOrderNo, ProviderTxnNo: it.ProviderTxnNo})
	if err != nil {
		return o, fmt.Errorf("query order %s/%s: %w", it.MerchantOrderNo, it.ProviderTxnNo, err)
	}
	return o, nil
}

// orderAnswer is the provider's answer about it's order; an order the
// provider does not know is StatusNotFound.
func (s *Actions) orderAnswer(ctx context.Context, prov payrecon.Provider, it payrecon.Item) (payrecon.Order, error) {
	o, err := s.queryOrder(ctx, prov, it)
	if errors.Is(err, payrecon.ErrNotFound) {
		return payrecon.Order{Status: payrecon.StatusNotFound}, nil
	}
	return o, err
}

func (s *Actions) queryRefund(ctx context.Context, prov payrecon.Provider, it payrecon.Item) (payrecon.Refund, error) {
	q, ok := prov.(payrecon.RefundQuerier)
	if !ok {
		return payrecon.Refund{}, fmt.Errorf("%s cannot query refunds: %w", prov.ProviderName(), payrecon.ErrNotSupported)
	}
	r, err := q.QueryRefund(ctx, payrecon.RefundRef{
		MerchantRefundNo: it.MerchantRefundNo, ProviderRefundNo: it.ProviderRefundNo,
		MerchantOrderNo: it.MerchantOrderNo, ProviderTxnNo: it.ProviderTxnNo,
	})
	if err != nil {
		return r, fmt.Errorf("query refund %s/%s: %w", it.MerchantRefundNo, it.ProviderRefundNo, err)
	}
	return r, nil
}

func (s *Actions) queryAgreement(ctx context.Context, prov payrecon.Provider, it payrecon.Item) (payrecon.Agreement, error) {
	q, ok := prov.(payrecon.AgreementQuerier)
	if !ok {
		return payrecon.Agreement{}, fmt.Errorf("%s cannot query agreements: %w", prov.ProviderName(), payrecon.ErrNotSupported)
	}
	ref := payrecon.AgreementRef{AgreementNo: it.AgreementNo}
	if it.LedgerEntryID != 0 {
		// Some providers (WeChat papay) query by plan and merchant code:
		// take them from the ledger's agreement entry.
		if le, err := s.reader.LedgerEntry(ctx, it.LedgerEntryID); err == nil && le.Kind == payrecon.KindAgreement {
			ref.MerchantAgreeNo, ref.PlanID = le.MerchantAgreeNo, le.PlanID
			ref.AgreementNo = firstNonEmpty(ref.AgreementNo, le.AgreementNo)
		}
	}
	ag, err := q.QueryAgreement(ctx, ref)
	if err != nil {
		return ag, fmt.Errorf("query agreement %s: %w", it.AgreementNo, err)
	}
	return ag, nil
}

// backfill adds the provider-confirmed payment or refund to the ledger.
// AddLedgerEntry is idempotent on the event key, so a second backfill adds
// nothing.
func (s *Actions) backfill(ctx context.Context, a payrecon.Action, prov payrecon.Provider) (string, error) {
	it := a.Item
	e := payrecon.LedgerEntry{
		Account: a.Account, Provider: prov.ProviderName(), Source: "repair", ReceivedAt: s.now().UTC(),
		Status: payrecon.StatusSuccess,
	}
	switch it.Kind {
	case payrecon.KindPayment:
		o, err := s.queryOrder(ctx, prov, it)
		if err != nil {
			return "", err
		}
		if o.Status != payrecon.StatusSuccess {
			return "", fmt.Errorf("provider no longer confirms payment %s: status %s (%s)", firstNonEmpty(o.ProviderTxnNo, it.ProviderTxnNo), o.Status, o.RawStatus)
		}
		e.Kind = payrecon.KindPayment
		e.MerchantOrderNo = firstNonEmpty(o.MerchantOrderNo, it.MerchantOrderNo)
		e.ProviderTxnNo = firstNonEmpty(o.ProviderTxnNo, it.ProviderTxnNo)
		e.Amount, e.PayerAmount, e.PromotionAmount, e.Currency = o.Amount, o.PayerAmount, o.PromotionAmount, o.Currency
		e.OccurredAt = firstTime(o.PaidAt, it.BillTime)
		if e.ProviderTxnNo == "" {
			return "", errors.New("provider returned no transaction number: cannot derive the ledger event key")
		}
		e.EventKey = payrecon.EventKey(payrecon.KindPayment, e.ProviderTxnNo, payrecon.StatusSuccess)
	case payrecon.KindRefund:
		r, err := s.queryRefund(ctx, prov, it)
		if err != nil {
			return "", err
		}
		if r.Status != payrecon.StatusSuccess {
			return "", fmt.Errorf("provider no longer confirms refund %s: status %s (%s)", firstNonEmpty(r.ProviderRefundNo, it.ProviderRefundNo), r.Status, r.RawStatus)
		}
		e.Kind = payrecon.KindRefund
		e.MerchantRefundNo = firstNonEmpty(r.MerchantRefundNo, it.MerchantRefundNo)
		e.ProviderRefundNo = firstNonEmpty(r.ProviderRefundNo, it.ProviderRefundNo)
		e.MerchantOrderNo = firstNonEmpty(r.MerchantOrderNo, it.MerchantOrderNo)
		e.ProviderTxnNo = firstNonEmpty(r.ProviderTxnNo, it.ProviderTxnNo)
		e.Amount, e.PayerAmount = r.Amount, r.PayerAmount
		e.OccurredAt = firstTime(r.FinishedAt, it.BillTime)
		if e.ProviderRefundNo == "" {
			return "", errors.New("provider returned no refund number: cannot derive the ledger event key")
		}
		e.EventKey = payrecon.EventKey(payrecon.KindRefund, e.ProviderRefundNo, payrecon.StatusSuccess)
	default:
		return "", fmt.Errorf("backfill of a %s item is not supported", it.Kind)
	}
	if e.Currency == "" {
		e.Currency = "CNY"
	}
	if e.OccurredAt.IsZero() {
		return "", fmt.Errorf("no time known for %s: cannot place it on a bill day", e.EventKey)
	}
	dup, err := s.ledger.AddLedgerEntry(ctx, e)
	if err != nil {
		return "", fmt.Errorf("add ledger entry %s: %w", e.EventKey, err)
	}
	if dup {
		return fmt.Sprintf("ledger already had %s (%s); nothing added", e.EventKey, payrecon.FormatYuan(e.Amount)), nil
	}
	return fmt.Sprintf("added ledger entry %s (%s), confirmed by the provider", e.EventKey, payrecon.FormatYuan(e.Amount)), nil
}

// ledgerEntry reads the ledger entry the action's item refers to.
func (s *Actions) ledgerEntry(ctx context.Context, a payrecon.Action) (payrecon.LedgerEntry, error) {
	if a.Item.LedgerEntryID == 0 {
		return payrecon.LedgerEntry{}, fmt.Errorf("%s needs the ledger entry, and the discrepancy names none", a.Kind)
	}
	e, err := s.reader.LedgerEntry(ctx, a.Item.LedgerEntryID)
	if err != nil {
		return e, fmt.Errorf("read ledger entry %d: %w", a.Item.LedgerEntryID, err)
	}
	if e.Account != a.Account {
		return e, fmt.Errorf("ledger entry %d belongs to account %q, not %q", e.ID, e.Account, a.Account)
	}
	return e, nil
}

// providerStatus re-queries the provider for the item's payment or refund.
// A provider that knows no such order answers StatusNotFound.
func (s *Actions) providerStatus(ctx context.Context, prov payrecon.Provider, it payrecon.Item) (payrecon.Status, string, error) {
	var st payrecon.Status
	var raw string
	var err error
	switch it.Kind {
	case payrecon.KindPayment:
		var o payrecon.Order
		o, err = s.orderAnswer(ctx, prov, it)
		st, raw = o.Status, o.RawStatus
	case payrecon.KindRefund:
		var r payrecon.Refund
		r, err = s.queryRefund(ctx, prov, it)
		st, raw = r.Status, r.RawStatus
	default:
		return "", "", fmt.Errorf("status of a %s item cannot be queried", it.Kind)
	}
	if errors.Is(err, payrecon.ErrNotFound) {
		return payrecon.StatusNotFound, "", nil
	}
	return st, raw, err
}

// correctStatus sets the ledger entry's status to the provider's.
func (s *Actions) correctStatus(ctx context.Context, a payrecon.Action, prov payrecon.Provider, actor string) (string, error) {
	e, err := s.ledgerEntry(ctx, a)
	if err != nil {
		return "", err
	}
	st, raw, err := s.providerStatus(ctx, prov, a.Item)
	if err != nil {
		return "", err
	}
	if st == "" || st == payrecon.StatusNotFound || st == payrecon.StatusPending {
		return "", fmt.Errorf("provider gives no final status to correct to (status %q %s)", st, raw)
	}
	if e.Status == st {
		return fmt.Sprintf("ledger entry %d already has status %s; nothing changed", e.ID, st), nil
	}
	reason := fmt.Sprintf("action %d correct_status: provider says %s", a.ID, statusText(st, raw))
	if err := s.ledger.SetLedgerStatus(ctx, e.ID, st, actor, reason); err != nil {
		return "", fmt.Errorf("set ledger entry %d status: %w", e.ID, err)
	}
	return fmt.Sprintf("ledger entry %d status %s → %s (provider: %s)", e.ID, e.Status, st, statusText(st, raw)), nil
}

// reverse closes a ledger success the provider denies.
func (s *Actions) reverse(ctx context.Context, a payrecon.Action, prov payrecon.Provider, actor string) (string, error) {
	e, err := s.ledgerEntry(ctx, a)
	if err != nil {
		return "", err
	}
	st, raw, err := s.providerStatus(ctx, prov, a.Item)
	if err != nil {
		return "", err
	}
	if st.Paid() || st == payrecon.StatusPending || st == "" {
		return "", fmt.Errorf("provider now reports %s: not reversing ledger entry %d", statusText(st, raw), e.ID)
	}
	if e.Status == payrecon.StatusClosed {
		return fmt.Sprintf("ledger entry %d is already closed; nothing changed", e.ID), nil
	}
	reason := fmt.Sprintf("action %d reverse_ledger: provider says %s", a.ID, statusText(st, raw))
	if err := s.ledger.SetLedgerStatus(ctx, e.ID, payrecon.StatusClosed, actor, reason); err != nil {
		return "", fmt.Errorf("set ledger entry %d status: %w", e.ID, err)
	}
	return fmt.Sprintf("ledger entry %d reversed: %s → closed (provider: %s)", e.ID, e.Status, statusText(st, raw)), nil
}

// correctAgreement sets the ledger's agreement entry to the provider's
// state, or adds the agreement when the ledger has no entry for it.
func (s *Actions) correctAgreement(ctx context.Context, a payrecon.Action, prov payrecon.Provider, actor string) (string, error) {
	ag, err := s.queryAgreement(ctx, prov, a.Item)
	if errors.Is(err, payrecon.ErrNotFound) {
		// The provider knows no such agreement: as the run compares it, unsigned.
		ag, err = payrecon.Agreement{AgreementNo: a.Item.AgreementNo, Status: payrecon.StatusUnsigned, RawStatus: "not found"}, nil
	}
	if err != nil {
		return "", err
	}
	if ag.Status != payrecon.StatusSigned && ag.Status != payrecon.StatusUnsigned {
		return "", fmt.Errorf("provider gives agreement %s no final state (%q %s)", a.Item.AgreementNo, ag.Status, ag.RawStatus)
	}
	if a.Item.LedgerEntryID == 0 {
		e := payrecon.LedgerEntry{
			Account: a.Account, Provider: prov.ProviderName(), Kind: payrecon.KindAgreement, Status: ag.Status,
			AgreementNo: firstNonEmpty(ag.AgreementNo, a.Item.AgreementNo), MerchantAgreeNo: ag.MerchantAgreeNo, PlanID: ag.PlanID,
			OccurredAt: firstTime(ag.TerminatedAt, ag.SignedAt), ReceivedAt: s.now().UTC(), Source: "repair",
		}
		if ag.Status == payrecon.StatusSigned {
			e.OccurredAt = firstTime(ag.SignedAt, a.Item.BillTime)
		}
		if e.OccurredAt.IsZero() {
			e.OccurredAt = a.Day.Start()
		}
		e.EventKey = payrecon.EventKey(payrecon.KindAgreement, e.AgreementNo, ag.Status)
		dup, err := s.ledger.AddLedgerEntry(ctx, e)
		if err != nil {
			return "", fmt.Errorf("add ledger entry %s: %w", e.EventKey, err)
		}
		if dup {
			return fmt.Sprintf("ledger already had %s; nothing added", e.EventKey), nil
		}
		return fmt.Sprintf("added ledger entry %s, confirmed by the provider", e.EventKey), nil
	}
	e, err := s.ledgerEntry(ctx, a)
	if err != nil {
		return "", err
	}
	if e.Status == ag.Status {
		return fmt.Sprintf("ledger agreement entry %d already %s; nothing changed", e.ID, ag.Status), nil
	}
	reason := fmt.Sprintf("action %d correct_agreement: provider says %s", a.ID, statusText(ag.Status, ag.RawStatus))
	if err := s.ledger.SetLedgerStatus(ctx, e.ID, ag.Status, actor, reason); err != nil {
		return "", fmt.Errorf("set ledger entry %d status: %w", e.ID, err)
	}
	return fmt.Sprintf("ledger agreement entry %d %s → %s (provider: %s)", e.ID, e.Status, ag.Status, statusText(ag.Status, ag.RawStatus)), nil
}

// RefundNoPrefix starts every refund number payrecon derives.
const RefundNoPrefix = "RD"

// RefundNo is the deterministic refund number of a refund_duplicate action
// for a provider whose merchant refund numbers are at most maxLen long: the
// same discrepancy always refunds under one number.
func RefundNo(maxLen int, discrepancyKey string) string {
	return RefundNoGen(maxLen, discrepancyKey, 1)
}

// RefundNoGen is the refund number of the gen-th refund of a discrepancy:
// a new one is derived only after the provider reported the previous one
// failed (a failed refund number cannot be used again).
func RefundNoGen(maxLen int, discrepancyKey string, gen int) string {
	if maxLen <= 0 {
		maxLen = 32
	}
	prefix := RefundNoPrefix
	if gen > 1 {
		prefix += strconv.Itoa(gen) + "X"
	}
	return payrecon.DeterministicRefundNo(prefix, discrepancyKey, maxLen)
}

// refundDuplicate refunds the extra payment under the action's refund
// number (recorded on the action by beginAttempt before the provider is
// called). A pending answer is not final: Sync follows it.
func (s *Actions) refundDuplicate(ctx context.Context, a *payrecon.Action, prov payrecon.Provider) (outcome, error) {
	rf, ok := prov.(payrecon.Refunder)
	if !ok {
		return outcome{}, fmt.Errorf("%s cannot refund: %w", prov.ProviderName(), payrecon.ErrNotSupported)
	}
	it := a.Item
	if it.ProviderTxnNo == "" && it.MerchantOrderNo == "" {
		return outcome{}, errors.New("the duplicate payment names no transaction to refund")
	}
	if a.IdempotencyKey == "" {
		return outcome{}, errors.New("no refund number recorded before the refund")
	}
	amount, err := s.refundAmount(ctx, prov, it)
	if err != nil {
		return outcome{}, err
	}
	refundNo := a.IdempotencyKey
	r, err := rf.ApplyRefund(ctx, payrecon.RefundRequest{
		OrderRef:         payrecon.OrderRef{MerchantOrderNo: it.MerchantOrderNo, ProviderTxnNo: it.ProviderTxnNo},
		MerchantRefundNo: refundNo, Amount: amount,
		Reason: fmt.Sprintf("duplicate payment (payrecon action %d)", a.ID),
	})
	if err != nil {
		return outcome{}, fmt.Errorf("refund %s under %s: %w", it.ProviderTxnNo, refundNo, err)
	}
	if r.Status == payrecon.StatusFailed || r.Status == payrecon.StatusClosed {
		return outcome{}, fmt.Errorf("provider refused refund %s: %s", refundNo, statusText(r.Status, r.RawStatus))
	}
	verb := "requested"
	if r.Status == payrecon.StatusSuccess {
		verb = "done"
	}
	return outcome{final: r.Status == payrecon.StatusSuccess,
		msg: fmt.Sprintf("refund %s of %s for %s %s: %s (provider refund no %s)",
			refundNo, payrecon.FormatYuan(amount), it.ProviderTxnNo, verb, statusText(r.Status, r.RawStatus), r.ProviderRefundNo)}, nil
}

func (s *Actions) refundAmount(ctx context.Context, prov payrecon.Provider, it payrecon.Item) (int64, error) {
	amount := it.BillAmount
	if amount <= 0 {
		o, err := s.queryOrder(ctx, prov, it)
		if err != nil {
			return 0, err
		}
		amount = o.Amount
	}
	if amount <= 0 {
		return 0, fmt.Errorf("no positive amount known for duplicate payment %s", it.ProviderTxnNo)
	}
	return amount, nil
}

// unsign terminates the agreement at the provider.
func (s *Actions) unsign(ctx context.Context, a *payrecon.Action, prov payrecon.Provider) (string, error) {
	u, ok := prov.(payrecon.Unsigner)
	if !ok {
		return "", fmt.Errorf("%s cannot unsign: %w", prov.ProviderName(), payrecon.ErrNotSupported)
	}
	if a.Item.AgreementNo == "" {
		return "", errors.New("the discrepancy names no agreement to unsign")
	}
	reason := a.Reason
	if reason == "" {
		reason = fmt.Sprintf("payrecon action %d", a.ID)
	}
	if err := u.Unsign(ctx, payrecon.AgreementRef{AgreementNo: a.Item.AgreementNo}, reason); err != nil {
		return "", fmt.Errorf("unsign agreement %s: %w", a.Item.AgreementNo, err)
	}
	return "agreement " + a.Item.AgreementNo + " terminated at the provider", nil
}

// AutoApplyResult counts what AutoApply did.
type AutoApplyResult struct {
	Applied int
	Failed  int
}

// AutoApply applies the account's proposed actions of day whose kinds the
// configuration lists, as actor "auto" (audit step "auto_applied"). One
// action's failure is recorded on it and the others go on; the errors are
// joined. With no kinds configured it does nothing.
func (s *Actions) AutoApply(ctx context.Context, account string, day payrecon.Day) (AutoApplyResult, error) {
	var res AutoApplyResult
	if len(s.auto) == 0 {
		return res, nil
	}
	list, err := s.store.ListActions(ctx, payrecon.ActionFilter{
		Account: account, From: day, To: day,
		States: []payrecon.ActionState{payrecon.ActionProposed}, Kinds: s.auto,
	})
	if err != nil {
		return res, fmt.Errorf("auto-apply %s %s: %w", account, day, err)
	}
	var errs []error
	for _, a := range list {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if a.Kind.MovesMoney() || !slices.Contains(s.auto, a.Kind) {
			continue // the store's filter should have excluded it; never auto-apply money movement
		}
		if _, err := s.apply(ctx, a.ID, ActorAuto, "", true); err != nil {
			res.Failed++
			errs = append(errs, err)
			continue
		}
		res.Applied++
	}
	if len(errs) > 0 || res.Applied > 0 {
		s.log.InfoContext(ctx, "auto-apply finished", "account", account, "day", day, "applied", res.Applied, "failed", res.Failed)
	}
	return res, errors.Join(errs...)
}

func statusText(st payrecon.Status, raw string) string {
	if raw == "" || raw == string(st) {
		return string(st)
	}
	return fmt.Sprintf("%s (%s)", st, raw)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// AfterSave auto-applies the saved run's safe actions; it fits
// Options.AfterSave so a run can call it right after SaveRun.
// It then follows the account's applied money-moving actions to their
// provider outcome (Sync).
func (s *Actions) AfterSave(ctx context.Context, run payrecon.Run) error {
	_, err := s.AutoApply(ctx, run.Account, run.Day)
	_, serr := s.Sync(ctx, payrecon.ActionFilter{Account: run.Account}, ActorSync)
	return errors.Join(err, serr)
}
