package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
)

// runQueries asks the provider every collected query, QueryConcurrency at a
// time. Transient errors are retried with backoff; ErrNotFound is an
// answer (StatusNotFound); any other failure fails the run: a run does not
// guess.
func (e *engine) runQueries(ctx context.Context) error {
	if len(e.queries) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *query)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for w := 0; w < e.r.opts.QueryConcurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := range work {
				if err := e.ask(ctx, q); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i, q := range e.queries {
		if ctx.Err() != nil {
			break
		}
		select {
		case work <- q:
		case <-ctx.Done():
		}
		e.queriesDone = int64(i + 1)
		if i&0xff == 0 {
			e.progress("query")
		}
	}
	close(work)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

func (e *engine) ask(ctx context.Context, q *query) error {
	p := e.t.Provider
	var call func() (payrecon.Status, string, error)
	var what string
	switch q.kind {
	case payrecon.KindPayment:
		oq, ok := p.(payrecon.OrderQuerier)
		if !ok {
			return nil
		}
		what = fmt.Sprintf("order %s/%s", q.order.MerchantOrderNo, q.order.ProviderTxnNo)
		call = func() (payrecon.Status, string, error) {
			o, err := oq.QueryOrder(ctx, q.order)
			return o.Status, o.RawStatus, err
		}
	case payrecon.KindRefund:
		rq, ok := p.(payrecon.RefundQuerier)
		if !ok {
			return nil
		}
		what = fmt.Sprintf("refund %s/%s", q.refund.MerchantRefundNo, q.refund.ProviderRefundNo)
		call = func() (payrecon.Status, string, error) {
			r, err := rq.QueryRefund(ctx, q.refund)
			return r.Status, r.RawStatus, err
		}
	case payrecon.KindAgreement:
		aq, ok := p.(payrecon.AgreementQuerier)
		if !ok {
			return nil
		}
		what = fmt.Sprintf("agreement %s/%s", q.agreement.AgreementNo, q.agreement.MerchantAgreeNo)
		call = func() (payrecon.Status, string, error) {
			a, err := aq.QueryAgreement(ctx, q.agreement)
			return a.Status, a.RawStatus, err
		}
	default:
		return nil
	}
	q.ans.Supported = true
	backoff := e.r.opts.QueryBackoff
	var err error
	for attempt := 1; ; attempt++ {
		var st payrecon.Status
		var raw string
		st, raw, err = call()
		switch {
		case err == nil:
			q.ans.Status, q.ans.Raw = st, raw
			return nil
		case errors.Is(err, payrecon.ErrNotFound):
			q.ans.Status, q.ans.Raw = payrecon.StatusNotFound, "not found"
			return nil
		case errors.Is(err, payrecon.ErrNotSupported):
			q.ans.Supported = false
			return nil
		case !errors.Is(err, payrecon.ErrTransient) || attempt >= e.r.opts.QueryAttempts:
			return fmt.Errorf("query %s (attempt %d): %w", what, attempt, err)
		}
		e.log.Debug("transient query error, retrying", "query", what, "attempt", attempt, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("query %s: %w", what, ctx.Err())
		case <-t.C:
		}
		backoff *= 2
	}
}
